"""Where Newsis lists its articles: feeds, section list pages, the article ids their links name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from crawler.publishers import links
from crawler.publishers.newsis.urls import CANONICAL_ORIGIN, article_id_from_url

# STRUCTURE.md § Lists, feeds, sitemaps: https://www.newsis.com/RSS/{slug}.xml
FEED_SLUGS = (
    "sokbo", "politics", "international", "economy", "bank", "industry", "society", "health",
    "met", "country", "sports", "culture", "entertain", "square", "photo", "newsiseyes",
)
FEED_PATH = "/RSS/{slug}.xml"
# STRUCTURE.md § Sections: list pages /{path}/list/?cid={cid}&page={n}, 20 items a page.
LIST_SECTIONS = (
    ("politic", "10300"), ("world", "10100"), ("economy", "10400"), ("money", "15000"),
    ("business", "13000"), ("health", "13100"), ("society", "10200"), ("metro", "14000"),
    ("region", "10800"), ("culture", "10700"), ("sports", "10500"), ("entertainment", "10600"),
)
# Every list a backfill pages through, as path templates ({page} 1-based): the sections, then
# /realnews/ (all news, newest first).
LIST_TEMPLATES = (
    *(f"/{path}/list/?cid={cid}&page={{page}}" for path, cid in LIST_SECTIONS),
    "/realnews/?page={page}",
)
# Article links of a list page: the titled ones, else (older layout) every link of an item.
LIST_LINK_SELECTORS = ("ul.articleList2 li p.tit a::attr(href)", "ul.articleList2 li a::attr(href)")
# Backfill never pages further back than this on one list, whatever --since says.
MAX_LIST_PAGES = 2000


def feed_path(slug: str) -> str:
    return FEED_PATH.format(slug=slug)


def article_id_of_link(link: str | None) -> str | None:
    """The article id a feed, list or sitemap link names, or None for anything that is not a
    Newsis article (crawler/publishers/links.py)."""
    return links.article_id_of_link(link, CANONICAL_ORIGIN, article_id_from_url)


def registration_date(article_id: str) -> date:
    """The KST registration date in the id (NISX20241115_… → 2024-11-15)."""
    digits = article_id[4:12]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def list_reaches_back(ids: Iterable[str], oldest: date) -> bool:
    """Whether a list page's articles all date from `oldest` on, so the next page is wanted."""
    ids = list(ids)
    # Photo items (NISI) carry the photo's date, which can be older than the list around it.
    dated = [i for i in ids if i.startswith("NISX")] or ids
    return bool(dated) and min(map(registration_date, dated)) >= oldest


# STRUCTURE.md § Lists, feeds, sitemaps: robots.txt names /sitemap.xml (an index of child
# sitemaps) and the Google News sitemap /newsis_news_google.xml; a crawl reads what it names.
ROBOTS_PATH = "/robots.txt"
# Child sitemaps of an index read per run: those whose <lastmod> is after the last finished
# crawl's start, and always the newest few (a first run: the newest, up to the cap). The newest
# by <lastmod> come first, so a month with a late edit is read before quiet ones.
NEWEST_CHILD_SITEMAPS = 2
MAX_CHILD_SITEMAPS = 6

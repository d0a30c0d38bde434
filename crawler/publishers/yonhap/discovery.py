"""Where Yonhap lists its articles: feeds, list pages, sitemaps, the ids their links name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from crawler.publishers import links
from crawler.publishers.yonhap.urls import CANONICAL_ORIGIN, article_id_from_url

# STRUCTURE.md § RSS: https://www.yna.co.kr/rss/{slug}.xml, 15 feeds.
FEED_SLUGS = (
    "news", "politics", "northkorea", "economy", "market", "industry", "society", "local",
    "international", "culture", "health", "entertainment", "sports", "opinion", "people",
)
FEED_PATH = "/rss/{slug}.xml"
# STRUCTURE.md § List pages: the latest news /news/{n} holds every section's articles, newest
# first; a backfill pages through it alone (section lists /{section}/all/{n} repeat it).
LIST_TEMPLATES = ("/news/{page}",)
# Article links of a list page: the 2025 markup (`section.box-type011 ul.list01 > li[data-cid]`,
# ads in `li.aside-bnr07` have no data-cid), else the 2019–2023 one (`div.list-type038`).
LIST_LINK_SELECTORS = (
    "section.box-type011 ul.list01 > li[data-cid] a.tit-news::attr(href)",
    "div.list-type038 ul.list li div.item-box01 a.tit-news::attr(href)",
)
# Depth unknown (one public crawler stops at 20): a backfill never pages further than this.
MAX_LIST_PAGES = 2000
# robots.txt names the sitemaps (the index /sitemap.xml, the news sitemap /news-sitemap.xml).
ROBOTS_PATH = "/robots.txt"
# The index holds a handful of children (news-sitemap3…6, photo-sitemap): all can be read.
NEWEST_CHILD_SITEMAPS = 2
MAX_CHILD_SITEMAPS = 6


def article_id_of_link(link: str | None) -> str | None:
    """The article id a feed, list or sitemap link names, or None for anything that is not a
    Yonhap article (crawler/publishers/links.py)."""
    return links.article_id_of_link(link, CANONICAL_ORIGIN, article_id_from_url)


def registration_date(article_id: str) -> date:
    """The KST send date in the CID (AKR20260716091200003 → 2026-07-16)."""
    digits = article_id[3:11]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def list_reaches_back(ids: Iterable[str], oldest: date) -> bool:
    """Whether a list page's articles all date from `oldest` on, so the next page is wanted."""
    ids = list(ids)
    return bool(ids) and min(map(registration_date, ids)) >= oldest

"""The local site's answers for lists, feeds, robots.txt and sitemaps (article pages aside)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from crawler.localsite import feeds
from crawler.localsite.model import ALL_SECTIONS, SECTION_BY_CID

FEED_SIZE = 50
# How far back the Google News sitemap reaches (Google's rule for news sitemaps: two days).
NEWS_SITEMAP_DAYS = 2
HTML = "text/html; charset=UTF-8"
XML = "application/xml; charset=UTF-8"
_LIST_RE = re.compile(r"^/([a-z]+)/list/?$")
_MONTH_SITEMAP_RE = re.compile(r"^/sitemap/sitemap-(\d{4}-\d\d)\.xml$")
_SECTION_PATHS = {s.path.strip("/") for s in ALL_SECTIONS} | {
    s.old_path.strip("/") for s in ALL_SECTIONS if s.old_path
}

# The 16 RSS feeds (STRUCTURE.md § Lists, feeds, sitemaps): slug -> (title, which articles).
FEEDS: dict[str, tuple[str, Any]] = {
    "sokbo": ("속보", lambda a: a.headline.startswith("[속보]")),
    "politics": ("정치", lambda a: a.section.cid == "10300"),
    "international": ("국제", lambda a: a.section.cid == "10100"),
    "economy": ("경제", lambda a: a.section.cid == "10400"),
    "bank": ("금융", lambda a: a.section.cid == "15000"),
    "industry": ("산업", lambda a: a.section.cid == "13000"),
    "society": ("사회", lambda a: a.section.cid == "10200"),
    "health": ("IT·바이오", lambda a: a.section.cid == "13100"),
    "met": ("수도권", lambda a: a.section.cid == "14000"),
    "country": ("지방", lambda a: a.section.cid == "10800"),
    "sports": ("스포츠", lambda a: a.section.cid == "10500"),
    "culture": ("문화", lambda a: a.section.cid == "10700"),
    "entertain": ("연예", lambda a: a.section.cid == "10600"),
    "square": ("광장", lambda a: not a.is_photo_item),
    "photo": ("포토", lambda a: a.is_photo_item),
    "newsiseyes": ("뉴시스아이즈", lambda a: len(a.photos) >= 2 or a.is_photo_item),
}

Answer = tuple[int, dict[str, str], bytes]


def page_no(query: dict[str, list[str]]) -> int:
    try:
        return max(1, int((query.get("page") or ["1"])[0]))
    except ValueError:
        return 1


def _sitemap_answer(site: Any, path: str) -> Answer | None:
    if path == "/sitemap.xml":
        body = site.cached(("sitemap",), lambda: feeds.render_sitemap_index(site.live_articles()))
        return 200, {"Content-Type": XML}, body
    month = _MONTH_SITEMAP_RE.match(path)
    if month:
        wanted = month.group(1)
        articles = [a for a in site.live_articles() if feeds.sitemap_month(a) == wanted]
        if not articles:
            return None
        body = site.cached(("sitemap", wanted), lambda: feeds.render_sitemap(articles))
        return 200, {"Content-Type": XML}, body
    if path == "/newsis_news_google.xml":
        since = site.now - timedelta(days=NEWS_SITEMAP_DAYS)
        body = site.cached(
            ("news",),
            lambda: feeds.render_news_sitemap(
                [a for a in site.live_articles() if a.published_at >= since]
            ),
        )
        return 200, {"Content-Type": XML}, body
    return None


def _feed_answer(site: Any, slug: str) -> Answer:
    label, wanted = FEEDS[slug]
    body = site.cached(
        ("rss", slug),
        lambda: feeds.render_rss(
            label, [a for a in site.listed_articles() if wanted(a)][:FEED_SIZE], site.now
        ),
    )
    return 200, {"Content-Type": "application/rss+xml; charset=UTF-8"}, body


def _section_list(site: Any, query: dict[str, list[str]], page: int) -> Answer | None:
    cid = (query.get("cid") or [""])[0]
    section = SECTION_BY_CID.get(cid)
    if section is None:
        return None
    scid = (query.get("scid") or [""])[0]
    prefix = f"cid={cid}&amp;" + (f"scid={scid}&amp;" if scid else "")
    body = site.cached(
        ("list", cid, scid, page),
        lambda: feeds.render_list(
            section.label,
            [a for a in site.listed_articles() if a.section.cid == cid],
            page,
            prefix,
            site.chrome,
        ),
    )
    return 200, {"Content-Type": HTML}, body


def listing_answer(site: Any, path: str, query: dict[str, list[str]]) -> Answer | None:
    """The answer for a list, feed, robots.txt or sitemap path; None for any other path."""
    if path == "/robots.txt":
        robots = feeds.render_robots() if site.robots_txt is None else site.robots_txt
        return 200, {"Content-Type": "text/plain; charset=UTF-8"}, robots
    if path.startswith(("/sitemap", "/newsis_news_google")):
        return _sitemap_answer(site, path)
    feed = re.fullmatch(r"/RSS/([a-z]+)\.xml", path)
    if feed and feed.group(1) in FEEDS:
        return _feed_answer(site, feed.group(1))
    page = page_no(query)
    if path in ("/realnews/", "/realnews", "/"):
        body = site.cached(
            ("realnews", page),
            lambda: feeds.render_list("최신기사", site.listed_articles(), page, "", site.chrome),
        )
        return 200, {"Content-Type": HTML}, body
    listing = _LIST_RE.match(path)
    if listing and listing.group(1) in _SECTION_PATHS:
        return _section_list(site, query, page)
    return None

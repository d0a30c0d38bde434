"""The Yonhap-like site's RSS feeds, list pages, robots.txt and sitemaps (STRUCTURE.md)."""

# The markup mirrors tests/fixtures/yonhap/examples (rss-news.xml, list-news.html).
# ruff: noqa: E501

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import Any

from crawler.localsite import feeds
from crawler.localsite.model import REAL_BASES, SiteArticle
from crawler.localsite.yonhap.articles import SECTIONS
from crawler.localsite.yonhap.chrome import YonhapChrome
from crawler.localsite.yonhap.pages import lead_prefix

REAL_BASE = REAL_BASES["yonhap"]
FEED_SIZE = 50
LIST_PAGE_SIZE = 20
NEWS_SITEMAP_DAYS = 2
HTML = "text/html; charset=UTF-8"
XML = "application/xml; charset=UTF-8"
Answer = tuple[int, dict[str, str], bytes]


def _in(*sections: str) -> Callable[[SiteArticle], bool]:
    return lambda article: article.section.cid in sections


# The 15 feeds /rss/{slug}.xml (STRUCTURE.md § RSS): slug -> (label, which articles).
FEEDS: dict[str, tuple[str, Callable[[SiteArticle], bool]]] = {
    "news": ("최신기사", lambda article: True),
    "politics": ("정치", _in("politics")),
    "northkorea": ("북한", _in("north-korea")),
    "economy": ("경제", _in("economy")),
    "market": ("마켓+", _in("economy")),
    "industry": ("산업", _in("industry")),
    "society": ("사회", _in("society")),
    "local": ("전국", _in("local")),
    "international": ("세계", _in("international")),
    "culture": ("문화", _in("culture")),
    "health": ("건강", _in("lifestyle")),
    "entertainment": ("연예", _in("entertainment")),
    "sports": ("스포츠", _in("sports")),
    "opinion": ("오피니언", _in("opinion")),
    "people": ("사람들", _in("people")),
}
# /sitemap.xml's children (STRUCTURE.md § Sitemaps): four news sitemaps and a photo one. Which
# article goes to which news sitemap is unknown; here its CID's serial picks one, for good.
NEWS_CHILDREN = ("news-sitemap3.xml", "news-sitemap4.xml", "news-sitemap5.xml", "news-sitemap6.xml")
PHOTO_CHILD = "photo-sitemap.xml"
# robots.txt (STRUCTURE.md § Sitemaps and robots.txt, the 2025-07 copy); its Sitemap lines are
# unknown: these name the index and the Google News sitemap, as Newsis' do.
ROBOTS = (
    "User-agent: *\nDisallow: /*?*cp=\nDisallow: /view/AEN*\nDisallow: /view/ACK*\n"
    "Disallow: /view/AJP*\nDisallow: /view/AAR*\nDisallow: /view/ASP*\nDisallow: /view/AFR*\n"
    "Disallow: /hc.html\nDisallow: /search/\nDisallow: /program/\nDisallow: /web/\n\n"
    f"Sitemap: {REAL_BASE}/sitemap.xml\nSitemap: {REAL_BASE}/news-sitemap.xml\n"
).encode()
_LIST_RE = re.compile(r"^/(?:news|([a-z-]+)/all)(?:/(\d+))?/?$")
_SECTION_SLUGS = {section.cid for section in SECTIONS}


def sitemap_child(article: SiteArticle) -> str:
    if article.is_photo_item:
        return PHOTO_CHILD
    return NEWS_CHILDREN[int(article.article_id[11:15]) % len(NEWS_CHILDREN)]


def render_rss(label: str, newest_first: list[SiteArticle], now: datetime) -> bytes:
    """An RSS 2.0 feed (examples/rss-news.xml): the description is the lead, cut short."""
    items = []
    for article in newest_first:
        lead = article.photos[0].caption_line() if article.is_photo_item else lead_prefix(article) + article.body[0]
        image = (f'<media:content url="{article.photos[0].record_url}" medium="image" type="image/jpeg"/>\n'
                 if article.photos else "")
        creator = article.reporters[0].name if article.reporters else "연합뉴스"
        items.append(
            f"<item>\n<title><![CDATA[{article.headline}]]></title>\n<link>{article.url}</link>\n"
            f'<guid isPermaLink="true">{article.url}</guid>\n<description><![CDATA[{lead[:80]}]]></description>\n'
            f"<dc:creator><![CDATA[{creator}]]></dc:creator>\n<pubDate>{format_datetime(article.published_at)}</pubDate>\n"
            f"{image}</item>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>\n'
        f"<title><![CDATA[연합뉴스 {label}]]></title>\n<link>{REAL_BASE}</link>\n"
        f"<description><![CDATA[연합뉴스 {label}]]></description>\n<language>ko</language>\n"
        f"<lastBuildDate>{format_datetime(now)}</lastBuildDate>\n{''.join(items)}</channel>\n</rss>\n"
    ).encode()


def _list_item(article: SiteArticle) -> str:
    link = f"//www.yna.co.kr/view/{article.article_id}?section=news"
    thumb = (f'<figure class="img-con"><a href="{link}"><img src="{article.photos[0].src.replace("_P4.jpg", "_T2.jpg")}" alt=""></a></figure>'
             if article.photos else "")
    lead = f'<p class="lead">{escape(article.body[0][:60])}…</p>' if article.body else ""
    return (
        f'   <li data-cid="{article.article_id}"><div class="item-box01">{thumb}<div class="news-con">'
        f'<a href="{link}" class="tit-news"><span class="title01">{escape(article.headline)}</span></a>{lead}</div>'
        f'<div class="info-box01"><span class="txt-time">{article.published_at:%m-%d %H:%M}</span></div></div></li>\n'
    )


def render_list(title: str, path: str, newest_first: list[SiteArticle], page: int,
                chrome: YonhapChrome) -> bytes:
    """A list page (examples/list-news.html): 20 items, an ad item, paging by blocks of 10."""
    last = max(1, -(-len(newest_first) // LIST_PAGE_SIZE))
    items = [_list_item(a) for a in newest_first[(page - 1) * LIST_PAGE_SIZE: page * LIST_PAGE_SIZE]]
    items.insert(min(2, len(items)), '   <li class="aside-bnr07"><div class="ads-box" id="div-gpt-ad-list-1"></div></li>\n')
    start = (page - 1) // 10 * 10 + 1
    paging = "".join(
        f'<a href="{path}/{n}" class="num{" on" if n == page else ""}">{n}</a>'
        for n in range(start, min(start + 9, last) + 1)
    )
    if start + 10 <= last:
        paging += f'<a href="{path}/{start + 10}" class="next">다음</a>'
    main = (
        f'<main id="container">\n<section class="box-type011 box-major01">\n <h2 class="tit-sec">{escape(title)}</h2>\n'
        f' <ul class="list01">\n{"".join(items)} </ul>\n <div class="paging paging-type01">{paging}</div>\n</section>\n</main>\n'
    )
    return (chrome.top(f"{title} | 연합뉴스", "", "page-list") + main + chrome.tail).encode()


def _sitemap_answer(front: Any, path: str) -> Answer | None:
    live = front.live_articles()
    if path == "/sitemap.xml":
        def index() -> bytes:
            lastmods = feeds.latest_lastmods(live, sitemap_child)
            return feeds.render_index((f"{REAL_BASE}/{child}", lastmods[child])
                                      for child in (*NEWS_CHILDREN, PHOTO_CHILD) if child in lastmods)
        return 200, {"Content-Type": XML}, front.cached(("sitemap",), index)
    if path == "/news-sitemap.xml":
        since = front.site.now - timedelta(days=NEWS_SITEMAP_DAYS)
        recent = [a for a in live if a.published_at >= since]
        return 200, {"Content-Type": XML}, front.cached(
            ("news",), lambda: feeds.render_news_sitemap(recent, "연합뉴스"))
    child = path.removeprefix("/")
    if child in (*NEWS_CHILDREN, PHOTO_CHILD):
        listed = [a for a in live if sitemap_child(a) == child]
        return 200, {"Content-Type": XML}, front.cached(
            ("sitemap", child), lambda: feeds.render_sitemap(listed))
    return None


def listing_answer(front: Any, path: str) -> Answer | None:
    """The answer for a feed, list, robots.txt or sitemap path; None for any other path."""
    if path == "/robots.txt":
        robots = ROBOTS if front.robots_txt is None else front.robots_txt
        return 200, {"Content-Type": "text/plain; charset=UTF-8"}, robots
    if "sitemap" in path:
        return _sitemap_answer(front, path)
    feed = re.fullmatch(r"/rss/([a-z]+)\.xml", path)
    if feed and feed.group(1) in FEEDS:
        label, wanted = FEEDS[feed.group(1)]
        body = front.cached(("rss", label), lambda: render_rss(
            label, [a for a in front.listed_articles() if wanted(a)][:FEED_SIZE], front.site.now))
        return 200, {"Content-Type": "application/rss+xml; charset=UTF-8"}, body
    listing = _LIST_RE.match(path)
    if listing is None or (listing.group(1) and listing.group(1) not in _SECTION_SLUGS):
        return None
    slug, page = listing.group(1), max(1, int(listing.group(2) or 1))
    title = next((s.label for s in SECTIONS if s.cid == slug), "최신기사")
    base = f"/{slug}/all" if slug else "/news"
    body = front.cached(("list", slug, page), lambda: render_list(
        title, base, [a for a in front.listed_articles() if not slug or a.section.cid == slug],
        page, front.chrome))
    return 200, {"Content-Type": HTML}, body

"""The local site's list pages, RSS feeds, robots.txt and sitemaps, as bytes."""

# The markup mirrors tests/fixtures/newsis/examples line for line, so its long lines stay as they are.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from typing import Any

from crawler.localsite.chrome import Chrome, html_head
from crawler.localsite.model import REAL_BASE, SiteArticle

LIST_PAGE_SIZE = 20
ON = ' class="on"'


def _paging(page: int, last: int, query_prefix: str) -> str:
    start = (page - 1) // 10 * 10 + 1
    links = "".join(
        f'<a href="?{query_prefix}page={n}"{ON if n == page else ""}>{n}</a>'
        for n in range(start, min(start + 9, last) + 1)
    )
    buttons = ""
    if start + 10 <= last:
        buttons += (
            f'\n <button type="button" class="next" '
            f"onclick=\"location.href='?{query_prefix}page={start + 10}'\">다음</button>"
        )
    buttons += (
        f'\n <button type="button" class="end" '
        f"onclick=\"location.href='?{query_prefix}page={last}'\">끝</button>"
    )
    return f'<div id="paging_t1">\n <span class="num">{links}</span>{buttons}\n</div>\n'


def _list_item(article: SiteArticle) -> str:
    thumb = ""
    if article.photos:
        thumb = (
            f'<div class="thumCont"><a href="/view/{article.article_id}">'
            f'<img src="{article.photos[0].thumbnail}" alt=""></a></div>'
        )
    lede = article.lead_text() if article.body else article.photos[0].caption_line()
    byline = article.byline().replace(" ", "")
    return (
        f'<li><div class="boxStyle05">{thumb}<div class="txtCont">'
        f'<p class="tit"><a href="/view/{article.article_id}">{escape(article.headline)}</a></p>'
        f'<p class="txt"><a href="/view/{article.article_id}">{escape(lede[:90])}...</a></p>'
        f'<p class="time"><span>{escape(byline)}</span>{article.published_at:%Y.%m.%d %H:%M:%S}</p>'
        "</div></div></li>\n"
    )


def render_list(
    title: str, newest_first: list[SiteArticle], page: int, query_prefix: str, chrome: Chrome
) -> bytes:
    """One list page (examples/list-page.html): 20 items, newest first, paging by blocks of 10."""
    last = max(1, -(-len(newest_first) // LIST_PAGE_SIZE))
    items = newest_first[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    top = html_head(title, "", chrome)
    body = (
        '<div id="container">\n<div id="content">\n<ul class="articleList2">\n'
        + "".join(_list_item(article) for article in items)
        + "</ul>\n"
        + _paging(page, last, query_prefix)
        + chrome.rank
        + "</div>\n</div>\n"
    )
    return (top + body + chrome.tail + "</div>\n</body>\n</html>\n").encode()


def _rss_description(article: SiteArticle) -> str:
    parts = [f'<p><img src="{photo.src}" /></p><br />' for photo in article.photos]
    if article.is_photo_item:
        parts.append(article.photos[0].caption_line())
    else:
        paragraphs = list(article.body)
        paragraphs[0] = article.lead_prefix() + paragraphs[0]
        parts.append("<br /><br />".join(paragraphs))
        if article.closing_email:
            parts.append(f"<br /><br />◎공감언론 뉴시스 {article.closing_email}")
    return "".join(parts)


def render_rss(label: str, newest_first: list[SiteArticle], now: datetime) -> bytes:
    """An RSS 2.0 feed (examples/rss-sokbo.xml); links name the real host, as Newsis' feeds do."""
    items = "".join(
        f"<item>\n<title><![CDATA[{article.headline}]]></title>\n<link>{article.url}</link>\n"
        f"<description><![CDATA[{_rss_description(article)}]]></description>\n"
        f"<dc:creator>{escape(article.byline())}</dc:creator>\n"
        f"<pubDate>{format_datetime(article.published_at)}</pubDate>\n</item>\n"
        for article in newest_first
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel>\n<title>뉴시스 - {label}</title>\n<link>{REAL_BASE}</link>\n"
        f"<description>공감언론 뉴시스 {label}</description>\n<language>ko</language>\n"
        f"<lastBuildDate>{format_datetime(now)}</lastBuildDate>\n{items}</channel>\n</rss>\n"
    ).encode()


def render_robots() -> bytes:
    return (
        "User-agent: *\nDisallow: /common/\nDisallow: /search/\nDisallow: /ar_detail/\n\n"
        f"Sitemap: {REAL_BASE}/sitemap.xml\nSitemap: {REAL_BASE}/newsis_news_google.xml\n"
    ).encode()


def sitemap_month(article: SiteArticle) -> str:
    """The child sitemap an article is listed in: its month of publication, `2024-11`."""
    return f"{article.published_at:%Y-%m}"


def render_sitemap_index(articles: list[SiteArticle]) -> bytes:
    """/sitemap.xml: one child sitemap per month of publication, newest month first; a child's
    lastmod is the latest lastmod of its articles, so an edit to an old article moves it."""
    months = latest_lastmods(articles, sitemap_month)
    return render_index(
        (f"{REAL_BASE}/sitemap/sitemap-{month}.xml", months[month])
        for month in sorted(months, reverse=True)
    )


def latest_lastmods(articles: list[SiteArticle], child_of: Any) -> dict[str, str]:
    """Each child sitemap's lastmod (the latest of its articles'), by what `child_of` names."""
    children: dict[str, str] = {}
    for article in articles:
        child, lastmod = child_of(article), article.last_modified.isoformat()
        children[child] = max(children.get(child, lastmod), lastmod)
    return children


def render_index(children: Iterable[tuple[str, str]]) -> bytes:
    """A sitemap index of (loc, lastmod) pairs, in the order given."""
    entries = "".join(
        f"<sitemap><loc>{loc}</loc><lastmod>{lastmod}</lastmod></sitemap>\n"
        for loc, lastmod in children
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</sitemapindex>\n'
    ).encode()


def render_sitemap(newest_first: list[SiteArticle]) -> bytes:
    """A child sitemap: every article's URL and lastmod, its last change (edit, touch, restore)."""
    urls = "".join(
        f"<url><loc>{article.url}</loc><lastmod>{article.last_modified.isoformat()}</lastmod></url>\n"
        for article in newest_first
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
    ).encode()


def render_news_sitemap(newest_first: list[SiteArticle], name: str = "뉴시스") -> bytes:
    """Google News sitemap: the articles of the last two days, with their lastmod; `name` is
    the publication's."""
    urls = "".join(
        f"<url><loc>{article.url}</loc><lastmod>{article.last_modified.isoformat()}</lastmod>"
        f"<news:news><news:publication><news:name>{name}</news:name>"
        "<news:language>ko</news:language></news:publication>"
        f"<news:publication_date>{article.published_at.isoformat()}</news:publication_date>"
        f"<news:title>{escape(article.headline)}</news:title></news:news></url>\n"
        for article in newest_first
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{urls}</urlset>\n'
    ).encode()


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)

"""news.example.org as a newsarchive publisher: ids, URLs and one layout's parser."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from lxml import html

from crawler.parsers.errors import NotAnArticle
from crawler.publishers.base import Discovery, Publisher
from storage.record import ArticleRecord

# /articles/EX-000042: six digits after "EX-".
ARTICLE_ID_RE = re.compile(r"EX-\d{6}")
_PATH_RE = re.compile(r"^/articles/(EX-\d{6})/?$")
HOSTS = frozenset({"news.example.org", "www.news.example.org"})
ORIGIN = "https://news.example.org"


def is_own_host(host: str | None) -> bool:
    return (host or "").lower().rstrip(".") in HOSTS


def article_id_from_url(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.netloc and not is_own_host(parts.hostname):
        return None
    match = _PATH_RE.match(parts.path)
    return match.group(1) if match else None


def article_id_of_link(link: str | None) -> str | None:
    """The article id a feed link names (absolute, or a path on the site), else None."""
    if not link:
        return None
    try:
        return article_id_from_url(urljoin(ORIGIN + "/", link.strip()))
    except ValueError:
        return None


def canonical_article_url(article_id: str) -> str:
    if not ARTICLE_ID_RE.fullmatch(article_id):
        raise ValueError(f"not an example.org article id: {article_id!r}")
    return f"{ORIGIN}/articles/{article_id}"


class ExampleParser2024:
    """The one layout: <article><h1>, <time datetime>, <p class="section">, <p> paragraphs."""

    VERSION = "example-2024"

    def parse(self, body: bytes | str, url: str) -> ArticleRecord:
        article_id = article_id_from_url(url) or _id_anywhere(url)
        if article_id is None:
            raise NotAnArticle("no article id in the URL")
        try:
            root = html.fromstring(body)
        except Exception as error:  # lxml refuses empty and binary bodies
            raise NotAnArticle(f"not HTML: {type(error).__name__}") from None
        headline = " ".join(root.xpath("string(//article/h1)").split())
        stamp = root.xpath("string(//article/time/@datetime)")
        if not headline or not stamp:
            raise NotAnArticle("no headline or no time")
        try:
            published_at = datetime.fromisoformat(stamp)
        except ValueError:
            raise NotAnArticle(f"bad time {stamp[:40]!r}") from None
        if published_at.utcoffset() is None:
            raise NotAnArticle("time without an offset")
        section = " ".join(root.xpath("string(//article/p[@class='section'])").split())
        paragraphs = [" ".join(p.text_content().split())
                      for p in root.xpath("//article/p[not(@class)]")]
        return ArticleRecord(
            article_id=article_id, url=canonical_article_url(article_id), headline=headline,
            published_at=published_at, section=section or None,
            body=tuple(p for p in paragraphs if p), parser_version=self.VERSION,
            source="example",
        )


def _id_anywhere(url: str) -> str | None:
    match = ARTICLE_ID_RE.search(url)
    return match.group(0) if match else None


def parser_for(_fetched_at: datetime | None = None) -> ExampleParser2024:
    return ExampleParser2024()


PUBLISHER = Publisher(
    name="example",
    article_id_re=ARTICLE_ID_RE,
    article_id_from_url=article_id_from_url,
    canonical_article_url=canonical_article_url,
    is_own_host=is_own_host,
    parser_for=parser_for,
    canonical_origin=ORIGIN,
    article_path="/articles/{article_id}",
    example_url=f"{ORIGIN}/articles/EX-000001",
    # One RSS feed, /feeds/latest.xml (its <item><link>s); no list pages, no sitemaps.
    discovery=Discovery(
        feed_slugs=("latest",), feed_path="/feeds/{slug}.xml",
        article_id_of_link=article_id_of_link,
    ),
)

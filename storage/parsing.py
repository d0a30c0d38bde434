"""Parsing a stored capture into a record: the parser ingest and rebuilds use, and its outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.record import ArticleRecord, ParseError

# A parser: raw body, URL fetched, capture time -> record, or ParseError with `.reason`. The
# crawler passes its publisher's (crawler.publishers.parse_article) to ingest and reparse.
Parser = Callable[[bytes, str, datetime], ArticleRecord]


# --- parsing a capture -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """A capture's parse: the record, or why there is none (None for a 304 and a fetch error)."""

    record: ArticleRecord | None = None
    error: str | None = None


def parse_capture(
    parser: Parser,
    *,
    url: str,
    fetched_at: datetime,
    status: int | None,
    body: bytes | None,
    fetch_error: str | None,
    publisher: str,
    article_id: str | None = None,
) -> ParseOutcome:
    """Run the parser on one capture; a page never makes this raise.

    `publisher` is the one whose site the capture is of: a page of another publisher (its
    record's source) gives no record. `article_id` is the article the capture is filed under,
    when known: a page that is another article (its own id, from its canonical link or the URL
    it came from, differs) gives no record, so it never becomes a version of the article asked
    for.
    """
    if fetch_error or status == 304:
        return ParseOutcome()
    if status is None or not 200 <= status < 300:
        # 403/429 and error pages: kept as evidence, never a version.
        return ParseOutcome(error=f"HTTP {status}")
    if not body:
        return ParseOutcome(error="empty body")
    try:
        record = parser(body, url, fetched_at)
    except ParseError as error:
        return ParseOutcome(error=error.reason)
    except Exception as error:  # a parser bug must cost one page, not the crawl
        text = " ".join(f"parser crashed: {type(error).__name__}: {error}".split())
        return ParseOutcome(error=text[:300])
    if record.source != publisher:
        return ParseOutcome(error=wrong_publisher(record.source, publisher))
    if article_id is not None and record.article_id != article_id:
        return ParseOutcome(error=wrong_article(record.article_id, article_id))
    return ParseOutcome(record=record)


def wrong_publisher(source: str, publisher: str) -> str:
    """The parse error of a capture of `publisher`'s site whose page is another's article."""
    return f"page is a {source} article, not {publisher}'s"


def publisher_clash(article_id: str, article_publisher: str, publisher: str) -> str:
    """The parse error of a capture of `publisher` filed under an article another publisher
    holds (article ids are unique across publishers): that article is left as it was."""
    return (
        f"article {article_id} is {article_publisher}'s: a {publisher} capture is not filed"
        " under it"
    )


def wrong_article(page_article_id: str, article_id: str) -> str:
    """The parse error of a capture filed under `article_id` whose page is another article."""
    return f"page is article {page_article_id}, not {article_id}"


# The id prefix of each publisher's text articles: a photo item (Newsis NISI, Yonhap PYH)
# legitimately has no dateline in the lead and an empty body. A publisher not named here is
# checked for its section only.
TEXT_ARTICLE_PREFIXES = {"newsis": "NISX", "yonhap": "AKR"}


def missing_fields(record: ArticleRecord) -> list[str]:
    """Fields empty in this record that nearly every text article of its publisher has (the
    drift signal)."""
    missing = []
    if not record.section:
        missing.append("section")
    text_prefix = TEXT_ARTICLE_PREFIXES.get(record.source)
    if text_prefix and record.article_id.startswith(text_prefix):
        if not record.dateline:
            missing.append("dateline")
        if not record.body:
            missing.append("body")
    return missing


def record_columns(record: ArticleRecord, content_hash: str | None = None) -> dict[str, Any]:
    """A version row's record columns. `content_hash`, when the caller has it already, saves
    recomputing it (a canonical JSON dump of the record, a few % of a parse)."""
    data = record.to_dict(with_hash=False)
    return {
        "headline": record.headline,
        "published_at": record.published_at,
        "modified_at": record.modified_at,
        "section": record.section,
        "dateline": record.dateline,
        "subheadlines": data["subheadlines"],
        "reporters": data["reporters"],
        "captions": data["captions"],
        "body": data["body"],
        "content_hash": content_hash or record.content_hash,
        "parser_version": record.parser_version,
    }

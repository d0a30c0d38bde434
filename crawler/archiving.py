"""storage's write path as the crawler calls it: each page filed under the article its URLs
name, parsed with the publisher's parser (storage reads neither URLs nor pages itself)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import crawler.publishers
from crawler.publishers import Publisher, UnknownPublisher, publisher_for_url, publishers
from storage import reparse as reparsing
from storage.fetched_page import FetchedPage
from storage.ingest import write_path
from storage.ingest.write_path import IngestResult
from storage.parsing import Parser
from storage.record import ArticleRecord, ParseError

# The archive's rows name no publisher yet, and its exports say "newsis": another publisher's
# page is refused by the write path's parser (a failed capture) until the archive is keyed by
# publisher (issue 19), rather than stored as a Newsis article.
ARCHIVED_PUBLISHERS = frozenset({"newsis"})


def parse_page(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """crawler.publishers.parse_article, looked up at each call: the default parser of the write
    path (a reparse's forked workers see a replacement made before they start)."""
    record = crawler.publishers.parse_article(body, url, fetched_at)
    if record.source not in ARCHIVED_PUBLISHERS:
        raise ParseError(f"{record.source} pages are not archived yet: the archive holds Newsis")
    return record


def filed(page: FetchedPage) -> FetchedPage:
    """`page` with the article it is filed under and the one the URL that answered names."""
    served = _article_id_in_path(page)
    return dataclasses.replace(page, article_id=_article_id_of(page), served_article_id=served)


def ingest(
    session: Session,
    page: FetchedPage,
    crawl_run_id: int | None = None,
    *,
    parser: Parser = parse_page,
) -> IngestResult:
    """storage.ingest.write_path.ingest of the filed page."""
    return write_path.ingest(session, filed(page), crawl_run_id, parser=parser)


def ingest_many(
    session: Session,
    fetched: Sequence[FetchedPage],
    crawl_run_id: int | None = None,
    *,
    parser: Parser = parse_page,
) -> list[IngestResult]:
    """storage.ingest.write_path.ingest_many of the filed pages."""
    return write_path.ingest_many(session, [filed(p) for p in fetched], crawl_run_id, parser=parser)


def ingest_in_sessions(
    sessions: Callable[[], Session],
    fetched: Sequence[FetchedPage],
    crawl_run_id: int | None = None,
    *,
    parser: Parser = parse_page,
) -> list[IngestResult]:
    """storage.ingest.write_path.store_in_sessions of the filed pages (the crawl's writer)."""
    items = write_path.prepare_pages([filed(page) for page in fetched], parser)
    return write_path.store_in_sessions(sessions, items, crawl_run_id, parser=parser)


def ingest_batches(
    sessions: Callable[[], Session],
    batches: Iterable[Sequence[FetchedPage]],
    on_stored: Callable[[list[IngestResult]], None],
    crawl_run_id: int | None = None,
    *,
    parser: Parser = parse_page,
) -> None:
    """storage.ingest.write_path.ingest_batches of the filed pages."""
    filed_batches = ([filed(page) for page in batch] for batch in batches)
    write_path.ingest_batches(sessions, filed_batches, on_stored, crawl_run_id, parser=parser)


def reparse(engine: Engine, *, parser: Parser = parse_page, **options: Any) -> Any:
    """storage.reparse.reparse with the publisher's parser."""
    return reparsing.reparse(engine, parser=parser, **options)


def _publisher_of(page: FetchedPage) -> Publisher | None:
    """The page's publisher: by its URL, else the one whose id the article asked for is; None
    for a publisher the archive does not hold yet."""
    try:
        publisher = publisher_for_url(page.url)
    except UnknownPublisher:
        publisher = None
    if publisher is not None:
        return publisher if publisher.name in ARCHIVED_PUBLISHERS else None
    for publisher in publishers().values():
        if publisher.name not in ARCHIVED_PUBLISHERS:
            continue
        if page.article_id and publisher.article_id_re.fullmatch(
            publisher.normalize_id(page.article_id)
        ):
            return publisher
    return None


def _article_id_of(page: FetchedPage) -> str | None:
    """The article a capture is filed under: the one asked for, else the one its URL names."""
    publisher = _publisher_of(page)
    if publisher is None:
        return None
    if page.article_id:
        asked = publisher.normalize_id(page.article_id)
        if publisher.article_id_re.fullmatch(asked):
            return asked
    return publisher.article_id_from_url(page.url)


def _article_id_in_path(page: FetchedPage) -> str | None:
    """The article the URL that answered names by its path and query, in any of the publisher's
    forms, whatever its host (the crawl may fetch from a mirror of the site, the local one)."""
    try:
        parts = urlsplit(page.extra.get("fetched_url") or "")
    except ValueError:
        return None
    publisher = _publisher_of(page)
    if publisher is None:
        return None
    origin = urlsplit(publisher.canonical_origin)
    return publisher.article_id_from_url(
        urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))
    )

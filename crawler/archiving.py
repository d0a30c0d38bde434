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
from storage.record import ArticleRecord

# The publisher of a capture no installed plug-in owns (an imported page of another site, no
# article asked for): stored as failed evidence under this name, which no plug-in can take (a
# publisher's name is a Python package's stem).
UNKNOWN_PUBLISHER = "(unknown)"


def parse_page(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """crawler.publishers.parse_article, looked up at each call: the default parser of the write
    path (a reparse's forked workers see a replacement made before they start)."""
    return crawler.publishers.parse_article(body, url, fetched_at)


def filed(page: FetchedPage) -> FetchedPage:
    """`page` with its publisher, the article it is filed under and the one the URL that
    answered names.

    The publisher is the one the crawl set (`page.publisher`, the spider's), else the one whose
    site or article id the URL is on, else the one whose id the article asked for is; else
    UNKNOWN_PUBLISHER: the page is kept, as a failed capture (no parser is any publisher's).
    """
    publisher = _publisher_of(page)
    name = page.publisher or (publisher.name if publisher else UNKNOWN_PUBLISHER)
    return dataclasses.replace(
        page,
        publisher=name,
        article_id=_article_id_of(page, publisher),
        served_article_id=_article_id_in_path(page, publisher),
    )


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
    """The page's publisher plug-in: the one named, else by its URL, else the one whose id the
    article asked for is; None when none is installed that fits."""
    if page.publisher is not None:
        return publishers().get(page.publisher)
    try:
        return publisher_for_url(page.url)
    except UnknownPublisher:
        pass
    return _owner_of_id(page.article_id)


def _owner_of_id(article_id: str | None) -> Publisher | None:
    if not article_id:
        return None
    for publisher in publishers().values():
        if publisher.article_id_re.fullmatch(publisher.normalize_id(article_id)):
            return publisher
    return None


def _article_id_of(page: FetchedPage, publisher: Publisher | None) -> str | None:
    """The article a capture is filed under: the one asked for (in its publisher's canonical
    form: another publisher's id stays what it is, and the page is then refused as another
    article), else the one its URL names (should the URL be another publisher's, by that one)."""
    owner = _owner_of_id(page.article_id)
    if owner is not None:
        assert page.article_id is not None
        return owner.normalize_id(page.article_id)
    found = publisher.article_id_from_url(page.url) if publisher is not None else None
    if found is None and page.publisher is not None:
        try:
            found = publisher_for_url(page.url).article_id_from_url(page.url)
        except UnknownPublisher:
            return None
    return found


def _article_id_in_path(page: FetchedPage, publisher: Publisher | None) -> str | None:
    """The article the URL that answered names by its path and query, in any of the publisher's
    forms, whatever its host (the crawl may fetch from a mirror of the site, the local one)."""
    if publisher is None:
        return None
    try:
        parts = urlsplit(page.extra.get("fetched_url") or "")
    except ValueError:
        return None
    origin = urlsplit(publisher.canonical_origin)
    return publisher.article_id_from_url(
        urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))
    )

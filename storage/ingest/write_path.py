"""The write path: ingest a fetched page into captures, bodies, articles, versions; crawl runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.orm import Session

from storage.bodies.batch import Deltas
from storage.bodies.codec import body_hash_of
from storage.bodies.store import load_body as load_body  # re-exported: export and tests use it
from storage.db import one_line
from storage.fetched_page import FetchedPage
from storage.ingest.transaction import OUTCOME_LOST, IngestBatch, IngestResult, PreparedPage
from storage.models import (
    Article,
    Capture,
    CrawlRun,
    Version,
)
from storage.parsing import ParseOutcome, Parser, parse_capture, wrong_article

__all__ = [
    "IngestResult",
    "ingest",
    "ingest_batches",
    "ingest_many",
    "load_body",
]

# Concurrent ingests of one article may collide on a unique key, or (PostgreSQL) deadlock or
# fail to serialise: the loser retries its batch from scratch.
MAX_INGEST_ATTEMPTS = 4
# serialization_failure, deadlock_detected: PostgreSQL aborted the transaction; a retry runs.
_RETRIED_SQLSTATES = frozenset({"40001", "40P01"})


# --- ingest ------------------------------------------------------------------------------------


def ingest(
    session: Session,
    page: FetchedPage,
    crawl_run_id: int | None = None,
    *,
    parser: Parser,
) -> IngestResult:
    """Store one fetched page and what it means for its article, in one transaction (committed).

    The capture is always kept. It becomes a new version only when its content hash differs from
    the article's current version; otherwise it moves "last seen". A capture already stored (same
    URL, fetch time and body) changes nothing.
    """
    return ingest_many(session, [page], crawl_run_id, parser=parser)[0]


def ingest_many(
    session: Session,
    pages: Sequence[FetchedPage],
    crawl_run_id: int | None = None,
    *,
    parser: Parser,
) -> list[IngestResult]:
    """Store fetched pages in one transaction (committed): exactly what ingesting them one by
    one in order would store, each page's result in page order.

    The archive's state for the whole batch is read in a few queries and written in a few
    statements; pages are parsed and their bodies hashed before the transaction begins. Nothing
    of the batch is stored unless all of it is.
    """
    return store_prepared(session, prepare_pages(pages, parser), crawl_run_id, parser=parser)


def ingest_batches(
    sessions: Callable[[], Session],
    batches: Iterable[Sequence[FetchedPage]],
    on_stored: Callable[[list[IngestResult]], None],
    crawl_run_id: int | None = None,
    *,
    parser: Parser,
) -> None:
    """Ingest batches in order, each as `ingest_many` does, the next one parsed while the last
    is being stored; `on_stored` gets each batch's results, in order, in this thread.

    Storing runs in one helper thread on its own session (from `sessions`). Much of it runs
    without the GIL (zstd, sha256, SQLite), as does lxml's parse, so the two partly overlap on
    two cores: 1.11x the pages/s of one batch after the other (bench/RESULTS.md, § Storage).
    Should reading the batches or a store fail (or the process be interrupted), the batch being
    stored is finished (committed, or its own error raised) and reported before the error goes
    on: nothing read before it is lost.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-store") as storing:
        storing_now: Future[list[IngestResult]] | None = None
        try:
            for pages in batches:
                items = prepare_pages(pages, parser)
                if storing_now is not None:
                    done, storing_now = storing_now, None
                    on_stored(done.result())
                storing_now = storing.submit(
                    _store_in_own_session, sessions, items, crawl_run_id, parser
                )
        finally:
            if storing_now is not None:
                on_stored(storing_now.result())


def _store_in_own_session(
    sessions: Callable[[], Session],
    items: list[PreparedPage],
    crawl_run_id: int | None,
    parser: Parser,
) -> list[IngestResult]:
    with sessions() as session:
        return store_prepared(session, items, crawl_run_id, parser=parser)


def prepare_pages(pages: Iterable[FetchedPage], parser: Parser) -> list[PreparedPage]:
    """What ingest needs of each page before any transaction: its parse, its body's sha256 and
    the article it is about. Touches no database. Each page names its publisher (ValueError)."""
    items = []
    for page in pages:
        if not page.publisher:
            # Storage reads no URLs: the crawler names the publisher (crawler.archiving.filed).
            raise ValueError(f"a page reaches the archive without its publisher: {page.url[:200]}")
        asked = page.article_id
        parsed = parse_capture(
            parser,
            url=page.url,
            fetched_at=page.fetched_at,
            status=page.status,
            body=page.body,
            fetch_error=page.fetch_error,
            publisher=page.publisher,
            article_id=asked,
        )
        # A redirect to another article: the response is that article's page, whatever it says.
        redirected_to = page.served_article_id
        if parsed.record and asked and redirected_to and redirected_to != asked:
            parsed = ParseOutcome(error=wrong_article(redirected_to, asked))
        article_id = asked or (parsed.record.article_id if parsed.record else None)
        body_hash = body_hash_of(page.body) if page.body else None
        items.append(PreparedPage(page, parsed, body_hash, article_id))
    return items


def store_prepared(
    session: Session,
    items: list[PreparedPage],
    crawl_run_id: int | None = None,
    *,
    parser: Parser,
) -> list[IngestResult]:
    """Store prepared pages in one transaction (committed), retried from scratch when a
    concurrent writer got in the way; `parser` re-derives an article a late capture reorders.

    Should the batch fail for any other reason, each page is stored in its own transaction: a
    page the database refuses fails alone (`_store_alone`), the others are stored as they would
    have been in the batch.
    """
    if not items:
        return []
    try:
        return _store_batch(session, items, crawl_run_id, parser)
    except Exception as error:
        if len(items) == 1 or (isinstance(error, DBAPIError) and error.connection_invalidated):
            raise
    return [_store_alone(session, item, crawl_run_id, parser) for item in items]


def store_in_sessions(
    sessions: Callable[[], Session],
    items: list[PreparedPage],
    crawl_run_id: int | None = None,
    *,
    parser: Parser,
) -> list[IngestResult]:
    """`store_prepared` in a session of its own. Should even that raise (the connection lost
    midway, the database gone), each page is tried again in a session of its own; a page that
    still fails is named lost, with the error's line."""
    try:
        with sessions() as session:
            return store_prepared(session, items, crawl_run_id, parser=parser)
    except Exception as error:
        if len(items) == 1:
            return [IngestResult(OUTCOME_LOST, None, items[0].article_id, error=one_line(error))]
    return [store_in_sessions(sessions, [item], crawl_run_id, parser=parser)[0] for item in items]


def _store_batch(
    session: Session, items: list[PreparedPage], crawl_run_id: int | None, parser: Parser
) -> list[IngestResult]:
    deltas = Deltas()
    for attempt in range(1, MAX_INGEST_ATTEMPTS + 1):
        batch = IngestBatch(session, deltas, crawl_run_id, parser)
        try:
            results = batch.run(items)
            session.commit()
        except DBAPIError as error:
            session.rollback()
            if attempt == MAX_INGEST_ATTEMPTS or not _is_retried(error):
                raise
            continue
        except BaseException:
            session.rollback()
            raise
        batch.committed()
        _expire_written(session)
        return results
    raise AssertionError("unreachable")


def _store_alone(
    session: Session, item: PreparedPage, crawl_run_id: int | None, parser: Parser
) -> IngestResult:
    """One page in its own transaction; refused, it is kept as a failed capture with the
    database's reason (its body too, for a later reparse), or, refused even so, lost."""
    try:
        return _store_batch(session, [item], crawl_run_id, parser)[0]
    except Exception as error:
        reason = f"database refused the page: {one_line(error)}"
    failed = PreparedPage(item.page, ParseOutcome(error=reason), item.body_hash, item.article_id)
    try:
        return _store_batch(session, [failed], crawl_run_id, parser)[0]
    except (StatementError, ValueError, OverflowError) as error:
        if isinstance(error, (OperationalError, InterfaceError)):
            raise  # the database itself (gone, locked), not this page
        # Not even the capture row goes in (its URL or time): the caller names the page as lost.
        reason = f"{reason}; not even as a failed capture: {one_line(error)}"
        return IngestResult(OUTCOME_LOST, None, item.article_id, error=reason)


def _is_retried(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRIED_SQLSTATES


def _expire_written(session: Session) -> None:
    """Objects of the kinds ingest writes, held by the session, reload on next use: the batch
    wrote their rows underneath the ORM."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, (Article, Version, Capture, CrawlRun)):
            session.expire(instance)

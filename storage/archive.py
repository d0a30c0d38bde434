"""The write path: ingest a fetched page into captures, bodies, articles, versions; crawl runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.items import FetchedPage
from crawler.records import ArticleRecord
from crawler.urls import ARTICLE_ID_RE, article_id_from_url, canonical_article_url
from storage.bodies import body_hash_of, store_body
from storage.bodies import load_body as load_body  # re-exported: export and tests use it
from storage.models import (
    OUTCOME_DUPLICATE,
    OUTCOME_FAILED,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
    Article,
    Capture,
    CrawlRun,
    Version,
)
from storage.parsing import ParseOutcome, Parser, missing_fields, parse_capture, record_columns
from storage.parsing import parse_page as parse_page  # re-exported: the default parser
from storage.rebuild import rebuild_article
from storage.schedule import next_check_at

# Concurrent ingests of one article may collide on a unique key; the loser retries from scratch.
MAX_INGEST_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingest did with one page."""

    outcome: str  # new_article / new_version / unchanged / not_modified / failed / duplicate
    capture_id: int
    article_id: str | None = None
    version_no: int | None = None
    error: str | None = None


# --- ingest ------------------------------------------------------------------------------------


def ingest(
    session: Session,
    page: FetchedPage,
    crawl_run_id: int | None = None,
    *,
    parser: Parser = parse_page,
) -> IngestResult:
    """Store one fetched page and what it means for its article, in one transaction (committed).

    The capture is always kept. It becomes a new version only when its content hash differs from
    the article's current version; otherwise it moves "last seen". A capture already stored (same
    URL, fetch time and body) changes nothing.
    """
    parsed = parse_capture(
        parser,
        url=page.url,
        fetched_at=page.fetched_at,
        status=page.status,
        body=page.body,
        fetch_error=page.fetch_error,
    )
    for attempt in range(1, MAX_INGEST_ATTEMPTS + 1):
        try:
            result = _ingest_once(session, page, parsed, crawl_run_id, parser)
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            if attempt == MAX_INGEST_ATTEMPTS:
                raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def _ingest_once(
    session: Session,
    page: FetchedPage,
    parsed: ParseOutcome,
    crawl_run_id: int | None,
    parser: Parser,
) -> IngestResult:
    body_hash = body_hash_of(page.body) if page.body else None
    if session.get_bind().dialect.name == "postgresql":
        # Two imports of one WARC at once would both pass the duplicate check below under READ
        # COMMITTED (captures have no unique key to catch it): serialise ingests of one URL
        # until commit. SQLite needs nothing: BEGIN IMMEDIATE already serialises writers.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:url, 0))"), {"url": page.url}
        )
    duplicate = session.scalar(
        select(Capture).where(
            Capture.url == page.url,
            Capture.fetched_at == page.fetched_at,
            Capture.body_hash.is_(None) if body_hash is None else Capture.body_hash == body_hash,
        )
    )
    if duplicate is not None:
        _count_duplicate(session, crawl_run_id)
        return IngestResult(
            OUTCOME_DUPLICATE,
            duplicate.capture_id,
            duplicate.article_id,
            error=_error_of(duplicate),
        )

    record = parsed.record
    article_id = record.article_id if record else _article_id_of(page)
    # Serialises concurrent ingests of one article on PostgreSQL (FOR UPDATE is a no-op on
    # SQLite, where BEGIN IMMEDIATE already serialises writers).
    article = (
        session.scalar(select(Article).where(Article.article_id == article_id).with_for_update())
        if article_id
        else None
    )

    if page.body:
        store_body(
            session,
            page.body,
            previous_hash=_latest_body_hash(session, article_id),
            digest=body_hash,
        )
    capture = Capture(
        crawl_run_id=crawl_run_id,
        url=page.url,
        article_id=article_id,
        fetched_at=page.fetched_at,
        status=page.status,
        etag=_header(page.headers, "ETag"),
        last_modified=_header(page.headers, "Last-Modified"),
        content_type=_header(page.headers, "Content-Type"),
        body_hash=body_hash,
        fetch_error=page.fetch_error,
        outcome=OUTCOME_FAILED,
    )
    _set_parse_fields(capture, parsed)
    session.add(capture)
    session.flush()

    if page.fetch_error or (record is None and page.status != 304):
        capture.outcome = OUTCOME_FAILED
    elif page.status == 304:
        capture.outcome = OUTCOME_NOT_MODIFIED
    in_chain = not page.fetch_error and (record is not None or page.status == 304)
    # The version this capture belongs to, when known without a query (the usual cases).
    known_version_no: int | None = None
    rebuilt = False
    if article is not None and in_chain:
        current = _current_version(session, article)
        if page.fetched_at < current.last_seen_at:
            # An older capture arriving late (an import): only a rebuild keeps versions in
            # capture-time order.
            rebuild_article(session, article.article_id, parser=parser)
            rebuilt = True
        else:
            _extend_chain(session, article, current, capture, record)
            known_version_no = article.current_version_no
    elif record is not None:
        article = _new_article(session, capture, record)
        known_version_no = 1
    elif article is not None:
        _touch_article(article, capture)
    session.flush()

    version_no = None
    if capture.outcome in (OUTCOME_NEW_ARTICLE, OUTCOME_NEW_VERSION, OUTCOME_UNCHANGED):
        version_no = _version_no_of(session, capture) if rebuilt else known_version_no
    return IngestResult(
        capture.outcome, capture.capture_id, capture.article_id, version_no, _error_of(capture)
    )


def _extend_chain(
    session: Session,
    article: Article,
    current: Version,
    capture: Capture,
    record: ArticleRecord | None,
) -> None:
    if record is None or record.content_hash == current.content_hash:
        current.last_capture_id = capture.capture_id
        current.last_seen_at = capture.fetched_at
        if record is not None:
            capture.outcome = OUTCOME_UNCHANGED
    else:
        session.add(_version_from(record, article.article_id, current.version_no + 1, capture))
        article.current_version_no = current.version_no + 1
        article.last_changed_at = capture.fetched_at
        capture.outcome = OUTCOME_NEW_VERSION
    _touch_article(article, capture, record)


def _new_article(session: Session, capture: Capture, record: ArticleRecord) -> Article:
    article = Article(
        article_id=record.article_id,
        url=canonical_article_url(record.article_id),
        section=record.section,
        published_at=record.published_at,
        first_seen_at=capture.fetched_at,
        last_checked_at=capture.fetched_at,
        last_changed_at=capture.fetched_at,
        current_version_no=1,
    )
    session.add(article)
    session.add(_version_from(record, record.article_id, 1, capture))
    capture.outcome = OUTCOME_NEW_ARTICLE
    _touch_article(article, capture, record)
    return article


def _touch_article(article: Article, capture: Capture, record: ArticleRecord | None = None) -> None:
    """Move the article's check times and validators to a capture at or after its last check."""
    if capture.fetched_at < article.last_checked_at:
        return
    article.last_checked_at = capture.fetched_at
    if record is not None:
        article.section = record.section
        article.published_at = record.published_at
    if record is not None or capture.outcome == OUTCOME_NOT_MODIFIED:
        article.etag = capture.etag or article.etag
        article.last_modified = capture.last_modified or article.last_modified
    article.next_check_at = next_check_at(article.published_at, article.last_checked_at)


def _version_from(
    record: ArticleRecord, article_id: str, version_no: int, capture: Capture
) -> Version:
    return Version(
        article_id=article_id,
        version_no=version_no,
        first_capture_id=capture.capture_id,
        last_capture_id=capture.capture_id,
        first_seen_at=capture.fetched_at,
        last_seen_at=capture.fetched_at,
        **record_columns(record),
    )

def _set_parse_fields(capture: Capture, parsed: ParseOutcome) -> None:
    record = parsed.record
    capture.parse_error = parsed.error
    capture.parser_version = record.parser_version if record else None
    capture.content_hash = record.content_hash if record else None
    capture.missing_fields = ",".join(missing_fields(record)) or None if record else None


def _current_version(session: Session, article: Article) -> Version:
    return session.scalars(
        select(Version).where(
            Version.article_id == article.article_id,
            Version.version_no == article.current_version_no,
        )
    ).one()


def _version_no_of(session: Session, capture: Capture) -> int | None:
    """The version a successfully parsed capture belongs to (the latest one that saw it)."""
    return session.scalar(
        select(Version.version_no)
        .where(
            Version.article_id == capture.article_id,
            Version.first_seen_at <= capture.fetched_at,
            Version.content_hash == capture.content_hash,
        )
        .order_by(Version.version_no.desc())
        .limit(1)
    )


def _latest_body_hash(session: Session, article_id: str | None) -> str | None:
    if article_id is None:
        return None
    return session.scalar(
        select(Capture.body_hash)
        .where(Capture.article_id == article_id, Capture.body_hash.is_not(None))
        .order_by(Capture.fetched_at.desc(), Capture.capture_id.desc())
        .limit(1)
    )


def _article_id_of(page: FetchedPage) -> str | None:
    if page.article_id and ARTICLE_ID_RE.fullmatch(page.article_id):
        return page.article_id
    return article_id_from_url(page.url)


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _error_of(capture: Capture) -> str | None:
    return capture.fetch_error or capture.parse_error


_COUNT_COLUMNS = {
    OUTCOME_NEW_ARTICLE: CrawlRun.new_article_count,
    OUTCOME_NEW_VERSION: CrawlRun.new_version_count,
    OUTCOME_UNCHANGED: CrawlRun.unchanged_count,
    OUTCOME_NOT_MODIFIED: CrawlRun.not_modified_count,
    OUTCOME_FAILED: CrawlRun.failed_count,
    OUTCOME_DUPLICATE: CrawlRun.duplicate_count,
}


def _count_duplicate(session: Session, crawl_run_id: int | None) -> None:
    # Only a duplicate is counted as it happens: it leaves no capture to count at the end.
    # Every other outcome is counted from the run's captures by finish_run, so concurrent
    # ingests (scale-out workers share a round) never queue on the run's row lock.
    if crawl_run_id is None:
        return
    column = CrawlRun.duplicate_count
    # An UPDATE … SET n = n + 1, not read-modify-write: several processes may share a run.
    session.execute(
        update(CrawlRun).where(CrawlRun.crawl_run_id == crawl_run_id).values({column: column + 1})
    )


def _fill_counts(session: Session, run: CrawlRun) -> None:
    """Set a run's counts from its captures: what was really kept, whoever ingested it."""
    rows = session.execute(
        select(
            Capture.outcome,
            func.count(),
            func.count(Capture.missing_fields),
        )
        .where(Capture.crawl_run_id == run.crawl_run_id)
        .group_by(Capture.outcome)
    ).all()
    by_outcome = {outcome: count for outcome, count, _ in rows}
    for outcome, column in _COUNT_COLUMNS.items():
        if outcome != OUTCOME_DUPLICATE:
            setattr(run, column.key, by_outcome.get(outcome, 0))
    run.missing_field_count = sum(missing for _, _, missing in rows)


# --- crawl runs --------------------------------------------------------------------------------


def start_run(session: Session, *, kind: str = "crawl", note: str | None = None) -> int:
    """Open a crawl run (committed) and return its id for the captures it makes."""
    run = CrawlRun(kind=kind, started_at=datetime.now(UTC), outcome="running", note=note)
    for column in _COUNT_COLUMNS.values():
        setattr(run, column.key, 0)
    run.missing_field_count = 0
    session.add(run)
    session.commit()
    return run.crawl_run_id


def finish_run(
    session: Session, crawl_run_id: int, *, outcome: str = "finished", note: str | None = None
) -> CrawlRun:
    """Close a crawl run (committed), with its counts taken from its captures.

    Until then a running run shows only its duplicate count.
    """
    run = session.get(CrawlRun, crawl_run_id, populate_existing=True)
    if run is None:
        raise KeyError(f"no crawl run {crawl_run_id}")
    _fill_counts(session, run)
    run.finished_at = datetime.now(UTC)
    run.outcome = outcome
    if note is not None:
        run.note = note
    session.commit()
    return run


def ingest_many(
    session: Session,
    pages: list[FetchedPage],
    crawl_run_id: int | None = None,
    *,
    parser: Parser = parse_page,
) -> list[IngestResult]:
    """Ingest pages in order, as `ingest` does each (one transaction a page for now)."""
    return [ingest(session, page, crawl_run_id, parser=parser) for page in pages]

"""The write path: ingest a fetched page, store bodies compactly, rebuild versions from captures."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.items import FetchedPage
from crawler.records import ArticleRecord
from crawler.urls import ARTICLE_ID_RE, article_id_from_url, canonical_article_url
from storage.bodies import body_hash_of, load_bodies, store_body
from storage.bodies import load_body as load_body  # re-exported: export and tests use it
from storage.db import make_session_factory
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
from storage.schedule import next_check_at

# Concurrent ingests of one article may collide on a unique key; the loser retries from scratch.
MAX_INGEST_ATTEMPTS = 4

# A parser: raw body, URL fetched, capture time -> record, or ParseError with `.reason`.
Parser = Callable[[bytes, str, datetime], ArticleRecord]


def parse_page(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """The current Newsis parser (crawler.parsers.parse_article): the default for ingest/reparse."""
    from crawler.parsers import parse_article

    return parse_article(body, url, fetched_at)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingest did with one page."""

    outcome: str  # new_article / new_version / unchanged / not_modified / failed / duplicate
    capture_id: int
    article_id: str | None = None
    version_no: int | None = None
    error: str | None = None


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
) -> ParseOutcome:
    """Run the parser on one capture; a page never makes this raise."""
    if fetch_error or status == 304:
        return ParseOutcome()
    if status is None or not 200 <= status < 300:
        # 403/429 and error pages: kept as evidence, never a version.
        return ParseOutcome(error=f"HTTP {status}")
    if not body:
        return ParseOutcome(error="empty body")
    from crawler.parsers import ParseError

    try:
        return ParseOutcome(record=parser(body, url, fetched_at))
    except ParseError as error:
        return ParseOutcome(error=error.reason)
    except Exception as error:  # a parser bug must cost one page, not the crawl
        text = " ".join(f"parser crashed: {type(error).__name__}: {error}".split())
        return ParseOutcome(error=text[:300])


def missing_fields(record: ArticleRecord) -> list[str]:
    """Fields empty in this record that nearly every Newsis text article has (drift signal)."""
    missing = []
    if not record.section:
        missing.append("section")
    if record.article_id.startswith("NISX"):
        # A photo item (NISI) legitimately has no dateline in the lead and an empty body.
        if not record.dateline:
            missing.append("dateline")
        if not record.body:
            missing.append("body")
    return missing


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
        **_record_columns(record),
    )


def _record_columns(record: ArticleRecord) -> dict[str, Any]:
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
        "content_hash": record.content_hash,
        "parser_version": record.parser_version,
    }


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


# --- rebuilding versions from captures ---------------------------------------------------------


@dataclass(slots=True)
class CaptureFacts:
    """What a rebuild needs of one stored capture."""

    capture_id: int
    url: str
    fetched_at: datetime
    status: int | None
    fetch_error: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    body: bytes | None = None


@dataclass(slots=True)
class Chain:
    """An article's versions and its captures' parse fields, derived from captures in time order."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    captures: dict[int, dict[str, Any]] = field(default_factory=dict)
    article: dict[str, Any] | None = None


def derive_chain(
    article_id: str, facts: Sequence[CaptureFacts], parsed: Sequence[ParseOutcome]
) -> Chain:
    """Replay ingest over captures sorted by time: the versions they make, with their times."""
    chain = Chain()
    article: dict[str, Any] | None = None
    for fact, outcome in zip(facts, parsed, strict=True):
        record = outcome.record
        capture_fields = {
            "parse_error": outcome.error,
            "parser_version": record.parser_version if record else None,
            "content_hash": record.content_hash if record else None,
            "missing_fields": (",".join(missing_fields(record)) or None) if record else None,
            "outcome": OUTCOME_FAILED,
        }
        if record is not None and record.article_id != article_id:
            # The page turned out to be another article: it belongs to that one's chain.
            capture_fields["outcome"] = OUTCOME_FAILED
            capture_fields["parse_error"] = f"page is article {record.article_id}"
        elif fact.fetch_error:
            pass
        elif record is None and fact.status == 304:
            capture_fields["outcome"] = OUTCOME_NOT_MODIFIED
            if chain.versions:
                chain.versions[-1]["last_capture_id"] = fact.capture_id
                chain.versions[-1]["last_seen_at"] = fact.fetched_at
        elif record is not None:
            last = chain.versions[-1] if chain.versions else None
            if last is not None and last["content_hash"] == record.content_hash:
                last["last_capture_id"] = fact.capture_id
                last["last_seen_at"] = fact.fetched_at
                capture_fields["outcome"] = OUTCOME_UNCHANGED
            else:
                chain.versions.append(
                    {
                        "version_no": len(chain.versions) + 1,
                        "first_capture_id": fact.capture_id,
                        "last_capture_id": fact.capture_id,
                        "first_seen_at": fact.fetched_at,
                        "last_seen_at": fact.fetched_at,
                        **_record_columns(record),
                    }
                )
                capture_fields["outcome"] = (
                    OUTCOME_NEW_ARTICLE if last is None else OUTCOME_NEW_VERSION
                )
        chain.captures[fact.capture_id] = capture_fields
        if chain.versions and article is None:
            article = {
                "article_id": article_id,
                "url": canonical_article_url(article_id),
                "first_seen_at": fact.fetched_at,
                "last_checked_at": fact.fetched_at,
                "etag": None,
                "last_modified": None,
            }
        if article is not None:
            article["last_checked_at"] = max(article["last_checked_at"], fact.fetched_at)
            if record is not None:
                article["section"] = record.section
                article["published_at"] = record.published_at
            if capture_fields["outcome"] != OUTCOME_FAILED:
                article["etag"] = fact.etag or article["etag"]
                article["last_modified"] = fact.last_modified or article["last_modified"]
    if article is not None:
        current = chain.versions[-1]
        article["current_version_no"] = current["version_no"]
        article["last_changed_at"] = current["first_seen_at"]
        article["next_check_at"] = next_check_at(
            article["published_at"], article["last_checked_at"]
        )
        chain.article = article
    return chain


def load_capture_facts(
    session: Session, article_id: str, *, with_bodies: bool
) -> list[CaptureFacts]:
    """The article's captures in capture-time order (ties: storage order)."""
    rows = session.execute(
        select(
            Capture.capture_id,
            Capture.url,
            Capture.fetched_at,
            Capture.status,
            Capture.fetch_error,
            Capture.etag,
            Capture.last_modified,
            Capture.body_hash,
        )
        .where(Capture.article_id == article_id)
        .order_by(Capture.fetched_at, Capture.capture_id)
    ).all()
    facts = [CaptureFacts(*row) for row in rows]
    if with_bodies:
        attach_bodies(session, facts)
    return facts


def attach_bodies(session: Session, facts: Iterable[CaptureFacts]) -> None:
    """Set each capture's raw body, all read at once (a body shared by captures read once)."""
    facts = list(facts)
    bodies = load_bodies(session, {f.body_hash for f in facts if f.body_hash is not None})
    for fact in facts:
        if fact.body_hash is not None:
            fact.body = bodies[fact.body_hash]


def parse_facts(parser: Parser, facts: Iterable[CaptureFacts]) -> list[ParseOutcome]:
    return [
        parse_capture(
            parser,
            url=fact.url,
            fetched_at=fact.fetched_at,
            status=fact.status,
            body=fact.body,
            fetch_error=fact.fetch_error,
        )
        for fact in facts
    ]


def rebuild_article(session: Session, article_id: str, *, parser: Parser = parse_page) -> bool:
    """Re-derive one article's versions from its stored captures (no commit). True if it changed."""
    facts = load_capture_facts(session, article_id, with_bodies=True)
    return apply_chain(
        session, article_id, derive_chain(article_id, facts, parse_facts(parser, facts))
    )


def apply_chain(session: Session, article_id: str, chain: Chain) -> bool:
    """Make the stored versions, captures and article equal `chain`, writing only what differs.

    Version rows are updated in place by number, so a rebuild that finds the same history
    writes nothing, and a parser fix keeps every version's capture times.
    """
    changed = False
    session.flush()
    captures = {
        capture.capture_id: capture
        for capture in session.scalars(select(Capture).where(Capture.article_id == article_id))
    }
    for capture_id, wanted in chain.captures.items():
        changed |= _assign(captures[capture_id], wanted)

    stored = {
        version.version_no: version
        for version in session.scalars(select(Version).where(Version.article_id == article_id))
    }
    article = session.get(Article, article_id, with_for_update=True)
    if chain.article is None:
        for version in stored.values():
            session.delete(version)
            changed = True
        if article is not None:
            session.flush()
            session.delete(article)
            changed = True
        session.flush()
        return changed

    if article is None:
        article = Article(**chain.article)
        session.add(article)
        changed = True
    else:
        changed |= _assign(article, chain.article)
    wanted_numbers = {version["version_no"] for version in chain.versions}
    for number, version in stored.items():
        if number not in wanted_numbers:
            session.delete(version)
            changed = True
    session.flush()
    for wanted in chain.versions:
        version = stored.get(wanted["version_no"])
        if version is None:
            session.add(Version(article_id=article_id, **wanted))
            changed = True
        else:
            changed |= _assign(version, wanted)
    session.flush()
    return changed


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# --- reprocessing ------------------------------------------------------------------------------


@dataclass(slots=True)
class ReparseSummary:
    articles: int = 0
    changed: int = 0
    unchanged: int = 0


def articles_to_reparse(
    session: Session, *, since: datetime | None = None, article_id: str | None = None
) -> list[str]:
    """Ids of the articles with captures (fetched at or after `since`), in id order."""
    query = select(Capture.article_id).where(Capture.article_id.is_not(None)).distinct()
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    if article_id is not None:
        query = query.where(Capture.article_id == article_id)
    return sorted(session.scalars(query))


# Articles per reparse job: one read and one write transaction each, big enough to amortise
# the commit and the pickling, small enough to keep the workers evenly busy.
REPARSE_BATCH = 8

# A reparse worker's own sessions on the archive (set by _start_worker in each process).
_worker_sessions: Any = None


def _start_worker(db_url: str) -> None:
    """Reparse worker start: its own engine; bodies are read and versions written here."""
    from storage.db import is_sqlite, make_engine

    global _worker_sessions
    _worker_sessions = make_session_factory(make_engine(db_url, immediate=is_sqlite(db_url)))


def _worker_job(parser: Parser, article_ids: list[str]) -> list[tuple[str, bool]]:
    return reparse_batch(_worker_sessions, parser, article_ids)


def reparse_batch(sessions: Any, parser: Parser, article_ids: list[str]) -> list[tuple[str, bool]]:
    """Load, parse and rewrite some articles: one read, then one write transaction (committed).

    Parsing happens outside the write transaction, so on SQLite other writers (a crawl, other
    workers) wait only for the writes. An article that gained a capture between the read and
    the write is rebuilt in place within the write transaction.
    """
    loaded: list[tuple[str, list[CaptureFacts], list[ParseOutcome]]] = []
    with sessions() as session:
        for one_id in article_ids:
            loaded.append((one_id, load_capture_facts(session, one_id, with_bodies=False), []))
        attach_bodies(session, (fact for _, facts, _ in loaded for fact in facts))
    for _, facts, outcomes in loaded:
        outcomes.extend(parse_facts(parser, facts))
        for fact in facts:
            fact.body = None  # pages are large; keep only one article's at a time
    results = []
    with sessions() as session:
        for one_id, facts, outcomes in loaded:
            stored_ids = session.scalars(
                select(Capture.capture_id)
                .where(Capture.article_id == one_id)
                .order_by(Capture.fetched_at, Capture.capture_id)
            ).all()
            if list(stored_ids) == [fact.capture_id for fact in facts]:
                changed = apply_chain(session, one_id, derive_chain(one_id, facts, outcomes))
            else:
                # A crawl added a capture since the load: redo this one article in place.
                changed = rebuild_article(session, one_id, parser=parser)
            results.append((one_id, changed))
        if any(changed for _, changed in results):
            session.commit()
        else:
            session.rollback()
    return results


def reparse(
    engine: Engine,
    *,
    since: datetime | None = None,
    article_id: str | None = None,
    parser: Parser = parse_page,
    workers: int | None = None,
    on_article: Callable[[str, bool], None] | None = None,
) -> ReparseSummary:
    """Re-derive versions from stored captures with `parser`, offline, a few articles a transaction.

    Each of `workers` processes (default: every core) reads its articles' bodies on its own
    connection, parses them and writes what changed; the main process only hands out article
    ids. An article whose derived history equals the stored one is not written at all, so a
    rerun after an interruption only redoes what is left, and the same parser changes nothing.
    """
    sessions = make_session_factory(engine)
    with sessions() as session:
        article_ids = articles_to_reparse(session, since=since, article_id=article_id)
    summary = ReparseSummary()
    workers = workers if workers is not None else (os.cpu_count() or 1)
    batches = [
        article_ids[start : start + REPARSE_BATCH]
        for start in range(0, len(article_ids), REPARSE_BATCH)
    ]

    def count(results: list[tuple[str, bool]]) -> None:
        for one_id, changed in results:
            summary.articles += 1
            summary.changed += changed
            summary.unchanged += not changed
            if on_article is not None:
                on_article(one_id, changed)

    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            count(reparse_batch(sessions, parser, batch))
        return summary

    # Spawned (not forked) workers: they must not inherit the parent's database connections.
    context = multiprocessing.get_context("spawn")
    db_url = engine.url.render_as_string(hide_password=False)
    window = workers * 2  # bounded read-ahead of results
    with ProcessPoolExecutor(
        max_workers=min(workers, len(batches)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(db_url,),
    ) as pool:
        pending: deque[Future] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_worker_job, parser, batch))
                if len(pending) >= window:
                    count(pending.popleft().result())
            while pending:
                count(pending.popleft().result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return summary

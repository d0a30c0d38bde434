"""The statements an ingest batch runs, built once: what it reads of the archive, how it writes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, bindparam, func, insert, select, text, update

from storage.models import OUTCOME_FAILED, Article, Capture, CrawlRun, Event, Version
from storage.parsing import missing_fields
from storage.record import CONTENT_FIELDS

ARTICLES = Article.__table__
CAPTURES = Capture.__table__
VERSIONS = Version.__table__
# Keys per IN (…) list: short SQL, well under SQLite's bound-parameter limit.
CHUNK = 200

# Two imports of one WARC at once would both pass the duplicate check under READ COMMITTED
# (captures have no unique key to catch it): ingests of one URL are serialised until commit,
# the locks taken in one order so that two batches cannot deadlock on them. SQLite needs
# nothing: BEGIN IMMEDIATE already serialises writers.
_LOCK_URLS = text(
    "SELECT pg_advisory_xact_lock(key) FROM (SELECT DISTINCT hashtextextended(url, 0) AS key"
    " FROM unnest(CAST(:urls AS text[])) AS url ORDER BY key OFFSET 0) AS keys"
)

_STORED_CAPTURES = (
    select(
        CAPTURES.c.capture_id,
        CAPTURES.c.url,
        CAPTURES.c.fetched_at,
        CAPTURES.c.body_hash,
        CAPTURES.c.article_id,
        func.coalesce(CAPTURES.c.fetch_error, CAPTURES.c.parse_error),
    )
    .where(
        CAPTURES.c.url.in_(bindparam("urls", expanding=True)),
        CAPTURES.c.fetched_at.in_(bindparam("times", expanding=True)),
    )
    .order_by(CAPTURES.c.capture_id.desc())
)

# Row-locked in id order on PostgreSQL (FOR UPDATE is left out on SQLite, where BEGIN
# IMMEDIATE already serialises writers).
_ARTICLES_WITH_CURRENT = (
    select(
        ARTICLES,
        VERSIONS.c.version_no.label("current_no"),
        VERSIONS.c.content_hash.label("current_hash"),
        VERSIONS.c.last_seen_at.label("current_last_seen_at"),
        VERSIONS.c.last_capture_id.label("current_last_capture_id"),
    )
    .join(
        VERSIONS,
        and_(
            VERSIONS.c.article_id == ARTICLES.c.article_id,
            VERSIONS.c.version_no == ARTICLES.c.current_version_no,
        ),
    )
    .where(ARTICLES.c.article_id.in_(bindparam("ids", expanding=True)))
    .order_by(ARTICLES.c.article_id)
    .with_for_update(of=ARTICLES)
)

_RANKED_BODIES = (
    select(
        CAPTURES.c.article_id,
        CAPTURES.c.fetched_at,
        CAPTURES.c.capture_id,
        CAPTURES.c.body_hash,
        func.row_number()
        .over(
            partition_by=CAPTURES.c.article_id,
            order_by=(CAPTURES.c.fetched_at.desc(), CAPTURES.c.capture_id.desc()),
        )
        .label("rank"),
    )
    .where(
        CAPTURES.c.article_id.in_(bindparam("ids", expanding=True)),
        CAPTURES.c.body_hash.is_not(None),
    )
    .subquery()
)
_LATEST_BODIES = select(
    _RANKED_BODIES.c.article_id,
    _RANKED_BODIES.c.fetched_at,
    _RANKED_BODIES.c.capture_id,
    _RANKED_BODIES.c.body_hash,
).where(_RANKED_BODIES.c.rank == 1)

_CAPTURE_VERSION = (
    select(VERSIONS.c.version_no)
    .where(
        VERSIONS.c.article_id == bindparam("article_id"),
        VERSIONS.c.first_seen_at <= bindparam("fetched_at"),
        VERSIONS.c.content_hash == bindparam("content_hash"),
    )
    .order_by(VERSIONS.c.version_no.desc())
    .limit(1)
)

_INSERT_CAPTURES_RETURNING = insert(CAPTURES).returning(
    CAPTURES.c.capture_id, sort_by_parameter_order=True
)
_INSERT_CAPTURES_NUMBERED = insert(CAPTURES)
_NEXT_CAPTURE_ID = select(func.coalesce(func.max(CAPTURES.c.capture_id), 0) + 1)
INSERT_ARTICLES = insert(ARTICLES)
# Article columns an ingest may change (all but the key, url and first_seen_at).
ARTICLE_CHANGES = (
    "section",
    "published_at",
    "last_checked_at",
    "last_changed_at",
    "current_version_no",
    "modified_at",
    "deleted_at",
    "next_check_at",
    "etag",
    "last_modified",
)
_INSERT_EVENTS = insert(Event.__table__)
_VERSION_CONTENT = select(
    *(VERSIONS.c[name] for name in (*CONTENT_FIELDS, "published_at", "modified_at"))
).where(
    VERSIONS.c.article_id == bindparam("article_id"),
    VERSIONS.c.version_no == bindparam("version_no"),
)
UPDATE_ARTICLES = update(ARTICLES).where(ARTICLES.c.article_id == bindparam("key"))
UPDATE_LAST_SEEN = update(VERSIONS).where(
    VERSIONS.c.article_id == bindparam("key_article"),
    VERSIONS.c.version_no == bindparam("key_number"),
)
_COUNT_DUPLICATES = (
    update(CrawlRun)
    .where(CrawlRun.crawl_run_id == bindparam("run"))
    .values(duplicate_count=CrawlRun.duplicate_count + bindparam("found"))
)


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    wanted = sorted(values)
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


def lock_urls(connection: Connection, urls: Iterable[str]) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_URLS, {"urls": sorted(set(urls))})


def insert_captures(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert capture rows in one statement; their new ids, in row order.

    SQLite cannot return a multi-row INSERT's ids in row order, so SQLAlchemy sends RETURNING
    with sort_by_parameter_order one row at a time there (a statement per page: ~15% of a
    batch's storage time). An SQLite writer holds the write lock (BEGIN IMMEDIATE) from its first
    statement, so it numbers the rows itself. Should another writer have slipped in (a session
    without BEGIN IMMEDIATE), the insert fails (a key clash, retried by ingest, or SQLite's stale-
    snapshot error) rather than overwrite a row.
    """
    if connection.dialect.name != "sqlite":
        return list(connection.execute(_INSERT_CAPTURES_RETURNING, rows).scalars())
    first = connection.execute(_NEXT_CAPTURE_ID).scalar_one()
    ids = list(range(first, first + len(rows)))
    connection.execute(
        _INSERT_CAPTURES_NUMBERED,
        [{**row, "capture_id": capture_id} for row, capture_id in zip(rows, ids, strict=True)],
    )
    return ids


def stored_captures(
    connection: Connection, keys: Iterable[tuple[str, datetime, str | None]]
) -> dict[tuple[str, datetime, str | None], tuple[int, str | None, str | None]]:
    """(url, fetched_at, body hash) -> (capture id, article id, error) of stored captures (the
    first stored, should there be two)."""
    keys = list(keys)
    found = {}
    for urls in chunks({url for url, _, _ in keys}):
        for times in chunks({fetched_at for _, fetched_at, _ in keys}):
            rows = connection.execute(_STORED_CAPTURES, {"urls": urls, "times": times})
            for capture_id, url, fetched_at, body_hash, article_id, error in rows:
                found[(url, fetched_at, body_hash)] = (capture_id, article_id, error)
    return found


def articles_with_current(connection: Connection, article_ids: Iterable[str]) -> list[RowMapping]:
    """Article rows with their current version's number, content hash, last_seen_at and
    last_capture_id (as current_no, current_hash, current_last_seen_at …), row-locked."""
    rows = []
    for ids in chunks(article_ids):
        rows += connection.execute(_ARTICLES_WITH_CURRENT, {"ids": ids}).mappings().all()
    return rows


def latest_bodies(connection: Connection, article_ids: Iterable[str]) -> Iterator[Any]:
    """(article id, fetched_at, capture id, body hash) of each article's latest capture with a
    body (by capture time, then storage order)."""
    for ids in chunks(article_ids):
        yield from connection.execute(_LATEST_BODIES, {"ids": ids})


def capture_version(
    connection: Connection, article_id: str, fetched_at: datetime, content_hash: str | None
) -> int | None:
    """The version a parsed capture belongs to: the latest one with its content that it saw."""
    return connection.scalar(
        _CAPTURE_VERSION,
        {"article_id": article_id, "fetched_at": fetched_at, "content_hash": content_hash},
    )


def capture_outcome(connection: Connection, capture_id: int) -> str:
    return connection.scalar(
        select(CAPTURES.c.outcome).where(CAPTURES.c.capture_id == capture_id)
    )


def count_duplicates(connection: Connection, crawl_run_id: int, found: int) -> None:
    # Only a duplicate is counted as it happens: it leaves no capture to count at the end.
    # An UPDATE … SET n = n + k, not read-modify-write: several processes may share a run.
    connection.execute(_COUNT_DUPLICATES, {"run": crawl_run_id, "found": found})


def insert_events(connection: Connection, rows: list[dict[str, Any]]) -> None:
    connection.execute(_INSERT_EVENTS, rows)


def version_content(connection: Connection, article_id: str, version_no: int) -> dict[str, Any]:
    """A stored version's record columns (what a new version is compared with)."""
    row = connection.execute(
        _VERSION_CONTENT, {"article_id": article_id, "version_no": version_no}
    ).mappings().one()
    return dict(row)


def capture_values(item: Any, crawl_run_id: int | None) -> dict[str, Any]:
    """A prepared page's capture row (a storage.ingest.transaction.PreparedPage), outcome to
    be set."""
    page, record = item.page, item.parsed.record
    return {
        "crawl_run_id": crawl_run_id,
        "url": page.url,
        "publisher": page.publisher,
        "article_id": item.article_id,
        "fetched_at": page.fetched_at,
        "status": page.status,
        "etag": _header(page.headers, "ETag"),
        "last_modified": _header(page.headers, "Last-Modified"),
        "content_type": _header(page.headers, "Content-Type"),
        "body_hash": item.body_hash,
        "fetch_error": page.fetch_error,
        "parse_error": item.parsed.error,
        "parser_version": record.parser_version if record else None,
        "content_hash": record.content_hash if record else None,
        "missing_fields": (",".join(missing_fields(record)) or None) if record else None,
        "is_gone": page.gone,
        "outcome": OUTCOME_FAILED,
    }


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None

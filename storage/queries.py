"""The read path: history, show, records for export; returns data, prints nothing
(storage.diff compares versions, storage.stats counts)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from storage.models import (
    EVENT_DELETED,
    EVENT_RESTORED,
    EVENT_TOUCHED,
    Article,
    Capture,
    Event,
    Version,
)

# Newsis prints its times in KST; records carry them so (RECORD.md), the database keeps UTC.
KST = timezone(timedelta(hours=9))

# The record's fields in RECORD.md order, then what the archive adds.
RECORD_FIELDS = (
    "source",
    "article_id",
    "url",
    "section",
    "headline",
    "subheadlines",
    "published_at",
    "modified_at",
    "dateline",
    "reporters",
    "captions",
    "body",
    "parser_version",
    "content_hash",
)
# deleted_at: when the publisher took the article down (null while it is live).
ARCHIVE_FIELDS = ("version", "first_seen_at", "last_seen_at", "deleted_at")
EXPORT_FIELDS = RECORD_FIELDS + ARCHIVE_FIELDS

class NotFound(LookupError):
    """An article or version the archive does not hold; str() is the one line to show."""


# --- times ---------------------------------------------------------------------------------------


def kst_iso(value: datetime | None) -> str | None:
    return value.astimezone(KST).isoformat() if value is not None else None


def utc_iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


# --- article ids ---------------------------------------------------------------------------------


def get_article(session: Session, article_id: str) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article {article_id} in the archive")
    return article


# --- history -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionSummary:
    version: int
    headline: str
    first_seen_at: datetime
    last_seen_at: datetime
    first_capture_id: int
    last_capture_id: int
    modified_at: datetime | None
    content_hash: str
    is_current: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("first_seen_at", "last_seen_at"):
            data[name] = utc_iso(data[name])
        data["modified_at"] = kst_iso(self.modified_at)
        return data


@dataclass(frozen=True, slots=True)
class ArticleEvent:
    """A deletion, restoration or touch of an article (versions list the other events)."""

    at: datetime
    kind: str
    version: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"at": utc_iso(self.at), "kind": self.kind, "version": self.version}


@dataclass(frozen=True, slots=True)
class History:
    article_id: str
    url: str
    first_seen_at: datetime
    last_checked_at: datetime
    current_version: int
    versions: list[VersionSummary]
    deleted_at: datetime | None = None
    events: list[ArticleEvent] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "url": self.url,
            "first_seen_at": utc_iso(self.first_seen_at),
            "last_checked_at": utc_iso(self.last_checked_at),
            "current_version": self.current_version,
            "deleted_at": utc_iso(self.deleted_at),
            "versions": [version.to_dict() for version in self.versions],
            "events": [event.to_dict() for event in self.events or []],
        }


def history(session: Session, article_id: str) -> History:
    """The versions of an article, oldest first, with when each was first and last seen; its
    deletions, restorations and touches in time order; when it is deleted, since when."""
    article = get_article(session, article_id)
    versions = session.scalars(
        select(Version).where(Version.article_id == article_id).order_by(Version.version_no)
    ).all()
    events = session.execute(
        select(Event.at, Event.kind, Event.version_no)
        .where(
            Event.article_id == article_id,
            Event.kind.in_((EVENT_DELETED, EVENT_RESTORED, EVENT_TOUCHED)),
        )
        .order_by(Event.at, Event.event_id)
    ).all()
    return History(
        deleted_at=article.deleted_at,
        events=[ArticleEvent(*event) for event in events],
        article_id=article.article_id,
        url=article.url,
        first_seen_at=article.first_seen_at,
        last_checked_at=article.last_checked_at,
        current_version=article.current_version_no,
        versions=[
            VersionSummary(
                version=version.version_no,
                headline=version.headline,
                first_seen_at=version.first_seen_at,
                last_seen_at=version.last_seen_at,
                first_capture_id=version.first_capture_id,
                last_capture_id=version.last_capture_id,
                modified_at=version.modified_at,
                content_hash=version.content_hash,
                is_current=version.version_no == article.current_version_no,
            )
            for version in versions
        ],
    )


# --- show ----------------------------------------------------------------------------------------


def version_record(
    version: Version | Row, url: str, deleted_at: datetime | None = None, *, publisher: str
) -> dict[str, Any]:
    """A stored version as its RECORD.md record plus `version`, `first_seen_at`, `last_seen_at`
    and `deleted_at`; `url`, `deleted_at` and `publisher` (its source) are its article's (the
    article row's).

    Times go back to KST as the page showed them; seen times are the archive's own, in UTC.
    """
    return {
        "source": publisher,
        "article_id": version.article_id,
        "url": url,
        "section": version.section,
        "headline": version.headline,
        "subheadlines": list(version.subheadlines),
        "published_at": kst_iso(version.published_at),
        "modified_at": kst_iso(version.modified_at),
        "dateline": version.dateline,
        "reporters": list(version.reporters),
        "captions": list(version.captions),
        "body": list(version.body),
        "parser_version": version.parser_version,
        "content_hash": version.content_hash,
        "version": version.version_no,
        "first_seen_at": utc_iso(version.first_seen_at),
        "last_seen_at": utc_iso(version.last_seen_at),
        "deleted_at": utc_iso(deleted_at),
    }


def show(session: Session, article_id: str, version_no: int | None = None) -> dict[str, Any]:
    """One version of an article as a record (the current one unless `version_no` is given)."""
    article = get_article(session, article_id)
    wanted = article.current_version_no if version_no is None else version_no
    version = session.scalar(
        select(Version).where(Version.article_id == article_id, Version.version_no == wanted)
    )
    if version is None:
        raise NotFound(
            f"article {article_id} has no version {wanted} "
            f"(versions 1..{article.current_version_no})"
        )
    return version_record(version, article.url, article.deleted_at, publisher=article.publisher)


# --- export --------------------------------------------------------------------------------------


def _records_statement(
    since: datetime | None, all_versions: bool, publishers: Collection[str] | None = None
):
    statement = select(
        *Version.__table__.columns, Article.url, Article.deleted_at, Article.publisher
    )
    joined = Article.article_id == Version.article_id
    if not all_versions:
        joined &= Article.current_version_no == Version.version_no
    statement = statement.join(Article, joined)
    if since is not None:
        statement = statement.where(Version.first_seen_at >= since)
    if publishers is not None:
        statement = statement.where(Article.publisher.in_(list(publishers)))
    return statement


def current_record(session: Session, article_id: str) -> dict[str, Any] | None:
    """The article's current version as `iter_records` (and so an export) gives it; None when
    the article has no version."""
    statement = _records_statement(None, all_versions=False).where(
        Version.article_id == article_id
    )
    row = session.execute(statement).first()
    if row is None:
        return None
    return version_record(row, row.url, row.deleted_at, publisher=row.publisher)


def count_records(
    session: Session,
    *,
    since: datetime | None = None,
    all_versions: bool = False,
    publishers: Collection[str] | None = None,
) -> int:
    """How many records iter_records gives for the same arguments."""
    records = _records_statement(since, all_versions, publishers).subquery()
    return session.scalar(select(func.count()).select_from(records)) or 0


def count_captures(
    session: Session,
    *,
    since: datetime | None = None,
    publishers: Collection[str] | None = None,
) -> int:
    """How many captures a WARC export writes: those with an HTTP response."""
    statement = select(func.count()).select_from(Capture).where(Capture.status.is_not(None))
    if since is not None:
        statement = statement.where(Capture.fetched_at >= since)
    if publishers is not None:
        statement = statement.where(Capture.publisher.in_(list(publishers)))
    return session.scalar(statement) or 0


def iter_records(
    session: Session,
    *,
    since: datetime | None = None,
    all_versions: bool = False,
    publishers: Collection[str] | None = None,
    batch_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Records (with version and seen times), streamed in batches, by article id then version.

    Without `all_versions`, each article's current version only. `since`: versions first seen
    at or after it (what is new or changed since an earlier export). `publishers`: only their
    articles (None: every publisher's).
    """
    statement = _records_statement(since, all_versions, publishers).order_by(
        Version.article_id, Version.version_no
    )
    # Plain rows, not ORM objects: nothing piles up in the session's identity map, and
    # yield_per streams (a server-side cursor on PostgreSQL).
    for row in session.execute(statement.execution_options(yield_per=batch_size)):
        yield version_record(row, row.url, row.deleted_at, publisher=row.publisher)

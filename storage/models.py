"""Typed models of the archive: crawl runs, captures and their bodies, articles, versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.db import NAMING_CONVENTION, HexDigest, UtcDateTime

# JSON on SQLite, JSONB on PostgreSQL (indexable, compact, compares by value).
JsonType = JSON().with_variant(JSONB(), "postgresql")
# sha256 digests: hex text on SQLite, 32 bytes on PostgreSQL (storage.db.HexDigest).
Hash = HexDigest()

# Values of Capture.outcome (and of IngestResult.outcome, which adds "duplicate").
OUTCOME_NEW_ARTICLE = "new_article"
OUTCOME_NEW_VERSION = "new_version"
OUTCOME_UNCHANGED = "unchanged"
OUTCOME_NOT_MODIFIED = "not_modified"
OUTCOME_FAILED = "failed"
# A capture on which the publisher says the article is taken down (FetchedPage.gone): DELETED
# when the article was live, GONE when it was deleted already (or never seen).
OUTCOME_DELETED = "deleted"
OUTCOME_GONE = "gone"
OUTCOME_DUPLICATE = "duplicate"

# Values of Event.kind, in the order a capture makes them.
EVENT_NEW_ARTICLE = "new_article"
EVENT_RESTORED = "restored"
EVENT_NEW_VERSION = "new_version"
EVENT_DELETED = "deleted"
EVENT_TOUCHED = "touched"
EVENT_KINDS = (EVENT_NEW_ARTICLE, EVENT_NEW_VERSION, EVENT_DELETED, EVENT_RESTORED, EVENT_TOUCHED)

# Values of Body.compression.
COMPRESSION_ZSTD = "zstd"  # standalone zstd frame
COMPRESSION_ZSTD_DELTA = "zstd-delta"  # zstd frame with the base body as raw-content dictionary
# zstd frame whose raw-content dictionary is the chrome source (base_hash) followed by the text
# base (text_base_hash): two bodies that are not pair deltas.
COMPRESSION_ZSTD_DELTA_PAIR = "zstd-delta-pair"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CrawlRun(Base):
    """One run of the crawler (or of an import): when, how it ended, what it found."""

    __tablename__ = "crawl_runs"

    crawl_run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="crawl")  # crawl / import
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # running / finished / failed / interrupted
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    new_article_count: Mapped[int] = mapped_column(Integer, default=0)
    new_version_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    not_modified_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    # Pages that parsed but lack a field nearly every article has: a sign of layout drift.
    missing_field_count: Mapped[int] = mapped_column(Integer, default=0)
    # Events of the run's captures (the table events).
    deleted_count: Mapped[int] = mapped_column(Integer, default=0)
    restored_count: Mapped[int] = mapped_column(Integer, default=0)
    touched_count: Mapped[int] = mapped_column(Integer, default=0)
    # The webhook delivery of the run's events: None (none asked), pending, delivered.
    notify_state: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    captures: Mapped[list[Capture]] = relationship(back_populates="crawl_run")


class Body(Base):
    """A raw response body, stored once per sha256, zstd-compressed.

    A delta body is compressed with its base body as dictionary; a base is always standalone.
    A pair delta (a re-fetch) is compressed with two bodies that are not pair deltas together as
    dictionary: base_hash, a recent page with the current chrome, and text_base_hash, an earlier
    body of the same article; so reading any body decompresses at most five frames.
    """

    __tablename__ = "bodies"

    body_hash: Mapped[str] = mapped_column(Hash, primary_key=True)
    compression: Mapped[str] = mapped_column(String(20))
    base_hash: Mapped[str | None] = mapped_column(Hash, ForeignKey("bodies.body_hash"), index=True)
    text_base_hash: Mapped[str | None] = mapped_column(Hash, ForeignKey("bodies.body_hash"))
    raw_size: Mapped[int] = mapped_column(Integer)
    stored_size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Capture(Base):
    """One fetch of one URL, kept whatever came back: the evidence versions are derived from."""

    __tablename__ = "captures"
    __table_args__ = (
        Index("ix_captures_url_fetched_at", "url", "fetched_at"),
        Index("ix_captures_article_id_fetched_at", "article_id", "fetched_at"),
    )

    capture_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.crawl_run_id"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    # The publisher whose site was fetched (a plug-in's name): a failed capture too.
    publisher: Mapped[str] = mapped_column(String(40))
    # The article the fetch was for (from the request or the URL), or the one the page turned
    # out to be. No foreign key: a capture that failed may precede any article row.
    article_id: Mapped[str | None] = mapped_column(String(32))
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[int | None] = mapped_column(Integer)  # None when the fetch itself failed
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    # Not indexed (migration 0006): nothing looks captures up by body, and the index of random
    # 64-character keys cost ~270 B of each re-fetch on PostgreSQL.
    body_hash: Mapped[str | None] = mapped_column(ForeignKey("bodies.body_hash"))
    fetch_error: Mapped[str | None] = mapped_column(Text)
    parse_error: Mapped[str | None] = mapped_column(Text)
    parser_version: Mapped[str | None] = mapped_column(String(40))
    content_hash: Mapped[str | None] = mapped_column(Hash)
    # Comma-separated record fields that came out empty although nearly every article has them.
    missing_fields: Mapped[str | None] = mapped_column(Text)
    # The publisher said the article is taken down (FetchedPage.gone): kept so that a reparse
    # re-derives deletions from captures alone.
    # A server default, not a Python one: the ORM leaves it out of rows that do not set it.
    is_gone: Mapped[bool] = mapped_column(Boolean, server_default=false())
    outcome: Mapped[str] = mapped_column(String(20))

    crawl_run: Mapped[CrawlRun | None] = relationship(back_populates="captures")
    body: Mapped[Body | None] = relationship()


class Article(Base):
    """One article of one publisher: where it lives, when it was seen, when to look again.

    Keyed by (publisher, article_id). article_id alone is unique too (the key of versions and
    events): publishers' id patterns do not overlap, and the write path refuses a page whose id
    an article of another publisher holds.
    """

    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("publisher", "article_id"),
        # A publisher's due revisits, the longest overdue first.
        Index("ix_articles_publisher_next_check_at", "publisher", "next_check_at"),
    )

    article_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The publisher plug-in's name ("newsis", "yonhap"): the record's source.
    publisher: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_checked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    current_version_no: Mapped[int] = mapped_column(Integer)
    # The 수정 time its page showed last (a touch moves it without a new version).
    modified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set while the publisher has it taken down; its last version stays readable.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # For conditional requests on the next revisit (If-None-Match / If-Modified-Since).
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)

    versions: Mapped[list[Version]] = relationship(
        back_populates="article", order_by="Version.version_no", cascade="all, delete-orphan"
    )


class Version(Base):
    """One distinct content of an article (RECORD.md § Versions), numbered 1..n by first sight."""

    __tablename__ = "versions"
    # Not unique on content_hash: an edit that is reverted brings old content back as a new number.
    __table_args__ = (UniqueConstraint("article_id", "version_no"),)

    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.article_id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    headline: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    modified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    section: Mapped[str | None] = mapped_column(Text)
    dateline: Mapped[str | None] = mapped_column(Text)
    subheadlines: Mapped[list[str]] = mapped_column(JsonType)
    reporters: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    captions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    body: Mapped[list[str]] = mapped_column(JsonType)
    content_hash: Mapped[str] = mapped_column(Hash, index=True)
    parser_version: Mapped[str] = mapped_column(String(40))
    first_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.capture_id"))
    last_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.capture_id"))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)

    article: Mapped[Article] = relationship(back_populates="versions")
    first_capture: Mapped[Capture] = relationship(foreign_keys=[first_capture_id])
    last_capture: Mapped[Capture] = relationship(foreign_keys=[last_capture_id])


class Event(Base):
    """One change seen on an article, made by one capture: new_article, new_version, deleted,
    restored or touched (storage.versioning derives them; reparse re-derives them)."""

    __tablename__ = "events"
    # A capture makes each kind at most once (a restoration with an edit: restored, new_version).
    __table_args__ = (
        UniqueConstraint("capture_id", "kind"),
        Index("ix_events_at_event_id", "at", "event_id"),
        # The latest events of one kind (the viewer's changes filtered by kind).
        Index("ix_events_kind_at_event_id", "kind", "at", "event_id"),
    )

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.article_id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime)  # the capture's time
    # The version it made (new_article, new_version) or concerns (the current one after it).
    version_no: Mapped[int | None] = mapped_column(Integer)
    # Comma-separated record fields a new_version changed (storage.diff.changed_fields).
    fields: Mapped[str | None] = mapped_column(Text)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.capture_id"))
    crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.crawl_run_id"), index=True
    )

"""Events (issue 18): every change seen on an article, deletions and touches included; revisits
that never stop.

Adds the events table, captures.is_gone (the crawler's word that the article was taken down, so
that reparse re-derives deletions from captures), articles.modified_at (the 수정 time last seen:
a touch moves it) and articles.deleted_at, the crawl runs' deleted / restored / touched counts
and their webhook delivery state. Existing archives get the events their versions stand for
(new_article, new_version with the fields it changed; touches appear after a reparse, which
reads the captures), each article the 수정 time of its current version, and every article whose
revisits had stopped (next_check_at NULL) a next check on the thinning schedule.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.versioning.REVISIT_POLICY and LATE_INTERVAL as of this revision (no storage imports).
REVISIT_POLICY = (
    (timedelta(hours=3), timedelta(minutes=15)),
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=7), timedelta(days=1)),
    (timedelta(days=30), timedelta(days=7)),
    (timedelta(days=365), timedelta(days=30)),
)
LATE_INTERVAL = timedelta(days=90)
# storage.diff.DIFF_FIELD_ORDER: the fields a new_version names.
DIFF_FIELDS = (
    "headline",
    "subheadlines",
    "section",
    "dateline",
    "published_at",
    "modified_at",
    "reporters",
    "captions",
    "body",
)
JSON_FIELDS = frozenset({"subheadlines", "reporters", "captions", "body"})
ROWS_PER_STEP = 1000
TIME = sa.DateTime(timezone=True)
_FIELD_TYPES = {
    name: sa.JSON if name in JSON_FIELDS else TIME if name.endswith("_at") else sa.Text
    for name in DIFF_FIELDS
}

_versions = sa.table(
    "versions",
    sa.column("version_id", sa.Integer),
    sa.column("article_id", sa.String),
    sa.column("version_no", sa.Integer),
    sa.column("first_capture_id", sa.Integer),
    *(sa.column(name, _type) for name, _type in _FIELD_TYPES.items()),
)
_articles = sa.table(
    "articles",
    sa.column("article_id", sa.String),
    sa.column("published_at", TIME),
    sa.column("last_checked_at", TIME),
    sa.column("next_check_at", TIME),
)


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(
            sa.Column("is_gone", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("modified_at", TIME, nullable=True))
        batch.add_column(sa.Column("deleted_at", TIME, nullable=True))
    with op.batch_alter_table("crawl_runs") as batch:
        for name in ("deleted_count", "restored_count", "touched_count"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("notify_state", sa.String(length=20), nullable=True))
    op.create_table(
        "events",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.article_id"], name="fk_events_article_id_articles"
        ),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.capture_id"], name="fk_events_capture_id_captures"
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"], ["crawl_runs.crawl_run_id"],
            name="fk_events_crawl_run_id_crawl_runs",
        ),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
        sa.UniqueConstraint("capture_id", "kind", name="uq_events_capture_id_kind"),
    )
    with op.batch_alter_table("events") as batch:
        batch.create_index("ix_events_article_id", ["article_id"])
        batch.create_index("ix_events_crawl_run_id", ["crawl_run_id"])
        batch.create_index("ix_events_at_event_id", ["at", "event_id"])
    _fill_events()
    op.execute(
        "UPDATE articles SET modified_at = (SELECT v.modified_at FROM versions v"
        " WHERE v.article_id = articles.article_id"
        " AND v.version_no = articles.current_version_no)"
    )
    _schedule_stopped_revisits()


def _fill_events() -> None:
    """new_article and new_version events from the versions, in time order; then each new
    version's changed fields, compared with the version before it."""
    op.execute(
        "INSERT INTO events (article_id, kind, at, version_no, fields, capture_id, crawl_run_id)"
        " SELECT v.article_id,"
        " CASE WHEN v.version_no = 1 THEN 'new_article' ELSE 'new_version' END,"
        " v.first_seen_at, v.version_no, NULL, v.first_capture_id, c.crawl_run_id"
        " FROM versions v JOIN captures c ON c.capture_id = v.first_capture_id"
        " ORDER BY v.first_seen_at, v.version_id"
    )
    bind = op.get_bind()
    previous = _versions.alias("previous")
    read = (
        sa.select(_versions, *(previous.c[name].label(f"old_{name}") for name in DIFF_FIELDS))
        .join(
            previous,
            sa.and_(
                previous.c.article_id == _versions.c.article_id,
                previous.c.version_no == _versions.c.version_no - 1,
            ),
        )
        .where(_versions.c.version_id > sa.bindparam("after"))
        .order_by(_versions.c.version_id)
        .limit(ROWS_PER_STEP)
    )
    write = sa.text(
        "UPDATE events SET fields = :fields WHERE capture_id = :capture AND kind = 'new_version'"
    )
    after = -1
    while rows := bind.execute(read, {"after": after}).mappings().all():
        updates = [
            {"fields": ",".join(_changed(row)), "capture": row["first_capture_id"]}
            for row in rows
        ]
        bind.execute(write, updates)
        after = rows[-1]["version_id"]


def _changed(row: Any) -> list[str]:
    """storage.diff.changed_fields of two versions: a field changed when its values differ (a
    list field when its items do)."""
    return [name for name in DIFF_FIELDS if row[f"old_{name}"] != row[name]]


def _schedule_stopped_revisits() -> None:
    bind = op.get_bind()
    stopped = sa.select(
        _articles.c.article_id, _articles.c.published_at, _articles.c.last_checked_at
    ).where(_articles.c.next_check_at.is_(None))
    write = (
        sa.update(_articles)
        .where(_articles.c.article_id == sa.bindparam("key"))
        .values(next_check_at=sa.bindparam("next_at"))
    )
    updates = [
        {"key": article_id, "next_at": _next_check_at(published_at, checked_at)}
        for article_id, published_at, checked_at in bind.execute(stopped)
    ]
    for start in range(0, len(updates), ROWS_PER_STEP):
        bind.execute(write, updates[start : start + ROWS_PER_STEP])


def _next_check_at(published_at: Any, checked_at: Any) -> Any:
    age = checked_at - (published_at or checked_at)
    for max_age, interval in REVISIT_POLICY:
        if age < max_age:
            return checked_at + interval
    return checked_at + LATE_INTERVAL


def downgrade() -> None:
    # Revisits scheduled past the first week stay scheduled: 0008's crawler fetches a due
    # article whatever its age.
    op.drop_table("events")
    with op.batch_alter_table("crawl_runs") as batch:
        for name in ("notify_state", "touched_count", "restored_count", "deleted_count"):
            batch.drop_column(name)
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("modified_at")
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("is_gone")

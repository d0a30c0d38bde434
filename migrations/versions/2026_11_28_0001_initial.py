"""Initial schema: crawl runs, bodies, captures, articles, versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 18:32:39.181359
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON on SQLite, JSONB on PostgreSQL, as storage.models.JsonType.
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("article_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("section", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_version_no", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_articles")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_articles_next_check_at"), ["next_check_at"], unique=False
        )

    op.create_table(
        "bodies",
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("compression", sa.String(length=20), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=True),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("stored_size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_hash"], ["bodies.body_hash"], name=op.f("fk_bodies_base_hash_bodies")
        ),
        sa.PrimaryKeyConstraint("body_hash", name=op.f("pk_bodies")),
    )
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bodies_base_hash"), ["base_hash"], unique=False)

    op.create_table(
        "crawl_runs",
        sa.Column("crawl_run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("new_article_count", sa.Integer(), nullable=False),
        sa.Column("new_version_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("not_modified_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("missing_field_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("crawl_run_id", name=op.f("pk_crawl_runs")),
    )
    op.create_table(
        "captures",
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.String(length=32), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("fetch_error", sa.Text(), nullable=True),
        sa.Column("parse_error", sa.Text(), nullable=True),
        sa.Column("parser_version", sa.String(length=40), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("missing_fields", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_hash"], ["bodies.body_hash"], name=op.f("fk_captures_body_hash_bodies")
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_runs.crawl_run_id"],
            name=op.f("fk_captures_crawl_run_id_crawl_runs"),
        ),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_captures")),
    )
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_captures_article_id_fetched_at", ["article_id", "fetched_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_captures_body_hash"), ["body_hash"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_captures_crawl_run_id"), ["crawl_run_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_captures_fetched_at"), ["fetched_at"], unique=False)
        batch_op.create_index("ix_captures_url_fetched_at", ["url", "fetched_at"], unique=False)

    op.create_table(
        "versions",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=32), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("section", sa.Text(), nullable=True),
        sa.Column("dateline", sa.Text(), nullable=True),
        sa.Column("subheadlines", JSON_TYPE, nullable=False),
        sa.Column("reporters", JSON_TYPE, nullable=False),
        sa.Column("captions", JSON_TYPE, nullable=False),
        sa.Column("body", JSON_TYPE, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("parser_version", sa.String(length=40), nullable=False),
        sa.Column("first_capture_id", sa.Integer(), nullable=False),
        sa.Column("last_capture_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.article_id"], name=op.f("fk_versions_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["first_capture_id"],
            ["captures.capture_id"],
            name=op.f("fk_versions_first_capture_id_captures"),
        ),
        sa.ForeignKeyConstraint(
            ["last_capture_id"],
            ["captures.capture_id"],
            name=op.f("fk_versions_last_capture_id_captures"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_versions")),
        sa.UniqueConstraint(
            "article_id", "version_no", name=op.f("uq_versions_article_id_version_no")
        ),
    )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_versions_article_id"), ["article_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_versions_content_hash"), ["content_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_versions_content_hash"))
        batch_op.drop_index(batch_op.f("ix_versions_article_id"))

    op.drop_table("versions")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index("ix_captures_url_fetched_at")
        batch_op.drop_index(batch_op.f("ix_captures_fetched_at"))
        batch_op.drop_index(batch_op.f("ix_captures_crawl_run_id"))
        batch_op.drop_index(batch_op.f("ix_captures_body_hash"))
        batch_op.drop_index("ix_captures_article_id_fetched_at")

    op.drop_table("captures")
    op.drop_table("crawl_runs")
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bodies_base_hash"))

    op.drop_table("bodies")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_next_check_at"))

    op.drop_table("articles")

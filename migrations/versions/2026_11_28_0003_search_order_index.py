"""Search order index: versions by (published_at, article_id), the order search results come in.

A search for a common word walks this index newest first and stops after the requested number
of articles, instead of collecting and sorting every matching version. Not in the models (like
the 0002 index, storage.search keeps it out of autogenerate).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Shared with storage/search.py (migrations do not import storage).
INDEX = "ix_versions_published_at_article_id"


def upgrade() -> None:
    op.execute(f"CREATE INDEX {INDEX} ON versions (published_at, article_id)")


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")

"""An index on versions.first_seen_at: the viewer's latest changes (and export --since) read the
newest versions first; without it every request sorted the whole table (bench/RESULTS.md §
Viewer).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.create_index("ix_versions_first_seen_at", ["first_seen_at"])


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_index("ix_versions_first_seen_at")

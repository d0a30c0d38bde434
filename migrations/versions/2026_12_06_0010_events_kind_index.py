"""An index on events (kind, at, event_id): the viewer's changes of one kind (and the Atom feed
of one kind) read the newest events of that kind first; with only (at, event_id) a rare kind
walked past every other event (bench/RESULTS.md § Viewer).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_index("ix_events_kind_at_event_id", ["kind", "at", "event_id"])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_kind_at_event_id")

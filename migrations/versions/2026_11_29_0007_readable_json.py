"""Readable JSON on SQLite: the versions' JSON columns hold Korean as itself, not as \\uXXXX
escapes (storage.db.readable_json, which new rows are written with).

SQLAlchemy's default JSON serializer escaped every non-ASCII character: six bytes for a Hangul
syllable of three in UTF-8, text no SQL user or Datasette reader could read, and a
`body LIKE '%경제%'` that found nothing. The rows already stored are written again the new way.
The search index is left as it is: its triggers read these columns through json_each, which
gives the same text for both forms, so the index's update trigger is set aside while the rows
are rewritten (it would delete and re-add every version's entry for nothing) and then restored
from its own stored definition. PostgreSQL stores JSONB, which keeps no text form: nothing to do.
Downgrading writes the escaped form again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:20:00
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Shared with storage/models.py (the versions' JSON columns) and migration 0004 (the trigger).
JSON_COLUMNS = ("subheadlines", "reporters", "captions", "body")
SEARCH_UPDATE_TRIGGER = "versions_search_update"
# Versions read and written at a time: an archive's JSON never sits in memory whole.
ROWS_PER_STEP = 1000


def _readable(value: Any) -> str:
    """storage.db.readable_json, as of this revision (migrations do not import storage)."""
    readable = json.dumps(value, ensure_ascii=False)
    try:
        readable.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return readable


def _rewrite(dumps: Callable[[Any], str]) -> None:
    """Every version's JSON columns parsed and written again with `dumps` (SQLite only)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    trigger_sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
        {"name": SEARCH_UPDATE_TRIGGER},
    ).scalar()
    if trigger_sql is not None:
        op.execute(f"DROP TRIGGER {SEARCH_UPDATE_TRIGGER}")
    columns = ", ".join(JSON_COLUMNS)
    read = sa.text(
        f"SELECT version_id, {columns} FROM versions WHERE version_id > :after"
        " ORDER BY version_id LIMIT :step"
    )
    write = sa.text(
        f"UPDATE versions SET {', '.join(f'{name} = :{name}' for name in JSON_COLUMNS)}"
        " WHERE version_id = :version_id"
    )
    after = -1
    while rows := bind.execute(read, {"after": after, "step": ROWS_PER_STEP}).all():
        changed = []
        for version_id, *stored in rows:
            again = [None if text is None else dumps(json.loads(text)) for text in stored]
            if again != stored:
                values = dict(zip(JSON_COLUMNS, again, strict=True))
                changed.append({"version_id": version_id, **values})
        if changed:
            bind.execute(write, changed)
        after = rows[-1][0]
    if trigger_sql is not None:
        op.execute(trigger_sql)


def upgrade() -> None:
    _rewrite(_readable)


def downgrade() -> None:
    _rewrite(json.dumps)

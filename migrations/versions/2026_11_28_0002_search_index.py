"""Search index: FTS5 trigram table kept by triggers (SQLite), pg_trgm GIN index (PostgreSQL).

Every version is indexed (not only the current one), so text an edit removed stays findable;
queries report the newest matching version of each article. The indexed text of a version is
its headline plus subheadlines, body paragraphs and caption texts, one per line.

SQLite: `versions_search` (rowid = versions.version_id) is filled by triggers on versions. A later
migration that rebuilds `versions` in batch mode drops these triggers with the old table and must
create them again (the SQL below).
PostgreSQL: a GIN trigram index on an immutable function of the version's columns; LIKE/ILIKE
on that same expression uses it. Downgrade keeps the pg_trgm extension: other schemas may use it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 19:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names shared with storage/search.py (migrations do not import storage: they must keep working
# when the code moves on).
SQLITE_TABLE = "versions_search"
PG_FUNCTION = "versions_search_text"
PG_INDEX = "ix_versions_search_trgm"

# One line per text; json_each decodes the \\uXXXX escapes SQLAlchemy writes into SQLite JSON.
_SQLITE_TEXT = """
    coalesce((SELECT group_concat(value, char(10)) FROM json_each({row}.subheadlines)), '')
    || char(10) || coalesce((SELECT group_concat(value, char(10)) FROM json_each({row}.body)), '')
    || char(10) || coalesce((SELECT group_concat(json_extract(value, '$.text'), char(10))
                             FROM json_each({row}.captions)), '')
"""


def _sqlite_insert(row: str) -> str:
    return (
        f"INSERT INTO {SQLITE_TABLE}(rowid, headline, text) "
        f"VALUES ({row}.version_id, {row}.headline, {_SQLITE_TEXT.format(row=row)});"
    )


def _upgrade_sqlite() -> None:
    op.execute(
        f"CREATE VIRTUAL TABLE {SQLITE_TABLE} USING fts5(headline, text, tokenize='trigram')"
    )
    op.execute(
        f"CREATE TRIGGER {SQLITE_TABLE}_insert AFTER INSERT ON versions BEGIN "
        f"{_sqlite_insert('NEW')} END"
    )
    op.execute(
        f"CREATE TRIGGER {SQLITE_TABLE}_delete AFTER DELETE ON versions BEGIN "
        f"DELETE FROM {SQLITE_TABLE} WHERE rowid = OLD.version_id; END"
    )
    # Only text columns: ingest updates last_seen_at on every unchanged fetch, and rewriting the
    # index row each time would cost more than the fetch.
    op.execute(
        f"CREATE TRIGGER {SQLITE_TABLE}_update "
        f"AFTER UPDATE OF version_id, headline, subheadlines, body, captions ON versions BEGIN "
        f"DELETE FROM {SQLITE_TABLE} WHERE rowid = OLD.version_id; {_sqlite_insert('NEW')} END"
    )
    # Backfill the versions stored before this revision.
    op.execute(
        f"INSERT INTO {SQLITE_TABLE}(rowid, headline, text) "
        f"SELECT v.version_id, v.headline, {_SQLITE_TEXT.format(row='v')} FROM versions AS v"
    )


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        f"""
        CREATE FUNCTION {PG_FUNCTION}(headline text, subheadlines jsonb, body jsonb, captions jsonb)
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT concat_ws(E'\\n', headline,
                (SELECT string_agg(item, E'\\n' ORDER BY n)
                 FROM jsonb_array_elements_text(subheadlines) WITH ORDINALITY AS t(item, n)),
                (SELECT string_agg(item, E'\\n' ORDER BY n)
                 FROM jsonb_array_elements_text(body) WITH ORDINALITY AS t(item, n)),
                (SELECT string_agg(caption ->> 'text', E'\\n' ORDER BY n)
                 FROM jsonb_array_elements(captions) WITH ORDINALITY AS t(caption, n)))
        $$
        """
    )
    # Building the index reads every existing row: that is the backfill on PostgreSQL.
    op.execute(
        f"CREATE INDEX {PG_INDEX} ON versions USING gin "
        f"({PG_FUNCTION}(headline, subheadlines, body, captions) gin_trgm_ops)"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {SQLITE_TABLE}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {SQLITE_TABLE}")
    else:
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}(text, jsonb, jsonb, jsonb)")

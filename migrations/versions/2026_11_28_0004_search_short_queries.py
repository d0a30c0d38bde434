"""Search index for 2-character queries, and a stored search text on PostgreSQL.

The trigram indexes of 0002 cannot answer a 2-character query ("경제", "AI"): it read every
version, slower as the archive grows.

SQLite: every indexed column of `versions_search` now ends with a line break, so every
occurrence of a 2-character string is the start of some trigram the FTS5 index holds;
`versions_search_instances` (fts5vocab, one row per trigram occurrence) finds those trigrams by a
range over its sorted terms. No extra write: the same FTS5 rows, one character longer. The
triggers of 0002 are replaced (they write the line break) and the index is rebuilt.

PostgreSQL: the version's search text, lower-cased, is stored (`versions.search_text`, a
generated column: computed once per written version, not on updates of other columns) instead
of being recomputed from the JSON columns on every index recheck; its pg_trgm GIN index replaces
0002's, and a GIN index on its distinct 2-character pairs (`versions_search_bigrams`) answers
2-character queries exactly. A pair is one int8 of its two code points (computing them took
~0.9 ms per 1,200 characters in a micro-benchmark, a third less than text pairs; bench_search.py
measures the whole write cost). Pairs with a space or line break are left out: a query never
holds one (it is stripped).

A later migration that rebuilds `versions` in batch mode on SQLite must create this revision's
triggers again (0002's would drop the line break).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names shared with storage/search.py and migration 0002 (migrations do not import storage).
SQLITE_TABLE = "versions_search"
SQLITE_VOCAB = "versions_search_instances"
PG_TEXT_FUNCTION = "versions_search_text"
PG_OLD_INDEX = "ix_versions_search_trgm"
PG_COLUMN = "search_text"
PG_TEXT_INDEX = "ix_versions_search_text_trgm"
PG_BIGRAM_FUNCTION = "versions_search_bigrams"
PG_BIGRAM_INDEX = "ix_versions_search_bigrams"
# A pair of characters as one int8: code point of the first * PAIR_BASE + code point of the second.
PAIR_BASE = 0x110000

# 0002's text of a version, one line per text (json_each decodes SQLAlchemy's \\uXXXX escapes).
_SQLITE_TEXT = """
    coalesce((SELECT group_concat(value, char(10)) FROM json_each({row}.subheadlines)), '')
    || char(10) || coalesce((SELECT group_concat(value, char(10)) FROM json_each({row}.body)), '')
    || char(10) || coalesce((SELECT group_concat(json_extract(value, '$.text'), char(10))
                             FROM json_each({row}.captions)), '')
"""


def _sqlite_values(row: str, end: str) -> str:
    return f"{row}.version_id, {row}.headline{end}, {_SQLITE_TEXT.format(row=row)}{end}"


def _sqlite_index(end: str) -> None:
    """Triggers writing each column followed by `end` (SQL), and every version indexed again."""
    for trigger in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {SQLITE_TABLE}_{trigger}")
    insert = f"INSERT INTO {SQLITE_TABLE}(rowid, headline, text) VALUES ({{values}});"
    op.execute(
        f"CREATE TRIGGER {SQLITE_TABLE}_insert AFTER INSERT ON versions BEGIN "
        f"{insert.format(values=_sqlite_values('NEW', end))} END"
    )
    # As in 0002: only text columns, so moving last_seen_at leaves the index alone.
    op.execute(
        f"CREATE TRIGGER {SQLITE_TABLE}_update "
        f"AFTER UPDATE OF version_id, headline, subheadlines, body, captions ON versions BEGIN "
        f"DELETE FROM {SQLITE_TABLE} WHERE rowid = OLD.version_id; "
        f"{insert.format(values=_sqlite_values('NEW', end))} END"
    )
    op.execute(f"DELETE FROM {SQLITE_TABLE}")
    op.execute(
        f"INSERT INTO {SQLITE_TABLE}(rowid, headline, text) "
        f"SELECT {_sqlite_values('v', end)} FROM versions AS v"
    )


def _upgrade_postgresql() -> None:
    op.execute(
        f"ALTER TABLE versions ADD COLUMN {PG_COLUMN} text GENERATED ALWAYS AS "
        f"(lower({PG_TEXT_FUNCTION}(headline, subheadlines, body, captions))) STORED"
    )
    op.execute(f"DROP INDEX IF EXISTS {PG_OLD_INDEX}")
    op.execute(f"CREATE INDEX {PG_TEXT_INDEX} ON versions USING gin ({PG_COLUMN} gin_trgm_ops)")
    op.execute(
        f"""
        CREATE FUNCTION {PG_BIGRAM_FUNCTION}(search_text text)
        RETURNS int8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT ascii(first) * {PAIR_BASE}::int8 + ascii(second)),
                            '{{}}')
            FROM unnest(string_to_array(search_text, NULL),
                        string_to_array(substr(search_text, 2), NULL)) AS pairs(first, second)
            WHERE second IS NOT NULL AND first NOT IN (' ', E'\\n') AND second NOT IN (' ', E'\\n')
        $$ COST 10000
        """
    )
    op.execute(
        f"CREATE INDEX {PG_BIGRAM_INDEX} ON versions USING gin "
        f"({PG_BIGRAM_FUNCTION}({PG_COLUMN}))"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_index("|| char(10)")
        op.execute(
            f"CREATE VIRTUAL TABLE {SQLITE_VOCAB} USING fts5vocab({SQLITE_TABLE}, instance)"
        )
    else:
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE IF EXISTS {SQLITE_VOCAB}")
        _sqlite_index("")
    else:
        op.execute(f"DROP INDEX IF EXISTS {PG_BIGRAM_INDEX}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_BIGRAM_FUNCTION}(text)")
        op.execute(f"DROP INDEX IF EXISTS {PG_TEXT_INDEX}")
        op.execute(f"ALTER TABLE versions DROP COLUMN IF EXISTS {PG_COLUMN}")
        op.execute(
            f"CREATE INDEX {PG_OLD_INDEX} ON versions USING gin "
            f"({PG_TEXT_FUNCTION}(headline, subheadlines, body, captions) gin_trgm_ops)"
        )

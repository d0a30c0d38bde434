"""Korean substring search over every version: FTS5 trigram on SQLite, pg_trgm on PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, func, literal_column, or_
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Version

# The objects of migration 0002 (names repeated there: migrations do not import storage).
SQLITE_SEARCH_TABLE = "versions_search"
# FTS5 keeps its index in these shadow tables next to the virtual table.
SQLITE_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
PG_SEARCH_FUNCTION = "versions_search_text"
PG_SEARCH_INDEX = "ix_versions_search_trgm"

# The trigram tokenizer (and pg_trgm) index 3-character windows: shorter queries cannot use them.
MIN_INDEXED_CHARS = 3
LIKE_ESCAPE = "\\"

# Not a model: its own MetaData keeps it out of Base.metadata and out of autogenerate.
search_table = Table(
    SQLITE_SEARCH_TABLE,
    MetaData(),
    Column("rowid", Integer, primary_key=True),
    Column("headline", Text),
    Column("text", Text),
)

_SEARCH_OBJECT_NAMES = frozenset(
    {SQLITE_SEARCH_TABLE, PG_SEARCH_INDEX}
    | {SQLITE_SEARCH_TABLE + suffix for suffix in SQLITE_SHADOW_SUFFIXES}
)


def include_in_autogenerate(obj: Any, name: str | None, type_: str, reflected: bool, compare_to):
    """Alembic `include_object`: skip the search index, which lives in migrations, not models."""
    return name not in _SEARCH_OBJECT_NAMES


def normalize_query(text: str) -> str:
    """The query as stored text looks: control characters dropped, white space collapsed."""
    text = "".join(char if char.isprintable() or char.isspace() else "" for char in text)
    return " ".join(text.split())


def fts5_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: quotes doubled, so AND/OR/NEAR/*/( are plain characters."""
    return '"' + text.replace('"', '""') + '"'


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with %, _ and the escape character literal."""
    escaped = re.sub(r"([\\%_])", r"\\\1", text)
    return f"%{escaped}%"


def pg_search_text() -> ColumnElement[str]:
    """The indexed expression of migration 0002: must match it exactly for the index to apply."""
    return getattr(func, PG_SEARCH_FUNCTION)(
        Version.headline, Version.subheadlines, Version.body, Version.captions
    )


def match_condition(dialect_name: str, query: str) -> tuple[ColumnElement[bool], bool]:
    """The WHERE condition for `query` (normalized) and whether it needs the FTS table joined.

    On SQLite the condition is on `search_table` joined on rowid = version_id.
    """
    if dialect_name == "sqlite":
        if len(query) >= MIN_INDEXED_CHARS:
            return literal_column(SQLITE_SEARCH_TABLE).op("MATCH")(fts5_phrase(query)), True
        pattern = like_pattern(query)
        return (
            or_(
                search_table.c.headline.like(pattern, escape=LIKE_ESCAPE),
                search_table.c.text.like(pattern, escape=LIKE_ESCAPE),
            ),
            True,
        )
    # ILIKE: case-insensitive like FTS5's trigram tokenizer; pg_trgm's GIN index serves both.
    return pg_search_text().ilike(like_pattern(query), escape=LIKE_ESCAPE), False

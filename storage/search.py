"""Korean substring search over every version: FTS5 trigram on SQLite, pg_trgm on PostgreSQL."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Article, Version

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


# --- the search ----------------------------------------------------------------------------------

SNIPPET_CONTEXT_CHARS = 40


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One article whose text matched: the newest version of it that matches the query."""

    article_id: str
    version: int
    current_version: int
    published_at: datetime
    section: str | None
    headline: str
    reporters: list[str]
    snippet: str


def search(
    session: Session,
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    section: str | None = None,
    reporter: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Articles whose headline or text holds `query` (a literal substring), newest published first.

    Every version is searched; filters apply to the matching version. `until` is exclusive.
    An empty query (after collapsing white space) raises ValueError.
    """
    query = normalize_query(query)
    if not query:
        raise ValueError("the search text is empty")
    dialect_name = session.get_bind().dialect.name
    condition, joins_fts = match_condition(dialect_name, query)
    matched = select(Version.article_id, func.max(Version.version_no).label("version_no"))
    if joins_fts:
        matched = matched.join(search_table, search_table.c.rowid == Version.version_id)
    matched = matched.where(condition)
    if since is not None:
        matched = matched.where(Version.published_at >= since)
    if until is not None:
        matched = matched.where(Version.published_at < until)
    if section is not None:
        matched = matched.where(Version.section == section)
    if reporter is not None:
        matched = matched.where(_has_reporter(dialect_name, reporter))
    hits = matched.group_by(Version.article_id).subquery()
    statement = (
        select(Version, Article.current_version_no)
        .join(
            hits,
            (Version.article_id == hits.c.article_id) & (Version.version_no == hits.c.version_no),
        )
        .join(Article, Article.article_id == Version.article_id)
        .order_by(Version.published_at.desc(), Version.article_id.desc())
        .limit(limit)
    )
    return [
        SearchHit(
            article_id=version.article_id,
            version=version.version_no,
            current_version=current,
            published_at=version.published_at,
            section=version.section,
            headline=version.headline,
            reporters=[reporter["name"] for reporter in version.reporters],
            snippet=snippet(version, query),
        )
        for version, current in session.execute(statement)
    ]


def _has_reporter(dialect_name: str, name: str) -> ColumnElement[bool]:
    if dialect_name == "sqlite":
        return text(
            "EXISTS (SELECT 1 FROM json_each(versions.reporters) AS reporter "
            "WHERE json_extract(reporter.value, '$.name') = :reporter_name)"
        ).bindparams(reporter_name=name)
    return text("versions.reporters @> CAST(:reporter_json AS jsonb)").bindparams(
        reporter_json=json.dumps([{"name": name}], ensure_ascii=False)
    )


def snippet(version: Version, query: str) -> str:
    """The first indexed text holding `query`, cut to some context around the match."""
    texts = [
        version.headline,
        *version.subheadlines,
        *version.body,
        *(caption.get("text") or "" for caption in version.captions),
    ]
    needle = query.casefold()
    for candidate in texts:
        position = candidate.casefold().find(needle)
        if position < 0:
            continue
        start = max(position - SNIPPET_CONTEXT_CHARS, 0)
        end = position + len(query) + SNIPPET_CONTEXT_CHARS
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(candidate) else ""
        return prefix + candidate[start:end] + suffix
    return version.headline

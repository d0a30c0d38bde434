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
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.db import UtcDateTime
from storage.models import Article, Version

# The objects of migration 0002 (names repeated there: migrations do not import storage).
SQLITE_SEARCH_TABLE = "versions_search"
# FTS5 keeps its index in these shadow tables next to the virtual table.
SQLITE_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
# Where FTS5 keeps the indexed text (id = rowid, c0 = headline, c1 = text): a LIKE over it skips
# the virtual-table layer, a quarter faster than the same LIKE through versions_search.
SQLITE_CONTENT_TABLE = SQLITE_SEARCH_TABLE + "_content"
PG_SEARCH_FUNCTION = "versions_search_text"
PG_SEARCH_INDEX = "ix_versions_search_trgm"
# Migration 0003: versions in result order, walked newest first for common words.
ORDER_INDEX = "ix_versions_published_at_article_id"

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
    {SQLITE_SEARCH_TABLE, PG_SEARCH_INDEX, ORDER_INDEX}
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
    filters = _Filters(since, until, section, reporter)
    if dialect_name == "sqlite":
        rows = _sqlite_hits(session, query, filters, limit)
    else:
        rows = _grouped_hits(session, dialect_name, query, filters, limit)
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
        for version, current in rows
    ]


@dataclass(frozen=True, slots=True)
class _Filters:
    since: datetime | None
    until: datetime | None
    section: str | None
    reporter: str | None


# SQLite: when the FTS index holds at least this many matches, walking versions newest first
# (ORDER_INDEX) reaches `limit` articles after about limit * versions / matches rows, cheaper than
# sorting every match; below it, sorting the few matches is cheaper than a long walk.
WALK_FROM_MATCHES = 400


def _sqlite_hits(
    session: Session, query: str, filters: _Filters, limit: int
) -> list[tuple[Version, int]]:
    """Newest matching version per article, newest first, in one statement SQLite can stop early.

    A version is a hit when it matches, passes the filters, and no later version of the same
    article does both (the same result as grouping by article, without grouping every match).
    """
    params: dict[str, Any] = {"limit": limit}
    if len(query) >= MIN_INDEXED_CHARS:
        params["phrase"] = fts5_phrase(query)
        matched = "SELECT rowid FROM versions_search WHERE versions_search MATCH :phrase"
        matching = "{alias}.version_id IN matched"
        counted = session.execute(
            text(
                "SELECT count(*) FROM (SELECT rowid FROM versions_search "
                "WHERE versions_search MATCH :phrase LIMIT :cap)"
            ),
            {"phrase": params["phrase"], "cap": WALK_FROM_MATCHES},
        ).scalar_one()
        plan = "walk" if counted >= WALK_FROM_MATCHES else "sort"
        ids = _sqlite_ranked_ids(session, matching, plan, filters, params, matched)
    else:
        # Too short for the trigram index: a LIKE test per version. First over the newest
        # LIKE_WINDOW versions only (a common word fills the page there); failing that, one
        # LIKE scan of every version, whose few matches are then sorted.
        params["pattern"] = like_pattern(query)
        tested = "(indexed.c0 LIKE :pattern ESCAPE '\\' OR indexed.c1 LIKE :pattern ESCAPE '\\')"
        matching = (
            f"EXISTS (SELECT 1 FROM {SQLITE_CONTENT_TABLE} AS indexed "
            f"WHERE indexed.id = {{alias}}.version_id AND {tested})"
        )
        # Stored text, compared as stored: no type conversion on the way back in.
        window_start = session.execute(
            text(
                f"SELECT published_at FROM versions INDEXED BY {ORDER_INDEX} "
                "ORDER BY published_at DESC, article_id DESC LIMIT 1 OFFSET :window"
            ),
            {"window": LIKE_WINDOW},
        ).scalar()
        if window_start is None:  # a small archive: one walk over everything
            return _sqlite_load(
                session, _sqlite_ranked_ids(session, matching, "walk", filters, params)
            )
        params["window_start"] = window_start
        ids = _sqlite_ranked_ids(session, matching, "window", filters, params)
        if len(ids) < limit:
            del params["window_start"]
            matched = f"SELECT indexed.id FROM {SQLITE_CONTENT_TABLE} AS indexed WHERE {tested}"
            matching = "{alias}.version_id IN matched"
            ids = _sqlite_ranked_ids(session, matching, "sort", filters, params, matched)
    return _sqlite_load(session, ids)


def _sqlite_load(session: Session, ids: list[int]) -> list[tuple[Version, int]]:
    """The versions `ids` (in that order) with their article's current version number."""
    if not ids:
        return []
    loaded = {
        version.version_id: (version, current)
        for version, current in session.execute(
            select(Version, Article.current_version_no)
            .join(Article, Article.article_id == Version.article_id)
            .where(Version.version_id.in_(ids))
        )
    }
    return [loaded[version_id] for version_id in ids]


# 2-character queries look for a page of hits among this many newest versions before scanning all.
LIKE_WINDOW = 5000


def _sqlite_ranked_ids(
    session: Session,
    matching: str,
    plan: str,
    filters: _Filters,
    params: dict[str, Any],
    matched: str | None = None,
) -> list[int]:
    """Ids of the hits, newest first: `matching` is an SQL condition on "{alias}".

    plan "walk": along ORDER_INDEX, stopping at the limit; "window": the same, stopping at
    params["window_start"] too; "sort": every match, then sorted (few matches). `matched`, a
    SELECT of matching rowids, becomes the table "matched" that `matching` may use.
    """
    conditions = [
        matching.format(alias="hit"),
        *_sqlite_filters("hit", filters, params),
        "NOT EXISTS (SELECT 1 FROM versions AS newer WHERE newer.article_id = hit.article_id "
        "AND newer.version_no > hit.version_no AND "
        + " AND ".join([matching.format(alias="newer"), *_sqlite_filters("newer", filters, {})])
        + ")",
    ]
    if plan == "walk":
        # `+` keeps the IN off the rowid so the walk over ORDER_INDEX is the plan.
        conditions[0] = conditions[0].replace("hit.version_id IN", "+hit.version_id IN", 1)
        source = f"versions AS hit INDEXED BY {ORDER_INDEX}"
    elif plan == "window":
        # The walk, ending at the LIKE_WINDOW-th newest version.
        conditions.append("hit.published_at >= :window_start")
        source = f"versions AS hit INDEXED BY {ORDER_INDEX}"
    else:
        source = "versions AS hit NOT INDEXED"
    # The matches are computed once, for the hit and for its newer versions alike.
    prefix = f"WITH matched(rowid) AS MATERIALIZED ({matched}) " if matched else ""
    statement = text(
        f"{prefix}SELECT hit.version_id FROM {source} WHERE {' AND '.join(conditions)} "
        "ORDER BY hit.published_at DESC, hit.article_id DESC LIMIT :limit"
    )
    # Times as UtcDateTime stores them, so the text comparison SQLite makes orders correctly.
    statement = statement.bindparams(
        *(bindparam(name, type_=UtcDateTime()) for name in ("since", "until") if name in params)
    )
    return list(session.execute(statement, params).scalars())


def _sqlite_filters(alias: str, filters: _Filters, params: dict[str, Any]) -> list[str]:
    """SQL conditions on `alias` for the filters; their values go into `params`."""
    conditions = []
    if filters.since is not None:
        params["since"] = filters.since
        conditions.append(f"{alias}.published_at >= :since")
    if filters.until is not None:
        params["until"] = filters.until
        conditions.append(f"{alias}.published_at < :until")
    if filters.section is not None:
        params["section"] = filters.section
        conditions.append(f"{alias}.section = :section")
    if filters.reporter is not None:
        params["reporter_name"] = filters.reporter
        conditions.append(
            f"EXISTS (SELECT 1 FROM json_each({alias}.reporters) AS reporter "
            "WHERE json_extract(reporter.value, '$.name') = :reporter_name)"
        )
    return conditions


def _grouped_hits(
    session: Session, dialect_name: str, query: str, filters: _Filters, limit: int
) -> list[tuple[Version, int]]:
    """Newest matching version per article by grouping every match (PostgreSQL)."""
    condition, joins_fts = match_condition(dialect_name, query)
    matched = select(Version.article_id, func.max(Version.version_no).label("version_no"))
    if joins_fts:
        matched = matched.join(search_table, search_table.c.rowid == Version.version_id)
    matched = matched.where(condition)
    if filters.since is not None:
        matched = matched.where(Version.published_at >= filters.since)
    if filters.until is not None:
        matched = matched.where(Version.published_at < filters.until)
    if filters.section is not None:
        matched = matched.where(Version.section == filters.section)
    if filters.reporter is not None:
        matched = matched.where(_has_reporter(dialect_name, filters.reporter))
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
    return [(version, current) for version, current in session.execute(statement)]


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

"""PostgreSQL search plans: pg_trgm and character-pair GIN indexes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.search.index import (
    MIN_INDEXED_CHARS,
    PAIR_BASE,
    PAIR_CHARS,
    PG_BIGRAM_FUNCTION,
    PG_SEARCH_COLUMN,
    Filters,
    like_pattern,
)

# When an index holds at least this many candidates, walking versions newest first (migration
# 0003's index) reaches `limit` articles after about limit * versions / matches rows, cheaper
# than fetching and sorting every candidate; below it, the few candidates are sorted.
WALK_FROM_MATCHES = 400

# The exact test, on the stored lower-cased text (migration 0004): a plain substring test that no
# index serves, so the planner walks the order index for it instead of reading every candidate.
_HOLDS = f"strpos({{alias}}.{PG_SEARCH_COLUMN}, lower(:{{name}})) > 0"


def postgres_hit_ids(session: Session, terms: list[str], filters: Filters, limit: int) -> list[int]:
    """Version ids of the hits (newest matching version per article), newest first.

    As on SQLite: a hit holds every term, passes the filters, and no later version of its
    article does. The longest term picks the candidates from its index; all are tested exactly.
    """
    query = max(terms, key=len)
    params: dict[str, Any] = {"query": query, "limit": limit}
    params.update({f"term_{number}": term for number, term in enumerate(terms)})
    if len(query) >= MIN_INDEXED_CHARS:
        # pg_trgm's GIN index on the stored text serves LIKE (ILIKE's result: both sides lowered).
        params["pattern"] = like_pattern(query)
        indexed = f"candidate.{PG_SEARCH_COLUMN} LIKE lower(:pattern)"
    elif len(query) == PAIR_CHARS:
        # The pair index is exact for 2 characters: no recheck of the text.
        indexed = (
            f"{PG_BIGRAM_FUNCTION}(candidate.{PG_SEARCH_COLUMN}) @> ARRAY[ascii(lower(:query)) "
            f"* {PAIR_BASE}::int8 + ascii(substr(lower(:query), 2))]"
        )
    else:
        # No index holds single characters; they are common, so the walk ends early.
        return _walk(session, filters, params)
    counted = session.execute(
        text(
            f"SELECT count(*) FROM (SELECT 1 FROM versions AS candidate WHERE {indexed} "
            "LIMIT :cap) AS capped"
        ),
        {**params, "cap": WALK_FROM_MATCHES},
    ).scalar_one()
    if counted >= WALK_FROM_MATCHES:
        return _walk(session, filters, params)
    return _sorted(session, indexed, filters, params)


def _walk(session: Session, filters: Filters, params: dict[str, Any]) -> list[int]:
    """Versions newest first along the order index, tested one by one, up to the limit."""
    statement = (
        f"SELECT hit.version_id FROM versions AS hit WHERE {_hit_conditions(filters, params)} "
        "ORDER BY hit.published_at DESC, hit.article_id DESC LIMIT :limit"
    )
    return list(session.execute(text(statement), params).scalars())


def _sorted(
    session: Session, indexed: str, filters: Filters, params: dict[str, Any]
) -> list[int]:
    """The index's few candidates, fetched first (a fence the planner keeps), tested, sorted."""
    statement = (
        "WITH candidates AS MATERIALIZED ("
        f"SELECT candidate.version_id FROM versions AS candidate WHERE {indexed}) "
        "SELECT hit.version_id FROM candidates JOIN versions AS hit USING (version_id) "
        f"WHERE {_hit_conditions(filters, params)} "
        "ORDER BY hit.published_at DESC, hit.article_id DESC LIMIT :limit"
    )
    return list(session.execute(text(statement), params).scalars())


def _hit_conditions(filters: Filters, params: dict[str, Any]) -> str:
    """`hit` holds the query, passes the filters, and no newer version of its article does both."""
    tested = [*_holds("hit", params), *_filter_conditions("hit", filters, params)]
    newer = [
        "newer.article_id = hit.article_id",
        "newer.version_no > hit.version_no",
        *_holds("newer", params),
        *_filter_conditions("newer", filters, params),
    ]
    tested.append(f"NOT EXISTS (SELECT 1 FROM versions AS newer WHERE {' AND '.join(newer)})")
    return " AND ".join(tested)


def _holds(alias: str, params: dict[str, Any]) -> list[str]:
    """The exact test of every term (params term_0, term_1, …) on `alias`."""
    names = sorted(name for name in params if name.startswith("term_"))
    return [_HOLDS.format(alias=alias, name=name) for name in names]


def _filter_conditions(alias: str, filters: Filters, params: dict[str, Any]) -> list[str]:
    return filters.conditions(alias, params, _reporter_condition)


def _reporter_condition(alias: str, name: str, params: dict[str, Any]) -> str:
    params["reporter_json"] = json.dumps([{"name": name}], ensure_ascii=False)
    return f"{alias}.reporters @> CAST(:reporter_json AS jsonb)"

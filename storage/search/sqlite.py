"""SQLite search plans: FTS5 trigram matches (2 characters through its term list), newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from storage.db import UtcDateTime
from storage.search.index import (
    MIN_INDEXED_CHARS,
    ORDER_INDEX,
    PAIR_CHARS,
    SQLITE_CONTENT_TABLE,
    SQLITE_VOCAB_TABLE,
    Filters,
    fts5_fold,
    fts5_phrase,
    like_pattern,
)

# When the index holds at least this many matches, walking versions newest first (ORDER_INDEX)
# reaches `limit` articles after about limit * versions / matches rows, cheaper than sorting
# every match; below it, sorting the few matches is cheaper than a long walk.
WALK_FROM_MATCHES = 400
# 1-character queries look for a page of hits among this many newest versions before scanning all.
LIKE_WINDOW = 5000
# Above every code point: the end of the term range of a 2-character prefix.
_LAST_CHAR = "\U0010ffff"


def sqlite_hit_ids(session: Session, terms: list[str], filters: Filters, limit: int) -> list[int]:
    """Version ids of the hits (newest matching version per article), newest first.

    A version matches when it holds every term. A version is a hit when it matches, passes the
    filters, and no later version of the same article does both (the same result as grouping by
    article, without grouping every match).
    """
    params: dict[str, Any] = {"limit": limit}
    indexed = [term for term in terms if len(term) >= PAIR_CHARS]
    if not indexed:
        return _one_character_ids(session, terms, filters, params)
    matched = " INTERSECT ".join(_indexed_matches(indexed, params))
    singles = [term for term in terms if len(term) < PAIR_CHARS]
    if singles:
        # No index holds single characters: tested on the versions the other terms matched.
        matched = (
            f"SELECT indexed.id FROM {SQLITE_CONTENT_TABLE} AS indexed "
            f"WHERE indexed.id IN ({matched}) AND {_like_tests(singles, params)}"
        )
    counted = session.execute(
        text(f"SELECT count(*) FROM ({matched} LIMIT :cap)"),
        {**params, "cap": WALK_FROM_MATCHES},
    ).scalar_one()
    plan = "walk" if counted >= WALK_FROM_MATCHES else "sort"
    return _ranked_ids(session, "{alias}.version_id IN matched", plan, filters, params, matched)


def _indexed_matches(terms: list[str], params: dict[str, Any]) -> list[str]:
    """One SELECT of matching rowids per index lookup: the 3+ character terms as one FTS5 query
    (phrases joined by AND), each 2-character term through the term list."""
    selects = []
    phrases = [fts5_phrase(term) for term in terms if len(term) >= MIN_INDEXED_CHARS]
    if phrases:
        params["phrase"] = " AND ".join(phrases)
        selects.append("SELECT rowid FROM versions_search WHERE versions_search MATCH :phrase")
    pairs = [term for term in terms if len(term) == PAIR_CHARS]
    for number, term in enumerate(pairs):
        # Every indexed column ends with a line break (migration 0004), so each occurrence of a
        # 2-character string starts a trigram: the versions holding a term in its prefix range.
        params[f"term_from_{number}"] = fts5_fold(term)
        params[f"term_to_{number}"] = fts5_fold(term) + _LAST_CHAR
        selects.append(
            f"SELECT DISTINCT doc FROM {SQLITE_VOCAB_TABLE} "
            f"WHERE term >= :term_from_{number} AND term <= :term_to_{number}"
        )
    return selects


def _like_tests(terms: list[str], params: dict[str, Any]) -> str:
    """An SQL test on `indexed` (the FTS5 content row) that it holds every one of `terms`."""
    tests = []
    for number, term in enumerate(terms):
        params[f"pattern_{number}"] = like_pattern(term)
        tests.append(
            f"(indexed.c0 LIKE :pattern_{number} ESCAPE '\\' "
            f"OR indexed.c1 LIKE :pattern_{number} ESCAPE '\\')"
        )
    return "(" + " AND ".join(tests) + ")"


def _one_character_ids(
    session: Session, terms: list[str], filters: Filters, params: dict[str, Any]
) -> list[int]:
    """No index holds single characters: a LIKE test per version, over the newest LIKE_WINDOW
    versions first (a common character fills the page there), failing that over every version."""
    tested = _like_tests(terms, params)
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
        return _ranked_ids(session, matching, "walk", filters, params)
    params["window_start"] = window_start
    ids = _ranked_ids(session, matching, "window", filters, params)
    if len(ids) < params["limit"]:
        del params["window_start"]
        matched = f"SELECT indexed.id FROM {SQLITE_CONTENT_TABLE} AS indexed WHERE {tested}"
        in_matched = "{alias}.version_id IN matched"
        ids = _ranked_ids(session, in_matched, "sort", filters, params, matched)
    return ids


def _ranked_ids(
    session: Session,
    matching: str,
    plan: str,
    filters: Filters,
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
        *_filter_conditions("hit", filters, params),
        "NOT EXISTS (SELECT 1 FROM versions AS newer WHERE newer.article_id = hit.article_id "
        "AND newer.version_no > hit.version_no AND "
        + " AND ".join([matching.format(alias="newer"), *_filter_conditions("newer", filters, {})])
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


def _filter_conditions(alias: str, filters: Filters, params: dict[str, Any]) -> list[str]:
    return filters.conditions(alias, params, _reporter_condition)


def _reporter_condition(alias: str, name: str, params: dict[str, Any]) -> str:
    params["reporter_name"] = name
    return (
        f"EXISTS (SELECT 1 FROM json_each({alias}.reporters) AS reporter "
        "WHERE json_extract(reporter.value, '$.name') = :reporter_name)"
    )

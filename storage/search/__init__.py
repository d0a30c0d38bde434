"""Korean substring search over every version: FTS5 trigram on SQLite, pg_trgm on PostgreSQL.

The plans live in storage.search.sqlite and storage.search.postgres; the index objects they
read are made by migrations 0002-0004 (names in storage.search.index).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Article, Version
from storage.search.index import (
    Filters,
    fts5_phrase,
    include_in_autogenerate,
    like_pattern,
    normalize_query,
)
from storage.search.postgres import postgres_hit_ids
from storage.search.sqlite import sqlite_hit_ids

__all__ = [
    "SearchHit",
    "fts5_phrase",
    "include_in_autogenerate",
    "like_pattern",
    "normalize_query",
    "search",
    "search_terms",
    "snippet",
]

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
    deleted_at: datetime | None = None  # the article is taken down (its versions stay)


def search_terms(query: str | Sequence[str]) -> list[str]:
    """The terms a version must all hold: a string is one term (a phrase, spaces and all); each
    item of a sequence is one. White space collapsed, empty terms and repeats dropped."""
    texts = [query] if isinstance(query, str) else list(query)
    return list(dict.fromkeys(term for text in texts if (term := normalize_query(text))))


def search(
    session: Session,
    query: str | Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    section: str | None = None,
    reporter: str | None = None,
    publishers: Collection[str] | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Articles whose headline or text holds `query`, newest published first.

    `query` is a literal substring, or a sequence of them that a version must all hold (anywhere
    in its text, in any order). Every version is searched; filters apply to the matching version.
    `until` is exclusive; `publishers` names the publishers whose articles may match (None:
    all). An empty query (after collapsing white space) raises ValueError.
    """
    terms = search_terms(query)
    if not terms:
        raise ValueError("the search text is empty")
    filters = Filters(
        since, until, section, reporter, None if publishers is None else tuple(publishers)
    )
    if session.get_bind().dialect.name == "sqlite":
        ids = sqlite_hit_ids(session, terms, filters, limit)
    else:
        ids = postgres_hit_ids(session, terms, filters, limit)
    rows = _load(session, ids)
    return [
        SearchHit(
            article_id=version.article_id,
            version=version.version_no,
            current_version=current,
            published_at=version.published_at,
            section=version.section,
            headline=version.headline,
            reporters=[reporter["name"] for reporter in version.reporters],
            snippet=snippet(version, terms),
            deleted_at=deleted_at,
        )
        for version, current, deleted_at in rows
    ]


def _load(session: Session, ids: list[int]) -> list[tuple[Version, int, datetime | None]]:
    """The versions `ids` (in that order) with their article's current version number and
    deletion time."""
    if not ids:
        return []
    loaded = {
        version.version_id: (version, current, deleted_at)
        for version, current, deleted_at in session.execute(
            select(Version, Article.current_version_no, Article.deleted_at)
            .join(Article, Article.article_id == Version.article_id)
            .where(Version.version_id.in_(ids))
        )
    }
    return [loaded[version_id] for version_id in ids]


def snippet(version: Version, query: str | Sequence[str]) -> str:
    """The first text holding a term, cut to some context around it: subheadlines, body and
    captions before the headline, which a hit shows anyway; the headline when only it matches."""
    texts = [
        *version.subheadlines,
        *version.body,
        *(caption.get("text") or "" for caption in version.captions),
        version.headline,
    ]
    for term in search_terms(query):
        found = _context(texts, term)
        if found is not None:
            return found
    return version.headline


def _context(texts: list[str], term: str) -> str | None:
    needle = term.casefold()
    for candidate in texts:
        position = candidate.casefold().find(needle)
        if position < 0:
            continue
        start = max(position - SNIPPET_CONTEXT_CHARS, 0)
        end = position + len(term) + SNIPPET_CONTEXT_CHARS
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(candidate) else ""
        return prefix + candidate[start:end] + suffix
    return None

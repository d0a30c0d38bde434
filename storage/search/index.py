"""What search plans share: the names of the search index objects, the query text, the filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Objects of migrations 0002-0004 (names repeated there: migrations do not import storage).
SQLITE_SEARCH_TABLE = "versions_search"
# FTS5 keeps its index in these shadow tables next to the virtual table.
SQLITE_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
# Where FTS5 keeps the indexed text (id = rowid, c0 = headline, c1 = text): a LIKE over it skips
# the virtual-table layer, a quarter faster than the same LIKE through versions_search.
SQLITE_CONTENT_TABLE = SQLITE_SEARCH_TABLE + "_content"
# 0004: fts5vocab over versions_search, one row (term, doc, col, offset) per trigram occurrence.
SQLITE_VOCAB_TABLE = "versions_search_instances"
PG_OLD_SEARCH_INDEX = "ix_versions_search_trgm"  # 0002, replaced by 0004
# 0004: lower-cased search text stored on versions, its pg_trgm index, its character-pair index.
PG_SEARCH_COLUMN = "search_text"
PG_TEXT_INDEX = "ix_versions_search_text_trgm"
PG_BIGRAM_FUNCTION = "versions_search_bigrams"
PG_BIGRAM_INDEX = "ix_versions_search_bigrams"
# A pair of characters as one int8 in the pair index: first code point * PAIR_BASE + second.
PAIR_BASE = 0x110000
# Migration 0003: versions in result order, walked newest first for common words.
ORDER_INDEX = "ix_versions_published_at_article_id"

# Trigram indexes (FTS5's tokenizer, pg_trgm) hold 3-character windows; shorter queries use the
# pair index (2 characters) or none (1 character).
MIN_INDEXED_CHARS = 3
PAIR_CHARS = 2
LIKE_ESCAPE = "\\"

_SEARCH_OBJECT_NAMES = frozenset(
    {
        SQLITE_SEARCH_TABLE,
        SQLITE_VOCAB_TABLE,
        PG_OLD_SEARCH_INDEX,
        PG_SEARCH_COLUMN,
        PG_TEXT_INDEX,
        PG_BIGRAM_INDEX,
        ORDER_INDEX,
    }
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


def fts5_fold(text: str) -> str:
    """`text` case-folded one character at a time, as FTS5's trigram tokenizer stores terms."""
    return "".join(
        folded if len(folded := char.lower()) == 1 else char for char in text
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """The search filters; each plan turns them into SQL conditions on a versions alias."""

    since: datetime | None
    until: datetime | None
    section: str | None
    reporter: str | None
    # Names of the publishers whose articles may match; None: every publisher's.
    publishers: tuple[str, ...] | None = None

    def conditions(
        self,
        alias: str,
        params: dict[str, Any],
        reporter_condition: Callable[[str, str, dict[str, Any]], str],
    ) -> list[str]:
        """SQL conditions on `alias`, their values put into `params`. Only the reporter test
        differs between databases (JSON functions): `reporter_condition(alias, name, params)`."""
        conditions = []
        if self.since is not None:
            params["since"] = self.since
            conditions.append(f"{alias}.published_at >= :since")
        if self.until is not None:
            params["until"] = self.until
            conditions.append(f"{alias}.published_at < :until")
        if self.section is not None:
            params["section"] = self.section
            conditions.append(f"{alias}.section = :section")
        if self.reporter is not None:
            conditions.append(reporter_condition(alias, self.reporter, params))
        if self.publishers is not None:
            names = []
            for number, publisher in enumerate(self.publishers):
                params[f"publisher_{number}"] = publisher
                names.append(f":publisher_{number}")
            # The article's row, by its key: one look-up per version the plan tests.
            conditions.append(
                f"EXISTS (SELECT 1 FROM articles AS owner WHERE owner.article_id = "
                f"{alias}.article_id AND owner.publisher IN ({', '.join(names) or 'NULL'}))"
            )
        return conditions

"""Comparing versions: field by field (lists aligned item by item), and text word by word."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy.orm import Session

from storage.queries import get_article, show

# Diff order: what a reader notices first.
SCALAR_DIFF_FIELDS = ("headline", "section", "dateline", "published_at", "modified_at")
LIST_DIFF_FIELDS = ("subheadlines", "reporters", "captions", "body")
DIFF_FIELD_ORDER = (
    "headline",
    "subheadlines",
    "section",
    "dateline",
    "published_at",
    "modified_at",
    "reporters",
    "captions",
    "body",
)

CHANGE_ADDED = "added"
CHANGE_REMOVED = "removed"
CHANGE_CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One field-level change. `index` is 1-based (in the new version; the old one if removed)."""

    field: str
    index: int | None
    change: str  # added / removed / changed
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Diff:
    article_id: str
    from_version: dict[str, Any]
    to_version: dict[str, Any]
    changes: list[Change]


def diff(
    session: Session, article_id: str, from_no: int | None = None, to_no: int | None = None
) -> Diff:
    """The changes between two versions (default: the last two; one version: none)."""
    article = get_article(session, article_id)
    current = article.current_version_no
    if to_no is None:
        to_no = current if from_no is None or from_no < current else from_no + 1
    if from_no is None:
        from_no = max(to_no - 1, 1)
    old = show(session, article_id, from_no)
    new = show(session, article_id, to_no)
    return Diff(article_id, old, new, diff_records(old, new))


def diff_records(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Field-level changes from record `old` to record `new`; lists aligned by SequenceMatcher."""
    changes: list[Change] = []
    for name in DIFF_FIELD_ORDER:
        before, after = old.get(name), new.get(name)
        if name in LIST_DIFF_FIELDS:
            changes.extend(_list_changes(name, list(before or []), list(after or [])))
        elif before != after:
            kind = (
                CHANGE_ADDED
                if before is None
                else CHANGE_REMOVED
                if after is None
                else CHANGE_CHANGED
            )
            changes.append(Change(name, None, kind, before, after))
    return changes


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The fields diff_records finds changed, in diff order: two versions' columns or records
    (what a new_version event names)."""
    changed = {change.field for change in diff_records(old, new)}
    return [name for name in DIFF_FIELD_ORDER if name in changed]


def _item_key(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def _list_changes(name: str, old: list[Any], new: list[Any]) -> Iterator[Change]:
    matcher = SequenceMatcher(
        None, [_item_key(x) for x in old], [_item_key(x) for x in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # A replaced run pairs up item by item (an edited paragraph); what is left over was
        # inserted or removed.
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(paired):
            yield Change(name, j1 + offset + 1, CHANGE_CHANGED, old[i1 + offset], new[j1 + offset])
        for i in range(i1 + paired, i2):
            yield Change(name, i + 1, CHANGE_REMOVED, old[i], None)
        for j in range(j1 + paired, j2):
            yield Change(name, j + 1, CHANGE_ADDED, None, new[j])


_WORD_RE = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """`old` → `new` as (op, text) runs, op in equal/removed/added, word by word."""
    old_words, new_words = _WORD_RE.findall(old), _WORD_RE.findall(new)
    runs: list[tuple[str, str]] = []
    matcher = SequenceMatcher(None, old_words, new_words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(("equal", "".join(old_words[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("removed", "".join(old_words[i1:i2])))
        if j2 > j1:
            runs.append(("added", "".join(new_words[j1:j2])))
    return runs

"""Two versions side by side, field by field: rows aligned, changed words marked."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from storage.diff import word_diff

# Field order: what a reader notices first (storage.queries.DIFF_FIELD_ORDER, less section).
TEXT_FIELDS = ("headline", "section", "dateline", "published_at", "modified_at")
LIST_FIELDS = ("subheadlines", "reporters", "captions", "body")
FIELD_ORDER = (
    "headline", "subheadlines", "published_at", "modified_at", "section", "dateline",
    "reporters", "captions", "body",
)
# Two paragraphs this alike (difflib's ratio) are one paragraph edited, not one replaced.
SAME_ITEM_RATIO = 0.4
# Past this many pairs a replaced block is paired in order: the best pairing costs m × n.
MAX_PAIRING_CELLS = 2500


def item_text(name: str, item: Any) -> str:
    """What a reader sees of one list item: a caption's text, a reporter's name and address."""
    if name == "captions":
        return (item or {}).get("text") or ""
    if name == "reporters":
        parts = [item.get("name"), item.get("title"), item.get("email")]
        return " ".join(part for part in parts if part)
    return str(item)


def side_by_side(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per field: its rows, each an old and a new side as (op, text) runs."""
    fields = []
    for name in FIELD_ORDER:
        if name in LIST_FIELDS:
            before = [item_text(name, item) for item in old.get(name) or []]
            after = [item_text(name, item) for item in new.get(name) or []]
            pairs = align(before, after)
            rows = [_row(before, after, i, j) for i, j in pairs]
            _mark_moves(rows)
            if name == "captions":
                for row, (i, j) in zip(rows, pairs, strict=True):
                    row["old_image"] = _image(old.get(name), i)
                    row["new_image"] = _image(new.get(name), j)
        else:
            rows = [_row([old.get(name) or ""], [new.get(name) or ""], 0, 0)]
        changed = any(row["status"] != "equal" for row in rows)
        fields.append({"field": name, "changed": changed, "rows": rows})
    return fields


def align(old: list[str], new: list[str]) -> list[tuple[int | None, int | None]]:
    """Index pairs (None on the side that lacks the item), in reading order on both sides."""
    pairs: list[tuple[int | None, int | None]] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(range(i1, i2), range(j1, j2), strict=True))
        elif tag == "delete":
            pairs.extend((i, None) for i in range(i1, i2))
        elif tag == "insert":
            pairs.extend((None, j) for j in range(j1, j2))
        else:
            pairs.extend(_pair_similar(old, new, range(i1, i2), range(j1, j2)))
    return pairs


def _pair_similar(old, new, olds: range, news: range) -> list[tuple[int | None, int | None]]:
    """A replaced block: pair edited paragraphs, leave inserted and removed ones unpaired.

    The pairing that keeps order and has the most similarity (a small alignment by dynamic
    programming), so an inserted paragraph before an edited one does not shift every pair.
    """
    if len(olds) * len(news) > MAX_PAIRING_CELLS:
        paired = min(len(olds), len(news))
        out: list[tuple[int | None, int | None]] = list(
            zip(olds[:paired], news[:paired], strict=True)
        )
        out += [(i, None) for i in olds[paired:]] + [(None, j) for j in news[paired:]]
        return out
    m, n = len(olds), len(news)
    ratio = [[SequenceMatcher(None, old[i], new[j], autojunk=False).ratio() for j in news]
             for i in olds]
    best = [[0.0] * (n + 1) for _ in range(m + 1)]
    for a in range(m - 1, -1, -1):
        for b in range(n - 1, -1, -1):
            pair = ratio[a][b] + best[a + 1][b + 1] if ratio[a][b] >= SAME_ITEM_RATIO else -1.0
            best[a][b] = max(pair, best[a + 1][b], best[a][b + 1])
    out, a, b = [], 0, 0
    while a < m or b < n:
        if a < m and b < n and ratio[a][b] >= SAME_ITEM_RATIO and (
            best[a][b] == ratio[a][b] + best[a + 1][b + 1]
        ):
            out.append((olds[a], news[b]))
            a, b = a + 1, b + 1
        elif b >= n or (a < m and best[a][b] == best[a + 1][b]):
            out.append((olds[a], None))
            a += 1
        else:
            out.append((None, news[b]))
            b += 1
    return out


def _row(old: list[str], new: list[str], i: int | None, j: int | None) -> dict[str, Any]:
    before = None if i is None else old[i]
    after = None if j is None else new[j]
    if before is None or after is None:
        text = before if after is None else after
        status = "removed" if after is None else "added"
        op = "removed" if after is None else "added"
        runs = [(op, text)] if text else []
        return {
            "status": status,
            "old": runs if before is not None else None,
            "new": runs if after is not None else None,
            "old_no": None if i is None else i + 1,
            "new_no": None if j is None else j + 1,
        }
    runs = word_diff(before, after)
    return {
        "status": "equal" if before == after else "changed",
        "old": [(op, text) for op, text in runs if op != "added"],
        "new": [(op, text) for op, text in runs if op != "removed"],
        "old_no": i + 1,
        "new_no": j + 1,
    }


def _mark_moves(rows: list[dict[str, Any]]) -> None:
    """A paragraph removed in one place and added in another, unchanged, was moved."""
    removed = {_text(row["old"]): row for row in rows if row["status"] == "removed"}
    for row in rows:
        if row["status"] != "added":
            continue
        twin = removed.pop(_text(row["new"]), None)
        if twin is not None:
            twin["status"] = row["status"] = "moved"
            twin["moved_to"], row["moved_from"] = row["new_no"], twin["old_no"]


def _text(runs: list[tuple[str, str]] | None) -> str:
    return "".join(text for _, text in runs or [])


def _image(items: list[dict[str, Any]] | None, index: int | None) -> str | None:
    if index is None or not items:
        return None
    url = (items[index] or {}).get("image_url") or ""
    return url if url.startswith(("https://", "http://")) else None

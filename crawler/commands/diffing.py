"""`newsarchive diff`: what the newsroom changed between two versions, field by field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

from crawler.commands.common import VERSION_RANGE, db_option, handle_errors
from crawler.commands.query import _lookup, _print_json, article_argument, json_option, reading
from crawler.commands.terminal import echo, styled
from storage import diff as diffs

# --- diff ----------------------------------------------------------------------------------------


@click.command("diff")
@article_argument
@click.option("--from", "from_no", type=VERSION_RANGE, help="Older version (default: M-1).")
@click.option("--to", "to_no", type=VERSION_RANGE, help="Newer version (default: current).")
@click.option(
    "--color/--no-color",
    default=None,
    help="Highlight changed words (default: only when stdout is a terminal).",
)
@json_option
@db_option
@handle_errors
def diff_command(
    article: str,
    from_no: int | None,
    to_no: int | None,
    color: bool | None,
    as_json: bool,
    db_url: str | None,
) -> None:
    """What changed in article ID between two versions (default: the last two), field by field.

    --json prints a list of {field, index, change, old, new}; change is added, removed or changed,
    index the 1-based position in a list field (in the new version; in the old one if removed).

    An article with one version only has nothing to compare: diff says so and exits 0 (--json
    prints []), as for two versions that are the same.
    """
    with reading(db_url) as session:
        found = _lookup(session, article, lambda s, i: diffs.diff(s, i, from_no, to_no))
    if as_json:
        _print_json([change.to_dict() for change in found.changes])
        return
    old_no, new_no = found.from_version["version"], found.to_version["version"]
    if old_no == new_no:
        if from_no is None and to_no is None:
            echo(f"{found.article_id} has one version only: nothing to compare")
        else:
            echo(f"{found.article_id}: version {old_no} compared with itself: no changes")
        return
    echo(f"{found.article_id}: version {old_no} → {new_no}", color=color)
    if not found.changes:
        echo("no changes", color=color)
    for change in found.changes:
        for pieces in _describe(change):
            echo(*pieces, color=color)


_FIELD_NAMES = {"body": "paragraph", "subheadlines": "subheadline", "captions": "caption"}


def _describe(change: diffs.Change) -> Iterator[list[Any]]:
    """The lines of one change, each a list of pieces for `echo` (stored text, styled or not)."""
    name = _FIELD_NAMES.get(change.field, change.field.rstrip("s"))
    title = f"{name} {change.index}" if change.index is not None else name
    yield [styled(f"{title} {change.change}:", bold=True)]
    old, new = _as_text(change.old), _as_text(change.new)
    if change.change == diffs.CHANGE_CHANGED and isinstance(old, str) and isinstance(new, str):
        runs = diffs.word_diff(old, new)
        yield ["  - "] + [
            styled(text, fg="red", bold=True) if op == "removed" else text
            for op, text in runs
            if op != "added"
        ]
        yield ["  + "] + [
            styled(text, fg="green", bold=True) if op == "added" else text
            for op, text in runs
            if op != "removed"
        ]
        return
    if old is not None:
        yield ["  - ", styled(old, fg="red")]
    if new is not None:
        yield ["  + ", styled(new, fg="green")]


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and "text" in value:  # a caption reads best as its text
        return value["text"]
    return json.dumps(value, ensure_ascii=False, sort_keys=True)

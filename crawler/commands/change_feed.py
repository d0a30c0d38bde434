"""`newsarchive changes`: every event of the archive in time order, as text, JSON lines or Atom."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

import click

from crawler.atom import atom_feed, origins
from crawler.commands.common import db_option, handle_errors, publisher_option
from crawler.commands.query import reading, time_bound
from crawler.commands.terminal import echo, json_safe
from storage.changes import KINDS, Change, list_changes


@click.command("changes")
@click.option(
    "--since", callback=time_bound, metavar="TIME",
    help="Only events at or after TIME: YYYY-MM-DD (a KST day) or an ISO 8601 time with offset.",
)
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(KINDS),
    help="Only events of this kind (repeat for several).",
)
@publisher_option("changes to articles")
@click.option(
    "--format", "output", type=click.Choice(["text", "json", "atom"]), default="text",
    show_default=True, help="One line per event, one JSON object per line, or an Atom feed.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@db_option
@handle_errors
def changes_command(
    since: datetime | None,
    kinds: tuple[str, ...],
    publisher_names: tuple[str, ...],
    output: str,
    as_json: bool,
    db_url: str | None,
) -> None:
    """Every change seen, oldest first: new articles, new versions, deletions, restorations and
    touches.

    \b
    --json prints one JSON object a line, exactly these keys:
      {"at": ISO 8601 UTC, "article_id", "url", "kind", "version", "fields"}
    kind is new_article, new_version, deleted, restored or touched; version the version it made
    (new_article, new_version) or the article's current one after it; fields the record fields
    a new_version changed (a list), null for every other kind.

    --format atom prints an Atom feed a feed reader can follow (newest entry first).
    """
    with reading(db_url) as session:
        found = list_changes(
            session, since=since, kinds=kinds or None, publishers=publisher_names or None
        )
        if as_json or output == "json":
            _write_lines(json.dumps(change.to_dict(), ensure_ascii=False) for change in found)
        elif output == "atom":
            sys.stdout.buffer.write(atom_feed(found, related_urls=origins(publisher_names)))
            sys.stdout.buffer.flush()
        else:
            for change in found:
                echo(_line(change))


def _write_lines(lines: Iterable[str]) -> None:
    out = sys.stdout.buffer
    for line in lines:
        out.write(json_safe(line).encode("utf-8") + b"\n")
    out.flush()


def _line(change: Change) -> str:
    when = change.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    version = f" v{change.version}" if change.version is not None else ""
    fields = f"  {', '.join(change.fields)}" if change.fields else ""
    return f"{when}  {change.article_id}  {change.kind}{version}{fields}"

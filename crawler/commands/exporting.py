"""The export command: records as JSONL or CSV, raw captures as WARC, to a file or stdout."""

from __future__ import annotations

import errno
import fcntl
import glob
import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from crawler.commands.common import db_option, handle_errors, publisher_option
from crawler.commands.query import reading, time_bound
from crawler.commands.terminal import echo, progress
from storage import queries

# --- export --------------------------------------------------------------------------------------


@click.command("export")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["jsonl", "csv", "warc"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--since",
    callback=time_bound,
    metavar="DATE",
    help="Records first seen (WARC: captures fetched) at or after this time.",
)
@click.option("--all-versions", is_flag=True, help="Every version, not only each current one.")
@publisher_option("the records (WARC: captures)")
@click.option("-o", "--output", default="-", metavar="FILE", help="Output file; - is stdout.")
@db_option
@handle_errors
def export_command(
    format_: str,
    since: datetime | None,
    all_versions: bool,
    publisher_names: tuple[str, ...],
    output: str,
    db_url: str | None,
) -> None:
    """Records as JSONL or CSV, or the raw captures as a WARC file, streamed.

    JSONL/CSV records are RECORD.md records (`source` names the publisher) plus version,
    first_seen_at, last_seen_at; CSV has one row per version, list and object fields as JSON,
    UTF-8 without BOM (in Excel, import it as UTF-8). WARC (1.1): one gzip'd response record
    per HTTP capture, with the exact stored body; a 304 is a revisit record naming the response
    it confirms (included even when it is older than --since). -o onto a device or FIFO writes
    through it; onto a symlink, to its target.
    """
    from storage import export as exports  # warcio: only the export command needs it

    chosen = publisher_names or None
    with (
        reading(db_url) as session,
        _output(output, binary=format_ == "warc") as out,
        progress(_export_size(session, format_, since, all_versions, chosen), "exporting") as bar,
    ):
        if format_ == "warc":
            with Session(session.get_bind()) as body_session:
                count = exports.write_warc(
                    session, body_session, out, since=since, publishers=chosen,
                    on_record=lambda: bar.update(1),
                )
        else:
            records = queries.iter_records(
                session, since=since, all_versions=all_versions, publishers=chosen
            )
            writer = exports.write_jsonl if format_ == "jsonl" else exports.write_csv
            count = writer(_counted(records, bar), out)
    echo(f"exported {count} {'captures' if format_ == 'warc' else 'records'}", err=True)


def _export_size(
    session: Session,
    format_: str,
    since: datetime | None,
    all_versions: bool,
    publishers: tuple[str, ...] | None,
) -> int | None:
    """What an export will write, for its progress bar; counted only when one is shown."""
    if not sys.stderr.isatty():
        return None
    if format_ == "warc":
        return queries.count_captures(session, since=since, publishers=publishers)
    return queries.count_records(
        session, since=since, all_versions=all_versions, publishers=publishers
    )


def _counted(records: Iterator[dict[str, Any]], bar: Any) -> Iterator[dict[str, Any]]:
    for record in records:
        yield record
        bar.update(1)


@contextmanager
def _output(path: str, *, binary: bool):
    if path == "-":
        if binary:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
            return
        wrapper = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()
        return
    target = Path(os.path.realpath(path))  # a symlink is written through, to what it names
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if mode is not None and not stat.S_ISREG(mode):
        # A device or a FIFO (/dev/null, a named pipe): written into, as a shell's `>` does;
        # renaming a file over it would replace the node itself.
        with open(target, "wb") if binary else open(
            target, "w", encoding="utf-8", newline=""
        ) as out:
            yield out
        return
    if mode is not None and not mode & 0o222:
        raise PermissionError(errno.EACCES, "read-only file, left as it is", path)
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(target.parent))
    with _partial_beside(target, mode) as partial:
        with (
            open(partial, "ab") if binary else open(partial, "a", encoding="utf-8", newline="")
        ) as out:
            yield out
        os.replace(partial, target)


@contextmanager
def _partial_beside(target: Path, mode: int | None) -> Iterator[Path]:
    """A new file beside `target`, locked while this export writes it. It is renamed over the
    target at the end, so a failed or stopped export leaves no truncated file; partial files
    of exports killed before (unlocked) are removed first."""
    pattern = f".{glob.escape(target.name)}.*.partial"
    for stale in target.parent.glob(pattern):
        _remove_if_unlocked(stale)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        if mode is not None:
            os.fchmod(descriptor, stat.S_IMODE(mode))  # the replaced file's permissions stay
        yield partial
    finally:
        partial.unlink(missing_ok=True)
        os.close(descriptor)


def _remove_if_unlocked(stale: Path) -> None:
    try:
        descriptor = os.open(stale, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another export is writing it
    finally:
        os.close(descriptor)
    stale.unlink(missing_ok=True)

"""`newsarchive db`, `import`, `reparse`: the schema, pages saved elsewhere, re-derived versions."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler.archiving import ingest_batches, reparse
from crawler.commands.common import (
    WORKERS_RANGE,
    CommandError,
    article_id_named,
    db_option,
    handle_errors,
    open_db,
    parse_time,
)
from crawler.commands.terminal import echo, progress
from crawler.warc_reader import MAX_PAGE_BYTES, Lost, NotAWarc, check_warc, read_warc
from crawler.writer_process import MAX_BATCH
from storage import db
from storage.fetched_page import FetchedPage
from storage.ingest.transaction import OUTCOME_LOST
from storage.ingest.write_path import IngestResult
from storage.models import (
    OUTCOME_DUPLICATE,
    OUTCOME_FAILED,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
)
from storage.reparse import articles_to_reparse

SUMMARY_ORDER = (
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_UNCHANGED,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_FAILED,
    OUTCOME_DUPLICATE,
)
# Pages per ingest transaction: what the crawl's writer takes when pages wait (~9 MB of bodies).
IMPORT_BATCH = MAX_BATCH
# ... and bodies of half the page cap: two batches are in memory at once (one being stored, the
# next parsed), so an import of large pages holds a few pages at a time.
IMPORT_BATCH_BYTES = MAX_PAGE_BYTES // 2
# How far past this machine's clock an imported page's --fetched-at may be (clocks differ).
FUTURE_SLACK = timedelta(days=1)


# --- db ----------------------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """Manage the archive's schema (Alembic migrations)."""


@db_group.command("upgrade")
@db_option
@handle_errors
def db_upgrade_command(db_url: str | None) -> None:
    """Bring the database schema to the latest revision (creates the tables when empty)."""
    url = db.resolve_db_url(db_url)
    engine = db.open_engine(url, for_writing=True)
    try:
        state = db.schema_state(engine)
        revision = db.current_revision(engine) if state == "newer" else None
    finally:
        engine.dispose()
    if state == "unknown":
        raise CommandError(
            f"{db.redact_url(url)} holds tables that are not a newsarchive archive at a known "
            "revision; refusing to touch them"
        )
    if state == "newer":
        raise CommandError(db.newer_schema_message(url, revision))
    db.upgrade(url)
    echo(f"{db.redact_url(url)}: at revision {db.head_revision()} (head)")


@db_group.command("current")
@db_option
@handle_errors
def db_current_command(db_url: str | None) -> None:
    """Show the database's schema revision and whether it is the latest (head)."""
    url = db.resolve_db_url(db_url)
    engine = db.open_engine(url, for_writing=False)
    try:
        revision = db.current_revision(engine)
        state = db.schema_state(engine)
    finally:
        engine.dispose()
    head = db.head_revision()
    if state == "head":
        click.echo(f"{revision} (head)")
    elif state == "empty":
        click.echo(f"none (empty database; `newsarchive db upgrade` creates revision {head})")
    elif state == "newer":
        click.echo(f"{revision} (newer than this newsarchive's head {head}: upgrade newsarchive)")
    else:
        click.echo(f"{revision or 'none'} (not head {head}; run `newsarchive db upgrade`)")


# --- import ------------------------------------------------------------------------------------


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--url", help="The URL an HTML file was fetched from (HTML files only).")
@click.option(
    "--fetched-at",
    metavar="ISO",
    help="When an HTML file was fetched, with offset (e.g. 2024-11-15T07:00:00+09:00).",
)
@db_option
@handle_errors
def import_command(
    files: tuple[str, ...], url: str | None, fetched_at: str | None, db_url: str | None
) -> None:
    """Ingest pages saved elsewhere: WARC files (.warc, .warc.gz) or one HTML file.

    Every HTTP response record of a WARC is a capture at its WARC-Date, a server-not-modified
    revisit record a 304; an HTML file needs --url and --fetched-at. Pages go through the same
    ingest as the crawler, so importing a file twice changes nothing.

    A record that cannot be read whole and intact (cut, corrupt, a Content-Length or digest
    that does not match its bytes) is named on stderr (record number, offset, URL, why) and the
    import goes on at the next record; a page over the crawl's size cap is not read and is kept
    as a failed capture. The summary line always says how many pages were stored; the exit code
    is 1 when any record was lost or refused.
    """
    paths = [Path(name) for name in files]
    html_time = _checked_import(paths, url, fetched_at)
    engine = open_db(db_url, for_writing=True)
    tally = _ImportTally()
    sessions = db.make_session_factory(engine)
    try:
        with progress(None, "importing") as bar:
            tally.bar = bar
            for path in paths:
                tally.path = path
                if _is_warc(path):
                    items: Iterator[FetchedPage | Lost] = read_warc(path)
                else:
                    assert html_time is not None  # _checked_import demands it for HTML
                    items = iter([_html_page(path, url or "", html_time)])
                ingest_batches(sessions, tally.batches(items), tally.stored)
    finally:
        engine.dispose()
        echo(tally.summary(len(paths)))
    if tally.lost:
        raise CommandError(
            f"{tally.lost} record(s) not imported (lost or refused, each named above)"
        )


def _checked_import(
    paths: list[Path], url: str | None, fetched_at: str | None
) -> datetime | None:
    """CommandError unless every file can be imported as asked; an HTML file's capture time."""
    for path in paths:
        if not path.is_file():
            raise CommandError(f"cannot read {path}: no such file")
    html_time = None
    html_files = [path for path in paths if not _is_warc(path)]
    if html_files:
        if len(html_files) > 1:
            raise CommandError("--url names one page: import HTML files one at a time")
        if not url:
            raise CommandError(f"{html_files[0]}: an HTML file needs --url and --fetched-at")
        if not fetched_at:
            raise CommandError(f"{html_files[0]}: an HTML file needs --fetched-at")
        html_time = parse_time(fetched_at, what="--fetched-at")
        if html_time > datetime.now(UTC) + FUTURE_SLACK:
            # A mistyped year would put this capture after every real one and reorder the
            # article's versions around it.
            raise CommandError(f"--fetched-at is in the future: {fetched_at}")
    elif url or fetched_at:
        raise CommandError("--url and --fetched-at apply to an HTML file, not to WARC files")
    for path in paths:
        if _is_warc(path):
            try:
                check_warc(path)
            except NotAWarc as error:
                raise CommandError(f"{path}: {error}") from None
    return html_time


class _ImportTally:
    """What an import stored and lost: losses named as met, the summary counted from results."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lost = 0
        self.path = Path()
        self.sent: deque[list[FetchedPage]] = deque()
        self.bar: Any = None

    def batches(self, items: Iterator[FetchedPage | Lost]) -> Iterator[list[FetchedPage]]:
        """The pages in batches of IMPORT_BATCH pages or IMPORT_BATCH_BYTES of bodies, whichever
        comes first; losses are named on the way. Should reading fail, the batch so far is
        stored before the error goes on."""
        batch: list[FetchedPage] = []
        size = 0
        try:
            for item in items:
                if isinstance(item, Lost):
                    self._name(str(item))
                    continue
                batch.append(item)
                size += len(item.body)
                if len(batch) == IMPORT_BATCH or size >= IMPORT_BATCH_BYTES:
                    self.sent.append(batch)
                    yield batch
                    batch, size = [], 0
        except Exception:
            if batch:
                self.sent.append(batch)
                yield batch
            raise
        if batch:
            self.sent.append(batch)
            yield batch

    def stored(self, results: list[IngestResult]) -> None:
        pages = self.sent.popleft()
        if self.bar is not None:
            self.bar.update(len(pages))
        for page, result in zip(pages, results, strict=True):
            if result.outcome == OUTCOME_LOST:
                self._name(f"{page.url} at {page.fetched_at.isoformat()}: {result.error}")
            else:
                self.counts[result.outcome] += 1

    def summary(self, file_count: int) -> str:
        parts = ", ".join(
            f"{self.counts[name]} {name.replace('_', ' ')}" for name in SUMMARY_ORDER
        )
        total = sum(self.counts.values())
        lost = f"; {self.lost} record(s) lost or refused" if self.lost else ""
        return (
            f"imported {total} page{'s' if total != 1 else ''} from {file_count} file(s): "
            f"{parts}{lost}"
        )

    def _name(self, what: str) -> None:
        self.lost += 1
        echo(f"newsarchive: {self.path}: {what}", err=True)


def _is_warc(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".warc", ".warc.gz"))


def _html_page(path: Path, url: str, fetched_at: datetime) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=200,
        headers={},
        body=path.read_bytes(),
        fetched_at=fetched_at,
    )


# --- reparse -----------------------------------------------------------------------------------


@click.command("reparse")
@click.option("--since", metavar="DATE", help="Only articles captured at or after DATE (ISO).")
@click.option(
    "--article", "article_id", metavar="ID",
    help="Only this article: its id or any URL of it, of any publisher (NISX…, AKR…, a URL).",
)
@click.option("--workers", type=WORKERS_RANGE, help="Parser processes (default: cores).")
@db_option
@handle_errors
def reparse_command(
    since: str | None, article_id: str | None, workers: int | None, db_url: str | None
) -> None:
    """Re-derive versions from the stored captures with the current parser, offline.

    A parser change never looks like a newsroom edit: versions are rebuilt from their captures
    in capture-time order and keep their capture times; with the same parser nothing changes.
    Articles are committed a few at a time: stop at any time and run again to finish.
    """
    since_at = parse_time(since, what="--since") if since else None
    if article_id is not None:
        article_id = article_id_named(article_id)
    engine = open_db(db_url, for_writing=True)
    try:
        with db.make_session_factory(engine)() as session:
            total = len(articles_to_reparse(session, since=since_at, article_id=article_id))
        if article_id is not None and total == 0:
            # A mistyped id would otherwise "reparse 0 articles" and look like success.
            raise CommandError(
                f"no captures of article {article_id} in the archive"
                + (f" fetched since {since}" if since else "")
            )
        with progress(total, "reparsing") as bar:
            summary = reparse(
                engine,
                since=since_at,
                article_id=article_id,
                workers=workers,
                on_article=lambda _id, _changed: bar.update(1),
            )
    finally:
        engine.dispose()
    click.echo(
        f"reparsed {summary.articles} article(s): {summary.changed} rebuilt, "
        f"{summary.unchanged} unchanged"
    )

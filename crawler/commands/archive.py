"""`newsarchive db`, `import`, `reparse`: the schema, pages saved elsewhere, re-derived versions."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from crawler.commands.common import (
    CommandError,
    db_option,
    handle_errors,
    open_db,
    parse_time,
)
from crawler.ingest_process import MAX_BATCH
from crawler.items import FetchedPage
from storage import db
from storage.archive import ingest_batches
from storage.models import (
    OUTCOME_DUPLICATE,
    OUTCOME_FAILED,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
)
from storage.queries import article_id_of
from storage.reparse import articles_to_reparse, reparse

SUMMARY_ORDER = (
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_UNCHANGED,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_FAILED,
    OUTCOME_DUPLICATE,
)
KEPT_HEADERS = ("ETag", "Last-Modified", "Content-Type")
# Pages per ingest transaction: what the crawl's writer takes when pages wait (~9 MB of bodies).
IMPORT_BATCH = MAX_BATCH
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
    click.echo(f"{db.redact_url(url)}: at revision {db.head_revision()} (head)")


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

    Every HTTP response record of a WARC is a capture at its WARC-Date; an HTML file needs
    --url and --fetched-at. Pages go through the same ingest as the crawler, so importing a file
    twice changes nothing. Prints one summary line.
    """
    paths = [Path(name) for name in files]
    for path in paths:
        if not path.is_file():
            raise CommandError(f"cannot read {path}: no such file")
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

    engine = open_db(db_url, for_writing=True)
    counts: Counter[str] = Counter()
    sessions = db.make_session_factory(engine)
    try:
        for path in paths:
            if _is_warc(path):
                pages = _warc_pages(path)
            else:
                pages = iter([_html_page(path, url or "", html_time)])
            ingest_batches(
                sessions,
                _import_batches(pages),
                lambda results: counts.update(result.outcome for result in results),
            )
    finally:
        engine.dispose()
    parts = ", ".join(f"{counts[name]} {name.replace('_', ' ')}" for name in SUMMARY_ORDER)
    total = sum(counts.values())
    click.echo(
        f"imported {total} page{'s' if total != 1 else ''} from {len(paths)} file(s): {parts}"
    )


def _import_batches(pages: Iterator[FetchedPage]) -> Iterator[list[FetchedPage]]:
    """The pages in batches of IMPORT_BATCH; a broken record ends the import, and the pages read
    before it are kept (the batch so far is stored before the error goes on)."""
    batch: list[FetchedPage] = []
    try:
        for page in pages:
            batch.append(page)
            if len(batch) == IMPORT_BATCH:
                yield batch
                batch = []
    except CommandError:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


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


def _warc_pages(path: Path) -> Iterator[FetchedPage]:
    """Every HTTP response record of a WARC file as a fetched page."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    with path.open("rb") as stream:
        try:
            for record in ArchiveIterator(stream):
                if record.format not in ("warc", "warc/1.0", "warc/1.1"):
                    # warcio reads anything with a header-like first line as an ARC record.
                    raise CommandError(f"{path}: not a WARC file ({record.format} record)")
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                target = record.rec_headers.get_header("WARC-Target-URI")
                date = record.rec_headers.get_header("WARC-Date")
                if not target or not date:
                    raise CommandError(f"{path}: a response record lacks WARC-Target-URI/Date")
                when = parse_time(date.replace("Z", "+00:00"), what=f"{path}: WARC-Date")
                headers = {
                    name: value
                    for name in KEPT_HEADERS
                    if (value := record.http_headers.get_header(name)) is not None
                }
                yield FetchedPage(
                    url=target,
                    status=int(record.http_headers.get_statuscode() or 0),
                    headers=headers,
                    # content_stream() undoes chunked transfer and gzip/br content encoding.
                    body=record.content_stream().read(),
                    fetched_at=when,
                )
        except ArchiveLoadFailed as error:
            raise CommandError(f"{path}: not a readable WARC file: {_one_line(error)}") from None
        except (OSError, EOFError, ValueError, AttributeError) as error:
            # warcio meets a record cut inside its header block with an AttributeError.
            if isinstance(error, CommandError):
                raise
            raise CommandError(f"{path}: unreadable WARC data: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] or type(error).__name__


# --- reparse -----------------------------------------------------------------------------------


@click.command("reparse")
@click.option("--since", metavar="DATE", help="Only articles captured at or after DATE (ISO).")
@click.option(
    "--article", "article_id", metavar="ID", help="Only this article (an id, NISX…, or its URL)."
)
@click.option("--workers", type=click.IntRange(min=1), help="Parser processes (default: cores).")
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
        article_id = article_id_of(article_id)
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
        with click.progressbar(
            length=total, label="reparsing", file=sys.stderr, show_pos=True
        ) as bar:
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

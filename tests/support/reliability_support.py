"""Helpers for the reliability tests: seeds, archive dumps and checks, reparse and WARC inputs."""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, inspect, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crawler.localsite.server import NewsisSite
from crawler.publishers import parse_article as parse_page
from storage.bodies.codec import body_hash_of
from storage.db import is_sqlite, make_engine, make_session_factory
from storage.ingest.write_path import load_body
from storage.models import Article, Body, Capture, CrawlRun, Version
from storage.record import ArticleRecord
from tests.support.import_files import write_warc
from tests.support.processes import COMMAND_TIMEOUT, kill

SEED_ENV_VAR = "NEWSARCHIVE_CRASH_SEED"
WARC_T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)


# --- seeds ---------------------------------------------------------------------------------------


def choose_seed() -> int:
    """The seed of a randomised test: $NEWSARCHIVE_CRASH_SEED to replay a run, else a fresh one."""
    value = os.environ.get(SEED_ENV_VAR)
    return int(value) if value else random.SystemRandom().randrange(1, 2**31)


# --- reading the archive -------------------------------------------------------------------------


class Reader:
    """A read-only connection to an archive, for polling counts while a command writes it."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.engine: Engine = create_engine(db_url, poolclass=NullPool)

    def count(self, table: str, where: str = "") -> int:
        """Rows of `table` (0 while the schema does not exist yet)."""
        try:
            with self.engine.connect() as connection:
                sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
                return connection.execute(text(sql)).scalar_one()
        except (OperationalError, ProgrammingError):
            return 0

    def close(self) -> None:
        self.engine.dispose()


def kill_after(
    process: subprocess.Popen[str],
    reader: Reader,
    table: str,
    target: int,
    *,
    where: str = "",
    give_up: float = COMMAND_TIMEOUT,
) -> int:
    """SIGKILL `process` once `table` holds `target` rows; the rows seen at the kill.

    Returns -1 when the process had already exited by itself.
    """
    deadline = time.monotonic() + give_up
    while True:
        seen = reader.count(table, where)
        if seen >= target:
            kill(process)
            return seen
        if process.poll() is not None:
            process.communicate(timeout=COMMAND_TIMEOUT)
            return -1
        if time.monotonic() > deadline:
            kill(process)
            raise AssertionError(f"{table} never reached {target} rows")
        time.sleep(0.01)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dump(db_url: str, *, full: bool) -> dict[str, Any]:
    """A normalised picture of the archive, free of row ids and of when the test ran.

    Always: each article's versions as (version_no, content_hash). With `full`: captures by
    (url, fetched_at, body_hash) with what ingest made of them, every version and article
    column, and the stored body hashes.
    """
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            captures = {
                c.capture_id: c for c in session.scalars(select(Capture))
            }

            def key(capture_id: int) -> tuple[Any, ...]:
                c = captures[capture_id]
                return (c.url, iso(c.fetched_at), c.body_hash)

            versions: dict[str, list[tuple[Any, ...]]] = {}
            ordered = select(Version).order_by(Version.article_id, Version.version_no)
            for v in session.scalars(ordered):
                row: tuple[Any, ...] = (v.version_no, v.content_hash)
                if full:
                    row += (
                        v.parser_version, v.headline, key(v.first_capture_id),
                        key(v.last_capture_id), iso(v.first_seen_at), iso(v.last_seen_at),
                    )
                versions.setdefault(v.article_id, []).append(row)
            picture: dict[str, Any] = {"versions": versions}
            if not full:
                return picture
            picture["articles"] = sorted(
                (
                    a.article_id, a.current_version_no, a.section, iso(a.published_at),
                    iso(a.first_seen_at), iso(a.last_checked_at), iso(a.last_changed_at),
                    iso(a.next_check_at), a.etag, a.last_modified,
                )
                for a in session.scalars(select(Article))
            )
            picture["captures"] = sorted(
                (
                    (
                        *key(c.capture_id), c.article_id, c.status, c.fetch_error, c.parse_error,
                        c.parser_version, c.content_hash, c.outcome,
                    )
                    for c in captures.values()
                ),
                key=repr,
            )
            picture["bodies"] = sorted(session.scalars(select(Body.body_hash)))
            return picture
    finally:
        engine.dispose()


def consistency_problems(db_url: str) -> list[str]:
    """Half-written rows: what a crash must never leave. An empty list means none were found.

    Every version points at captures of its article and numbers run 1..n; every article's
    current_version_no is its last version; every capture that parsed into content belongs to a
    version with that content; every body loads byte-exact (its sha256 is its hash); SQLite's
    integrity_check passes.
    """
    problems: list[str] = []
    engine = make_engine(db_url)
    try:
        if "captures" not in inspect(engine).get_table_names():
            return problems
        with make_session_factory(engine)() as session:
            captures = {c.capture_id: c for c in session.scalars(select(Capture))}
            by_article: dict[str, list[Version]] = {}
            for version in session.scalars(select(Version).order_by(Version.version_no)):
                by_article.setdefault(version.article_id, []).append(version)
            problems += _version_problems(session, captures, by_article)
            problems += _capture_problems(session, captures, by_article)
            running = session.scalar(
                select(func.count()).where(CrawlRun.outcome == "running")
            )
            problems += [f"{running} crawl run(s) still 'running'"] if running else []
        if is_sqlite(db_url):
            with engine.connect() as connection:
                verdict = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            if verdict != ["ok"]:
                problems.append(f"integrity_check: {verdict[:5]}")
    finally:
        engine.dispose()
    return problems


def _version_problems(
    session: Session, captures: dict[int, Capture], by_article: dict[str, list[Version]]
) -> list[str]:
    """Versions whose captures are missing or of another article, broken numbering, orphans."""
    problems: list[str] = []
    for versions in by_article.values():
        for version in versions:
            for end in (version.first_capture_id, version.last_capture_id):
                capture = captures.get(end)
                if capture is None or capture.article_id != version.article_id:
                    problems.append(
                        f"version {version.article_id} v{version.version_no}: capture {end}"
                        " missing or of another article"
                    )
    for article in session.scalars(select(Article)):
        numbers = [v.version_no for v in by_article.get(article.article_id, [])]
        if numbers != list(range(1, len(numbers) + 1)) or not numbers:
            problems.append(f"article {article.article_id}: version numbers {numbers}")
        elif article.current_version_no != numbers[-1]:
            problems.append(
                f"article {article.article_id}: current_version_no "
                f"{article.current_version_no} but last version {numbers[-1]}"
            )
    orphans = set(by_article) - set(session.scalars(select(Article.article_id)))
    return problems + ([f"versions without an article: {sorted(orphans)}"] if orphans else [])


def _capture_problems(
    session: Session, captures: dict[int, Capture], by_article: dict[str, list[Version]]
) -> list[str]:
    """Parsed captures with no version of their content; bodies that do not load as their hash."""
    problems: list[str] = []
    for capture in captures.values():
        if capture.outcome in ("new_article", "new_version", "unchanged"):
            hashes = {v.content_hash for v in by_article.get(capture.article_id, [])}
            if capture.content_hash not in hashes:
                problems.append(
                    f"capture {capture.capture_id} ({capture.outcome}): no version of"
                    f" {capture.article_id} has its content"
                )
        if capture.body_hash is not None:
            try:
                raw = load_body(session, capture.body_hash)
            except (KeyError, ValueError) as error:
                problems.append(f"capture {capture.capture_id}: body {error}")
            else:
                # load_body checks a frame by its own checksum: the sha256 is checked
                # here too, the strongest test of what was kept.
                if body_hash_of(raw) != capture.body_hash:
                    problems.append(f"capture {capture.capture_id}: body is not its hash")
    return problems


def sqlite_checkpoint(db_path: Path) -> None:
    """Fold the WAL into the main file, so a plain file copy holds the whole archive."""
    import sqlite3

    connection = sqlite3.connect(db_path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


# --- what the site says the archive should hold -------------------------------------------------


def expected_content_hash(site: NewsisSite, article_id: str) -> str:
    return ArticleRecord.from_dict(site.expected_record(article_id)).content_hash


# --- a parser change, for reparse ----------------------------------------------------------------


def parser_v2(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """A 'fixed' parser: another version string and a headline cleaned differently.

    Module-level, so reparse's spawned workers find it by its importable name.
    """
    record = parse_page(body, url, fetched_at)
    return dataclasses.replace(record, headline=record.headline + " (v2)", parser_version="test-2")


SELF = "tests.support.reliability_support"  # run as `python -m` for the subprocesses


def reparse_command(db_url: str, workers: int) -> list[str]:
    """A reparse with parser_v2 in a subprocess (the CLI always uses the current parser)."""
    return [sys.executable, "-m", SELF, "reparse", db_url, str(workers)]


def cli_reparse_command(db_url: str, workers: int) -> list[str]:
    """`newsarchive reparse` itself (its own handling of Ctrl-C), with the current parser made
    into parser_v2 at ~20 ms a page: long enough to be interrupted part-way."""
    return [sys.executable, "-m", SELF, "cli-reparse", db_url, str(workers)]


def _cli_reparse_main(db_url: str, workers: str) -> None:
    import crawler.publishers
    from crawler.cli import cli

    current = crawler.publishers.parse_article

    def slow_v2(body: bytes, url: str, fetched_at: datetime | None = None) -> ArticleRecord:
        time.sleep(0.02)
        record = current(body, url, fetched_at)
        return dataclasses.replace(
            record, headline=record.headline + " (v2)", parser_version="test-2"
        )

    # crawler.archiving.parse_page looks the parser up at each call; forked workers inherit
    # the replacement.
    crawler.publishers.parse_article = slow_v2
    cli.main(["reparse", "--db", db_url, "--workers", workers], prog_name="newsarchive")


def _reparse_main(db_url: str, workers: str) -> None:
    from crawler.archiving import reparse
    from storage.db import open_archive

    # By its importable name, not as __main__.parser_v2: the spawned workers unpickle it.
    from tests.support.reliability_support import parser_v2 as named_parser

    engine = open_archive(db_url, for_writing=True)
    try:
        summary = reparse(engine, parser=named_parser, workers=int(workers))
    finally:
        engine.dispose()
    print(f"reparsed {summary.articles}: {summary.changed} rebuilt, {summary.unchanged} unchanged")


# --- WARC files ----------------------------------------------------------------------------------


def import_batches(seed: int, folder: Path, batches: int, per_batch: int) -> list[Path]:
    """WARC files of one growing archive: first captures, unchanged and edited recaptures, each
    file in shuffled time order (so some captures arrive after later ones of their article)."""
    rng = random.Random(seed)
    site = NewsisSite(seed=seed % 1000 + 1, articles=batches * per_batch // 2)
    pending = [a.article_id for a in reversed(site.live_articles())]
    archived: list[str] = []
    files = []
    at = WARC_T0
    for number in range(batches):
        records = []
        for _ in range(per_batch):
            at += timedelta(minutes=1)
            if pending and (not archived or rng.random() < 0.5):
                article_id = pending.pop(0)
                archived.append(article_id)
            else:
                article_id = rng.choice(archived)
                if rng.random() < 0.5:
                    site.edit_article(article_id, "headline")
            records.append((f"https://www.newsis.com/view/{article_id}", at, site.page(article_id)))
        rng.shuffle(records)
        path = folder / f"batch-{number:02d}.warc.gz"
        write_warc(
            path,
            [(url, at.strftime("%Y-%m-%dT%H:%M:%SZ"), body, 200) for url, at, body in records],
            headers=[("Content-Type", "text/html; charset=UTF-8")],
        )
        files.append(path)
    return files


if __name__ == "__main__":
    if sys.argv[1:2] == ["reparse"]:
        _reparse_main(*sys.argv[2:4])
    elif sys.argv[1:2] == ["cli-reparse"]:
        _cli_reparse_main(*sys.argv[2:4])
    else:
        sys.exit(f"usage: {sys.argv[0]} reparse|cli-reparse DB_URL WORKERS")

"""`newsarchive demo`: crawl a local Newsis-like site twice, catch its edits, show the history."""

from __future__ import annotations

import difflib
import shlex
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from crawler.commands.terminal import echo
from crawler.localsite.server import NewsisSite
from storage.db import ArchiveError, make_session_factory, open_archive
from storage.models import Article, Capture, Version

DEFAULT_DEMO_DB = "newsarchive-demo.sqlite3"
DEMO_ARTICLES = 60
DEMO_SEED = 7
# Site-clock minutes between the two crawls: long enough for a few new articles to appear.
DEMO_ADVANCE_MINUTES = 30
# SQLite's header field for "which application's file is this" (PRAGMA application_id): the demo
# stamps its files so a rerun may replace them, and refuses to replace anything else.
DEMO_APPLICATION_ID = 0x4E414443  # "NADC": newsarchive demo copy
# A guard against a hung crawl, not a timing expectation (a demo crawl takes a few seconds).
CRAWL_TIMEOUT = 300
KST = timezone(timedelta(hours=9))
EDITS = ("headline", "paragraph", "caption")


class DemoError(Exception):
    """Something the user can fix; printed as one line."""


@dataclass(frozen=True)
class Planned:
    article_id: str
    change: str  # headline / paragraph / caption / rnd


def _fail(message: str) -> None:
    echo(f"newsarchive demo: {message}", err=True)
    sys.exit(1)


def demo_path(db: str) -> Path:
    """The demo's SQLite file from --db (a path or a sqlite:/// URL)."""
    if db.startswith("sqlite:///"):
        db = db.removeprefix("sqlite:///")
    elif "://" in db:
        raise DemoError(f"the demo writes a fresh SQLite file; give --db a file path, not {db!r}")
    path = Path(db).expanduser().resolve()
    if path.is_dir():
        raise DemoError(f"{path} is a directory; give --db a file path")
    if not path.parent.is_dir():
        raise DemoError(f"no such directory for the demo database: {path.parent}")
    return path


def is_demo_file(path: Path) -> bool:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return connection.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
    except sqlite3.Error:  # not a SQLite file at all
        return False
    finally:
        connection.close()


def clear_demo_file(path: Path, fresh: bool) -> None:
    """Remove an earlier demo database; refuse to touch any other file unless --fresh."""
    if path.exists() and path.stat().st_size > 0 and not is_demo_file(path):
        if not fresh:
            raise DemoError(
                f"{path} exists and is not a demo database; choose another --db, or pass --fresh "
                f"to delete it and start over"
            )
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)


def create_demo_archive(db_url: str, path: Path) -> None:
    engine = open_archive(db_url, for_writing=True)  # brings the fresh file to the schema head
    engine.dispose()
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
        connection.commit()
    finally:
        connection.close()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`newsarchive ARGS` in a subprocess: each crawl needs a fresh Twisted reactor."""
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )


def crawl(db_url: str, base_url: str, *extra: str) -> str:
    result = run_cli("crawl", "--db", db_url, "--base-url", base_url, "--fast", *extra)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [result.stdout.strip()])[-1]
        raise DemoError(f"the crawl failed (exit {result.returncode}): {detail}")
    return result.stdout.strip()


def plan_changes(site: Any) -> list[Planned]:
    """Three articles to edit (one way each) and one whose photos get a new ?rnd= stamp."""
    candidates = [a for a in site.live_articles() if a.photos and a.body and not a.deleted]
    if len(candidates) < len(EDITS) + 1:
        raise DemoError("the local site has too few articles with photos for the demo")
    # Not the newest: those sit at the top of every feed anyway; pick from the middle.
    picked = candidates[len(candidates) // 3 :][: len(EDITS) + 1]
    plan = [Planned(a.article_id, what) for a, what in zip(picked, EDITS, strict=False)]
    return [*plan, Planned(picked[-1].article_id, "rnd")]


def apply_changes(site: Any, plan: list[Planned]) -> None:
    for change in plan:
        if change.change == "rnd":
            site.bump_photo_rnd(change.article_id)
        else:
            site.edit_article(change.article_id, change.change)


def kst(value: Any) -> str:
    return value.astimezone(KST).strftime("%Y-%m-%d %H:%M KST") if value else "-"


def version_lines(version: Version) -> list[str]:
    """The version as lines of text, for a line diff a reader can follow."""
    lines = [f"headline: {version.headline}"]
    lines += [f"subheadline: {text}" for text in version.subheadlines]
    lines += [f"caption {n}: {c.get('text')}" for n, c in enumerate(version.captions, 1)]
    lines += [f"paragraph {n}: {text}" for n, text in enumerate(version.body, 1)]
    return lines


def print_history_from_models(sessions: Any, article_id: str) -> None:
    with sessions() as session:
        versions = session.scalars(
            select(Version).where(Version.article_id == article_id).order_by(Version.version_no)
        ).all()
    for version in versions:
        click.echo(
            f"  v{version.version_no}  modified {kst(version.modified_at):<20}  "
            f"{version.headline}"
        )


def print_diff_from_models(sessions: Any, article_id: str) -> None:
    with sessions() as session:
        old, new = session.scalars(
            select(Version)
            .where(Version.article_id == article_id)
            .order_by(Version.version_no.desc())
            .limit(2)
        ).all()[::-1]
    diff = difflib.unified_diff(
        version_lines(old), version_lines(new),
        f"v{old.version_no}", f"v{new.version_no}", n=0, lineterm="",
    )
    for line in diff:
        click.echo(f"  {line}")


def show_through_cli(command: str, db_url: str, article_id: str) -> bool:
    """Run the query command in a subprocess, as a user would; False if it is not there yet."""
    from crawler.cli import COMMANDS

    if command not in COMMANDS:
        return False
    result = run_cli(command, article_id, "--db", db_url)
    if result.returncode != 0:
        return False
    for line in result.stdout.rstrip().splitlines():
        click.echo(f"  {line}")
    return True


def describe_outcomes(sessions: Any, plan: list[Planned], run_id_after: int) -> list[str]:
    """What the second crawl did with each changed article, read back from the archive."""
    labels = {
        "headline": "headline edited",
        "paragraph": "paragraph edited",
        "caption": "caption edited",
        "rnd": "photo ?rnd= stamp only",
    }
    lines = []
    with sessions() as session:
        for change in plan:
            versions = session.scalar(
                select(func.count()).select_from(Version).where(
                    Version.article_id == change.article_id
                )
            )
            outcome = session.scalar(
                select(Capture.outcome)
                .where(Capture.article_id == change.article_id, Capture.crawl_run_id > run_id_after)
                .order_by(Capture.capture_id.desc())
                .limit(1)
            )
            lines.append(
                f"  {change.article_id}  {labels[change.change]:<24} -> {outcome}, "
                f"{versions} version{'s' if versions != 1 else ''}"
            )
    return lines


def archive_counts(sessions: Any) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (Article, Version, Capture)
        )


def run_demo(path: Path, fresh: bool) -> None:
    site_class = NewsisSite
    clear_demo_file(path, fresh)
    db_url = f"sqlite:///{path}"
    create_demo_archive(db_url, path)
    started = time.monotonic()
    with site_class(seed=DEMO_SEED, articles=DEMO_ARTICLES) as site:
        click.echo(f"Local Newsis-like site on {site.base_url} ({DEMO_ARTICLES} articles)")
        click.echo(f"Archive: {path}\n")

        click.echo("1. First crawl (16 RSS feeds -> every article page, each stored once):")
        click.echo(f"  {crawl(db_url, site.base_url)}\n")

        plan = plan_changes(site)
        new_ids = site.advance(DEMO_ADVANCE_MINUTES)
        apply_changes(site, plan)
        click.echo(
            f"2. {DEMO_ADVANCE_MINUTES} minutes later on the site: {len(new_ids)} new articles;\n"
            f"  the newsroom edits {len(EDITS)} articles (a headline, a paragraph, a caption) and\n"
            f"  re-stamps one article's photo URLs (?rnd=): its page changes, its record not.\n"
        )
        articles, versions, captures = second_crawl(db_url, site.base_url, plan)

    click.echo(
        f"\nDone in {time.monotonic() - started:.1f} s. The archive holds {articles} articles, "
        f"{versions} versions, {captures} captures.\n"
    )
    print_next_steps(db_url, plan)


def second_crawl(db_url: str, base_url: str, plan: list[Any]) -> tuple[int, int, int]:
    """Steps 3 to 5: crawl again, say what became of each change, show one article's history
    and diff; the archive's counts (articles, versions, captures) after it."""
    engine = open_archive(db_url, for_writing=False)
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            first_run = session.scalar(select(func.max(Capture.crawl_run_id))) or 0
        click.echo("3. Second crawl (new articles, and a revisit of every archived one):")
        click.echo(f"  {crawl(db_url, base_url, '--revisit', 'all')}")
        for line in describe_outcomes(sessions, plan, first_run):
            click.echo(line)
        with sessions() as session:
            not_modified = session.scalar(
                select(func.count()).select_from(Capture).where(
                    Capture.crawl_run_id > first_run, Capture.outcome == "not_modified"
                )
            )
        click.echo(f"  {not_modified} other articles: 304 Not Modified, nothing new stored\n")

        shown = plan[0].article_id
        click.echo(f"4. History of {shown}:")
        if not show_through_cli("history", db_url, shown):
            print_history_from_models(sessions, shown)
        click.echo(f"\n5. What changed in {shown}:")
        if not show_through_cli("diff", db_url, shown):
            print_diff_from_models(sessions, shown)
        return archive_counts(sessions)
    finally:
        engine.dispose()


def print_next_steps(db_url: str, plan: list[Any]) -> None:
    others = " ".join(change.article_id for change in plan[1:])
    click.echo("Try next:")
    db = f"--db {shlex.quote(db_url)}"  # the other commands take a URL, not a path
    click.echo(f"  newsarchive history {plan[1].article_id} {db}")
    click.echo(f"  newsarchive show {plan[2].article_id} {db}")
    click.echo(f"  newsarchive diff {plan[2].article_id} {db}")
    # The site's headline edit marks the headline "(종합2보)": search finds the new version.
    click.echo(f"  newsarchive search 종합2보 {db}")
    click.echo(f"  newsarchive export {db} > articles.jsonl")
    click.echo(f"  (the other changed articles: {others})")


@click.command("demo")
@click.option(
    "--db", default=DEFAULT_DEMO_DB, show_default=True, metavar="FILE",
    help="The demo's SQLite file; an earlier demo file there is replaced.",
)
@click.option("--fresh", is_flag=True, help="Delete --db first even if it is not a demo file.")
def demo_command(db: str, fresh: bool) -> None:
    """Show what newsarchive does, in a few seconds, with no network: start a local Newsis-like
    site, crawl it into a fresh SQLite file, let the site edit some articles, crawl again, and
    print an edited article's history and diff.

    The site ships with newsarchive (crawler/localsite/). Politeness is off: the site is local.
    """
    try:
        run_demo(demo_path(db), fresh)
    except (DemoError, ArchiveError) as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "))

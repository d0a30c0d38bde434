"""`newsarchive demo`: crawl a local Newsis-like and Yonhap-like site twice, catch their edits,
deletions and an old article's edit (through the sitemap), show the history."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler.commands import demo_report as report
from crawler.commands.demo_report import KST, Planned, run_cli
from crawler.commands.terminal import echo
from crawler.localsite.server import NewsisSite
from storage.db import ArchiveError, make_session_factory, open_archive

DEFAULT_DEMO_DB = "newsarchive-demo.sqlite3"
DEMO_ARTICLES = 60
DEMO_YONHAP_ARTICLES = 30
DEMO_SEED = 7
# Of them, published 8 to 120 days ago (in no feed: the sitemaps find them) and sitemap-only.
DEMO_AGED = 6
DEMO_SITEMAP_ONLY = 2
# The demo does not wait between its crawls: it moves the archive's next checks this much
# earlier, as if it had; every article under a day old is then due (storage/versioning.py).
DEMO_HOURS_LATER = 1
# SQLite's header field for "which application's file is this" (PRAGMA application_id): the demo
# stamps its files so a rerun may replace them, and refuses to replace anything else.
DEMO_APPLICATION_ID = 0x4E414443  # "NADC": newsarchive demo copy
EDITS = ("headline", "paragraph", "caption")
# Changes to articles under a day old, one article each; then one aged article is edited.
FRESH_CHANGES = (*EDITS, "rnd", "touch", "delete")
AGED_DAYS = 8
# Yonhap's articles under a day old: one is edited, one deleted.
YONHAP_CHANGES = ("yonhap-edit", "yonhap-delete")


class DemoError(Exception):
    """Something the user can fix; printed as one line."""


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


def crawl(db_url: str, site: Any, *extra: str) -> str:
    """One `newsarchive crawl` of both publishers' local sites."""
    result = run_cli(
        "crawl", "--db", db_url, "--base-url", f"newsis={site.base_url}",
        "--base-url", f"yonhap={site.yonhap.base_url}", "--fast", *extra,
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [result.stdout.strip()])[-1]
        raise DemoError(f"the crawl failed (exit {result.returncode}): {detail}")
    return result.stdout.strip()


def plan_changes(site: Any, archived: set[str]) -> list[Planned]:
    """Six Newsis articles under a day old, one change each (three edits, a ?rnd= re-stamp, a
    touch, a deletion), two Yonhap ones (an edit, a deletion), and one archived Newsis article
    8+ days old to edit (last in the plan)."""
    now = datetime.now(KST)
    fresh = [
        a for a in site.listed_articles()
        if a.photos and a.body and a.design == "current" and now - a.published_at < timedelta(1)
    ]
    aged = [
        a for a in site.live_articles()
        if a.body and a.article_id in archived and now - a.published_at > timedelta(AGED_DAYS)
    ]
    if len(fresh) < len(FRESH_CHANGES) or not aged:
        raise DemoError("the local site has too few articles for the demo")
    # Not the newest: those sit at the top of every feed anyway; pick from the middle.
    picked = fresh[len(fresh) // 3 :][: len(FRESH_CHANGES)]
    plan = [Planned(a.article_id, what) for a, what in zip(picked, FRESH_CHANGES, strict=True)]
    yonhap = [
        a for a in site.listed_articles("yonhap")
        if a.body and a.article_id in archived and now - a.published_at < timedelta(1)
    ]
    if len(yonhap) < len(YONHAP_CHANGES):
        raise DemoError("the local Yonhap-like site has too few articles for the demo")
    picked_yonhap = yonhap[len(yonhap) // 3 :][: len(YONHAP_CHANGES)]
    plan += [Planned(a.article_id, what)
             for a, what in zip(picked_yonhap, YONHAP_CHANGES, strict=True)]
    return [*plan, Planned(aged[0].article_id, "old")]


def apply_changes(site: Any, plan: list[Planned]) -> None:
    actions = {
        "rnd": site.bump_photo_rnd,
        "touch": site.touch_article,
        "delete": site.delete_article,
        "yonhap-delete": site.delete_article,
        "yonhap-edit": lambda article_id: site.edit_article(article_id, "paragraph"),
        "old": lambda article_id: site.edit_article(article_id, "paragraph"),
    }
    for change in plan:
        if change.change in actions:
            actions[change.change](change.article_id)
        else:
            site.edit_article(change.article_id, change.change)


def first_crawl(db_url: str, site: Any, sessions: Any) -> set[str]:
    """Step 1; the ids it archived."""
    click.echo(
        "1. First crawl of both publishers (their RSS feeds and the sitemaps their robots.txt"
        " names;\n  each article stored once):"
    )
    click.echo(indented(crawl(db_url, site)))
    archived = report.archived_ids(sessions)
    now = datetime.now(KST)
    aged = [a for a in site.live_articles() if now - a.published_at > timedelta(AGED_DAYS)]
    only = [a for a in site.live_articles() if a.sitemap_only]
    click.echo(
        f"  among them {sum(a.article_id in archived for a in aged)} articles {AGED_DAYS}+ days"
        f" old and {sum(a.article_id in archived for a in only)} found only in the sitemaps\n"
    )
    return archived


def run_demo(path: Path, fresh: bool) -> None:
    clear_demo_file(path, fresh)
    db_url = f"sqlite:///{path}"
    create_demo_archive(db_url, path)
    started = time.monotonic()
    # Writing: the demo moves the archive's next checks (report.pretend_time_passed).
    engine = open_archive(db_url, for_writing=True)
    sessions = make_session_factory(engine)
    site = NewsisSite(
        seed=DEMO_SEED, articles=DEMO_ARTICLES, clock="real", aged=DEMO_AGED,
        sitemap_only=DEMO_SITEMAP_ONLY, yonhap_articles=DEMO_YONHAP_ARTICLES,
    )
    try:
        with site:
            click.echo(
                f"Local Newsis-like site on {site.base_url} ({DEMO_ARTICLES} articles) and"
                f" Yonhap-like site\non {site.yonhap.base_url} ({DEMO_YONHAP_ARTICLES} articles),"
                " on the real clock"
            )
            click.echo(f"Archive: {path}\n")
            plan = plan_changes(site, first_crawl(db_url, site, sessions))
            # The site stamps its changes in whole seconds: after the first crawl's fetches.
            time.sleep(1)
            apply_changes(site, plan)
            report.pretend_time_passed(sessions, DEMO_HOURS_LATER)
            print_newsroom(plan)
            second_crawl(db_url, site, plan, sessions)
        articles, versions, captures = report.archive_counts(sessions)
        per_publisher = report.articles_per_publisher(sessions)
    finally:
        engine.dispose()
    click.echo(
        f"\nDone in {time.monotonic() - started:.1f} s. The archive holds {articles} articles"
        f" ({per_publisher}), {versions} versions, {captures} captures.\n"
    )
    report.print_next_steps(db_url, plan)


def print_newsroom(plan: list[Planned]) -> None:
    old = plan[-1].article_id
    click.echo(
        f"2. Then Newsis's newsroom edits {len(EDITS)} articles (a headline, a paragraph, a"
        " caption),\n  re-stamps one article's photo URLs (?rnd=: its page changes, its record"
        " not), shows a\n  new 수정 time on one with nothing else changed (a touch), deletes"
        f" one, and edits\n  {old}, {AGED_DAYS}+ days old: its sitemap <lastmod> moves."
        " Yonhap's edits a paragraph\n  of one article and deletes another.\n"
        f"  (The demo does not wait {DEMO_HOURS_LATER} hour: it moves the archive's next checks"
        f" {DEMO_HOURS_LATER} hour earlier,\n  as if it had. Articles under a day old are then"
        " due for a revisit; older ones are not.)\n"
    )


def second_crawl(db_url: str, site: Any, plan: list[Planned], sessions: Any) -> None:
    """Steps 3 to 6: crawl again (a plain crawl), say what it caught and how, show the history
    and diff of an edited article and the history of the deleted one."""
    old_next_check = report.next_check(sessions, plan[-1].article_id)
    click.echo("3. Second crawl, a plain `newsarchive crawl` (due revisits, and the sitemaps):")
    click.echo(indented(crawl(db_url, site)))
    run_id = report.last_run_id(sessions)
    report.describe_outcomes(sessions, plan, run_id)
    report.print_caught(sessions, plan, run_id, old_next_check)
    report.print_events(sessions, run_id)

    by_change = {change.change: change.article_id for change in plan}
    shown = by_change["headline"]
    click.echo(f"\n4. History of {shown}:")
    report.show_through_cli("history", db_url, shown)
    click.echo(f"\n5. What changed in {shown}:")
    report.show_through_cli("diff", db_url, shown)
    click.echo(f"\n6. History of the deleted article {by_change['delete']}:")
    report.show_through_cli("history", db_url, by_change["delete"])
    click.echo(f"\n7. History of the edited Yonhap article {by_change['yonhap-edit']}:")
    report.show_through_cli("history", db_url, by_change["yonhap-edit"])


def indented(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())

@click.command("demo")
@click.option(
    "--db", default=DEFAULT_DEMO_DB, show_default=True, metavar="FILE",
    help="The demo's SQLite file; an earlier demo file there is replaced.",
)
@click.option("--fresh", is_flag=True, help="Delete --db first even if it is not a demo file.")
def demo_command(db: str, fresh: bool) -> None:
    """Show what newsarchive does, in a few seconds, with no network: start a local Newsis-like
    and Yonhap-like site, crawl both into a fresh SQLite file, let the sites edit, touch and
    delete some articles and edit an old one, crawl again (a plain crawl), and print what it
    caught: the old article through its sitemap <lastmod>, the deletions through due revisits;
    then an edited article's history and diff.

    The site ships with newsarchive (crawler/localsite/). Politeness is off: the site is local.
    """
    try:
        run_demo(demo_path(db), fresh)
    except (DemoError, ArchiveError) as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "))

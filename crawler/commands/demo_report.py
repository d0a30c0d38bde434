"""What `newsarchive demo` prints about its second crawl, read back from the archive."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import click
from sqlalchemy import func, select

from crawler.commands.terminal import echo
from storage.changes import list_changes
from storage.models import Article, Capture, CrawlRun, Version

KST = timezone(timedelta(hours=9))
# A guard against a hung crawl, not a timing expectation (a demo crawl takes a few seconds).
CRAWL_TIMEOUT = 300
LABELS = {
    "headline": "headline edited",
    "paragraph": "paragraph edited",
    "caption": "caption edited",
    "rnd": "photo ?rnd= stamp only",
    "touch": "touched (수정 time only)",
    "delete": "deleted",
    "old": "old article edited",
    "yonhap-edit": "Yonhap: paragraph edited",
    "yonhap-delete": "Yonhap: deleted",
}


@dataclass(frozen=True)
class Planned:
    article_id: str
    change: str  # a key of LABELS


def kst(value: datetime | None) -> str:
    return value.astimezone(KST).strftime("%Y-%m-%d %H:%M KST") if value else "-"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`newsarchive ARGS` in a subprocess: each crawl needs a fresh Twisted reactor."""
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )


def show_through_cli(command: str, db_url: str, article_id: str) -> None:
    """Run the query command in a subprocess, as a user would, and indent what it prints."""
    result = run_cli(command, article_id, "--db", db_url)
    text = result.stdout if result.returncode == 0 else result.stderr
    for line in text.rstrip().splitlines():
        click.echo(f"  {line}")


def last_run_id(sessions: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.max(CrawlRun.crawl_run_id))) or 0


def pretend_time_passed(sessions: Any, hours: float) -> None:
    """Every article's next check moved `hours` earlier: the schedule as if that much time had
    passed since the first crawl (the site's clock, and the archive's history, stay real)."""
    with sessions() as session:
        for article in session.scalars(select(Article).where(Article.next_check_at.is_not(None))):
            article.next_check_at -= timedelta(hours=hours)
        session.commit()


def next_check(sessions: Any, article_id: str) -> datetime | None:
    with sessions() as session:
        return session.scalar(
            select(Article.next_check_at).where(Article.article_id == article_id)
        )


def archived_ids(sessions: Any) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Article.article_id)))


def run_capture(sessions: Any, article_id: str, run_id: int) -> tuple[int | None, str | None]:
    """The status and outcome of the article's last capture in the run (None, None: none)."""
    with sessions() as session:
        row = session.execute(
            select(Capture.status, Capture.outcome)
            .where(Capture.article_id == article_id, Capture.crawl_run_id == run_id)
            .order_by(Capture.capture_id.desc())
            .limit(1)
        ).first()
    return (row.status, row.outcome) if row else (None, None)


def describe_outcomes(sessions: Any, plan: list[Planned], run_id: int) -> None:
    """What the run did with each changed article: its capture's outcome, its versions."""
    for change in plan:
        with sessions() as session:
            versions = session.scalar(
                select(func.count()).select_from(Version).where(
                    Version.article_id == change.article_id
                )
            )
        _, outcome = run_capture(sessions, change.article_id, run_id)
        click.echo(
            f"  {change.article_id}  {LABELS[change.change]:<24} -> {outcome or 'not fetched'}, "
            f"{versions} version{'s' if versions != 1 else ''}"
        )
    with sessions() as session:
        not_modified = session.scalar(
            select(func.count()).select_from(Capture).where(
                Capture.crawl_run_id == run_id, Capture.outcome == "not_modified"
            )
        )
    click.echo(f"  {not_modified} other due articles: 304 Not Modified, nothing new stored")


def print_events(sessions: Any, run_id: int) -> None:
    """The run's events, as `newsarchive changes` gives them (storage.changes)."""
    with sessions() as session:
        found = list(list_changes(session, crawl_run_ids=[run_id]))
    click.echo(f"  The run's events ({len(found)}), as `newsarchive changes` lists them:")
    for change in found:
        fields = f"  fields: {', '.join(change.fields)}" if change.fields else ""
        version = f"v{change.version}" if change.version is not None else "-"
        echo(f"    {kst(change.at)}  {change.kind:<12} {change.article_id}  {version}{fields}")


def print_caught(
    sessions: Any, plan: list[Planned], run_id: int, old_next_check: datetime | None
) -> None:
    """The old article the sitemap brought back and the deletion the revisit found."""
    by_change = {change.change: change.article_id for change in plan}
    with sessions() as session:
        started = session.scalar(
            select(CrawlRun.started_at).where(CrawlRun.crawl_run_id == run_id)
        )
        published = session.scalar(
            select(Article.published_at).where(Article.article_id == by_change["old"])
        )
    _, old_outcome = run_capture(sessions, by_change["old"], run_id)
    not_due = old_next_check is not None and started is not None and old_next_check > started
    days = (datetime.now(UTC) - published).days if published else "?"
    if old_outcome == "new_version" and not_due:
        click.echo(
            f"  Caught through the sitemap: {by_change['old']}, published {days} days ago and"
            f" not due for a revisit\n  until {kst(old_next_check)}: its <lastmod> moved, so"
            " this plain crawl fetched it again."
        )
    else:
        click.echo(f"  The old article {by_change['old']}: {old_outcome or 'not fetched'}.")
    gone_status, gone_outcome = run_capture(sessions, by_change["delete"], run_id)
    if gone_outcome == "deleted":
        click.echo(
            f"  Caught by its due revisit: {by_change['delete']}, in no feed or sitemap any"
            f" more, answered\n  HTTP {gone_status} (to /error/): recorded as deleted, its last"
            " version still readable."
        )
    else:
        click.echo(f"  The deleted article {by_change['delete']}: {gone_outcome or 'not fetched'}.")


def articles_per_publisher(sessions: Any) -> str:
    """"newsis 60, yonhap 30": the archive's articles by publisher."""
    with sessions() as session:
        rows = session.execute(
            select(Article.publisher, func.count()).group_by(Article.publisher)
            .order_by(Article.publisher)
        ).all()
    return ", ".join(f"{publisher} {count}" for publisher, count in rows)


def archive_counts(sessions: Any) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (Article, Version, Capture)
        )


def print_next_steps(db_url: str, plan: list[Planned]) -> None:
    by_change = {change.change: change.article_id for change in plan}
    db = f"--db {shlex.quote(db_url)}"  # the other commands take a URL, not a path
    click.echo("Try next:")
    click.echo(f"  newsarchive changes {db}")
    click.echo(f"  newsarchive history {by_change['old']} {db}")
    click.echo(f"  newsarchive show {by_change['delete']} {db}")
    click.echo(f"  newsarchive diff {by_change['caption']} {db}")
    # The site's headline edit marks the headline "(종합2보)": search finds the new version.
    click.echo(f"  newsarchive search 종합2보 {db}")
    click.echo(f"  newsarchive export {db} > articles.jsonl")
    click.echo(f"  newsarchive export --publisher yonhap {db} > yonhap.jsonl")
    click.echo(f"  newsarchive show {by_change['yonhap-delete']} {db}")
    click.echo(f"  (the other changed articles: {by_change['paragraph']} {by_change['rnd']})")
    click.echo(
        f"\nSee it in your browser: newsarchive serve --db {shlex.quote(db_url)}"
        "  (http://127.0.0.1:8000)"
    )

"""`newsarchive crawl`: one cron-safe crawl run of the publishers into the archive, one summary
line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from crawler.commands.common import db_option, fail, handle_errors
from crawler.commands.crawl_options import (
    base_urls_option,
    publisher_option,
    revisit_budget_option,
    revisit_option,
    scrapy_options,
    since_option,
)
from crawler.commands.terminal import echo, json_safe, progress
from crawler.crawl_run import DRIFT_EXIT_CODE, LOCKED_EXIT_CODE, run_crawl
from crawler.crawl_targets import crawl_targets
from crawler.notify import NOTIFY_ENV_VAR, check_webhook_url
from crawler.publishers import UnknownPublisher
from crawler.runlock import RunLockBusy
from storage.db import redact_url, resolve_db_url


def _webhook(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_webhook_url(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


# `crawl --help`; a constant, not the docstring: the command function stays short.
CRAWL_HELP = """\
Crawl the publishers once: new articles from their RSS feeds, the sitemaps robots.txt
names (and the lists with --since); due revisits with conditional requests (a 304 when
unchanged); every fetch stored. Prints one summary line.

\b
What is crawled, from where (all in one run, each site at its own pace):
  no --base-url           every installed publisher (or those --publisher names), each
                          from its real site
  --base-url [NAME=]URL   only the publishers given a base URL (a crawl of mirrors never
                          reaches a real site); --publisher NAME without one is refused:
                          give NAME=its real origin to mean the real site
A bare URL is newsis's. The summary names each publisher's fetches when there are several;
a publisher whose site could not be read fails the run, named in the note.

Revisits: at most --revisit-budget due ones of each publisher (storage's schedule), the
longest overdue first, and every archived article whose sitemap <lastmod> is later than
its last check. A 404, 410 or redirect to the error page is recorded as a deletion; a
failed fetch (5xx, 429, timeout, captcha) never is. README: "Crawl from cron".

Safe under cron: a run started while another is going on the same database exits at once.
A run killed half-way leaves only whole captures; the next run marks it interrupted.

--notify: after the pages are stored, the run's events go to the webhook as one JSON list
(at most 3 tries, ~30 s in all); a failure is named in the summary line, the events wait
in the archive for the next run with --notify, and the exit code does not change.

\b
Exit codes:
  0   the run finished
  1   the run failed (site unreachable, pages not stored, stopped early) or bad database
  2   bad command line
  65  layout drift: the share of pages that fail to parse or lack a field jumped against
      recent runs (the pages are stored; check the parser)
  75  another crawl is running on this database (try again later)
"""


@click.command("crawl", help=CRAWL_HELP)
@db_option
@publisher_option
@base_urls_option
@since_option
@revisit_option
@revisit_budget_option
@scrapy_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--notify", "notify_url", metavar="URL", envvar=NOTIFY_ENV_VAR, show_envvar=True,
    callback=lambda _context, _param, value: _webhook(value),
    help="After the run, POST its events (as `changes --json`, each with an idempotency_key)"
    " to this webhook; a failed delivery is retried with the next run's.",
)
@handle_errors
def crawl_command(
    db_url: str | None,
    publishers: tuple[str, ...],
    base_urls: dict[str, str],
    since: datetime | None,
    revisit: str,
    revisit_budget: int,
    fast: bool,
    overrides: dict[str, Any],
    log_level: str,
    as_json: bool,
    notify_url: str | None,
) -> None:
    """One crawl run, its summary printed (the help: CRAWL_HELP)."""
    try:
        crawl_targets(publishers, base_urls)
    except (UnknownPublisher, ValueError) as error:
        raise click.UsageError(str(error).strip("'\"")) from None
    run_and_report(
        resolve_db_url(db_url),
        as_json,
        publishers=publishers,
        base_urls=base_urls,
        since=since.date() if since else None,
        revisit=revisit,
        revisit_budget=revisit_budget,
        fast=fast,
        overrides={"LOG_LEVEL": log_level, **overrides},
        notify_url=notify_url,
    )


def run_and_report(db_url: str, as_json: bool, **options: Any) -> None:
    """One run, its summary printed (a line or JSON), its exit code made the process's."""
    try:
        # A count of fetches on a terminal: a --since backfill runs for minutes.
        with progress(None, "fetched") as bar:
            summary = run_crawl(db_url, on_fetch=lambda: bar.update(1), **options)
    except RunLockBusy as error:
        fail(f"{error} ({redact_url(db_url)}); exiting", LOCKED_EXIT_CODE)
    if as_json:
        click.echo(json_safe(json.dumps(summary.to_dict(), ensure_ascii=False)))
    else:
        echo(summary.line())
    if summary.drift is not None and summary.drift.is_drift:
        echo(f"newsarchive: warning: {summary.drift.message()}", err=True)
    if summary.exit_code:
        sys.exit(summary.exit_code)


__all__ = ["DRIFT_EXIT_CODE", "crawl_command"]

"""`newsarchive schedule` and `newsarchive worker`: the scale-out mode (docs/DEPLOYMENT.md)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from crawler.commands.common import SecondsRange, shared_db_option
from crawler.commands.crawl_options import (
    base_urls_option,
    publisher_option,
    revisit_budget_option,
    revisit_option,
    scrapy_options,
    since_option,
)
from crawler.commands.terminal import echo, json_safe
from crawler.crawl_targets import crawl_targets
from crawler.scaleout.shared_queue import DEFAULT_PREFIX, REDIS_ENV_VAR
from storage.db import ArchiveError, resolve_db_url
from storage.db_url import redact_url

FAILED_EXIT_CODE = 1
BUSY_EXIT_CODE = 75  # sysexits.h EX_TEMPFAIL, as for a crawl meeting a running crawl

redis_option = click.option(
    "--redis", "redis_url", envvar=REDIS_ENV_VAR, required=True, metavar="URL",
    show_envvar=True, help="The shared Redis, e.g. redis://:password@queue-host:6379/0.",
)
prefix_option = click.option(
    "--key-prefix", default=DEFAULT_PREFIX, show_default=True, envvar="NEWSARCHIVE_REDIS_PREFIX",
    show_envvar=True, help="Prefix of every Redis key: one per archive sharing a Redis.",
)

def lane_base_urls(chosen: tuple[str, ...], base_urls: dict[str, str]) -> dict[str, str]:
    """The base URL of each chosen publisher's lane, by the crawl's rules
    (crawler.crawl_targets: with base URLs, only the publishers given one); click.BadParameter
    for an unknown name or a chosen publisher without one."""
    try:
        return crawl_targets(chosen, base_urls)
    except (ValueError, LookupError) as error:
        raise click.BadParameter(str(error), param_hint="--publisher/--base-url") from None


def _fail(command: str, message: str, code: int = FAILED_EXIT_CODE) -> None:
    echo(f"newsarchive {command}: {message}", err=True)
    sys.exit(code)


@click.command("schedule")
@redis_option
@shared_db_option
@prefix_option
@publisher_option
@base_urls_option
@since_option
@revisit_option
@revisit_budget_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
def schedule_command(
    redis_url: str, db_url: str, key_prefix: str, publishers: tuple[str, ...],
    base_urls: dict[str, str], since: datetime | None, revisit: str, revisit_budget: int,
    as_json: bool,
) -> None:
    """Start a round for the workers in each publisher's lane: queue its feeds, the backfill's
    list pages (--since) and the due revisits (at most --revisit-budget per publisher) on the
    shared Redis queue, then exit. Run it from cron. Sitemaps are not read by rounds: run a
    plain `newsarchive crawl` for them (docs/DEPLOYMENT.md).

    Per lane it also closes the previous round (a crawl_runs row of kind "round") and puts
    requests taken by workers that died back on the queue. Requests the last round still has
    queued are carried into the new one, never queued twice; queue entries that are not
    requests of the lane's publisher are removed and counted. Prints one line per publisher
    (--json: one object, by publisher).

    \b
    Exit codes: 0 queued (also when the last round is still queued), 1 Redis or the database
    unreachable or not upgraded, 2 bad command line, 75 another scheduling job holds a
    chosen lane's lock, nothing planned (try again later; a killed job's lock expires
    within 20 s).
    """
    from crawler.scaleout.rounds import ScheduleBusy, schedule_rounds

    base_urls = lane_base_urls(publishers, base_urls)
    try:
        plans = schedule_rounds(
            redis_url, resolve_db_url(db_url), prefix=key_prefix, base_urls=base_urls,
            since=since.date() if since else None, revisit=revisit,
            revisit_budget=revisit_budget,
        )
    except ScheduleBusy as error:
        _fail("schedule", f"{error} ({redact_url(redis_url)}); exiting", BUSY_EXIT_CODE)
    except (ConnectionError, ArchiveError) as error:
        _fail("schedule", str(error))
    if as_json:
        by_publisher = {plan.publisher: plan.to_dict() for plan in plans}
        click.echo(json_safe(json.dumps(by_publisher, ensure_ascii=False)))
        return
    for plan in plans:
        if plan.previous:
            echo(f"{plan.publisher}: previous {plan.previous}")
        echo(plan.line())


@click.command("worker")
@redis_option
@shared_db_option
@prefix_option
@publisher_option
@base_urls_option
@click.option(
    "--idle-exit", type=SecondsRange(), metavar="SECONDS",
    help="Stop once nothing was queued or taken anywhere for this long (default: never).",
)
@scrapy_options
def worker_command(
    redis_url: str, db_url: str, key_prefix: str, publishers: tuple[str, ...],
    base_urls: dict[str, str], idle_exit: float | None, fast: bool,
    overrides: dict[str, Any], log_level: str,
) -> None:
    """Fetch from the shared queue and store into the shared archive, until stopped: one
    crawler per chosen publisher (default: all), each on its publisher's lane.

    Run any number, on any machines (docs/DEPLOYMENT.md has a systemd unit). Duplicate
    fetches across workers are filtered in Redis; what a worker took and did not finish goes
    back on the queue when it stops, or, if it was killed, once its heartbeat expires.
    Prints one line per publisher when it stops.
    """
    from crawler.scaleout.worker import run_worker

    base_urls = lane_base_urls(publishers, base_urls)
    try:
        summaries = run_worker(
            redis_url, resolve_db_url(db_url), prefix=key_prefix, base_urls=base_urls,
            idle_exit=idle_exit, fast=fast, overrides={"LOG_LEVEL": log_level, **overrides},
        )
    except (ConnectionError, ArchiveError) as error:
        _fail("worker", str(error))
    for name, summary in summaries.items():
        echo(f"{name}: {summary.line()}")
    if any(s.finish_reason not in ("finished", "shutdown") for s in summaries.values()):
        sys.exit(FAILED_EXIT_CODE)

"""The options of the commands that crawl or queue a crawl: crawl, schedule and worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from crawler.commands.common import check_time_range
from crawler.origins import parse_base_urls
from crawler.spiders.newsis import DEFAULT_REVISIT_BUDGET, REVISIT_MODES

F = TypeVar("F", bound=Callable[..., Any])


def _overrides(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    settings: dict[str, Any] = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
        settings[name.strip()] = setting
    return settings


def _base_urls(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    try:
        return parse_base_urls(values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


# crawl, schedule and worker fetch several publishers' sites: one --base-url each.
base_urls_option = click.option(
    "--base-url", "base_urls", multiple=True, callback=_base_urls, envvar="NEWSARCHIVE_BASE_URL",
    show_envvar=True, metavar="[NAME=]URL",
    help="Fetch publisher NAME's site from URL (e.g. a local copy; repeatable; a bare URL is"
    " newsis's; the variable takes them separated by spaces). Records keep the canonical URLs"
    " (https://www.newsis.com/…). Default: every publisher's real site.",
)
publisher_option = click.option(
    "--publisher", "publishers", multiple=True, metavar="NAME",
    help="Crawl this installed publisher (repeatable): newsis, yonhap or a plug-in's name"
    " (docs/PUBLISHERS.md). Default: every installed publisher, or with --base-url only those"
    " given one. A publisher"
    " chosen here with no --base-url while others have one is refused: give NAME=its real"
    " origin to mean the real site.",
)


def _backfill_start(_ctx: click.Context, _param: click.Parameter, value: datetime | None):
    if value is not None:
        check_time_range(value.replace(tzinfo=UTC))
    return value


since_option = click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    callback=_backfill_start,
    help="Backfill: also page back through the section lists and /realnews/ to this date.",
)
revisit_option = click.option(
    "--revisit", type=click.Choice(REVISIT_MODES), default="due", show_default=True,
    help="Archived articles to fetch again: those due by their schedule (at most"
    " --revisit-budget, the longest overdue first; and any a sitemap's <lastmod> says changed"
    " since its last check), all (every one, no budget), or none.",
)
revisit_budget_option = click.option(
    "--revisit-budget", type=click.IntRange(0, 1_000_000), default=DEFAULT_REVISIT_BUDGET,
    show_default=True, metavar="N",
    help="At most N due revisits a run, the longest overdue first; the rest wait for the"
    " next run.",
)

_scrapy_options = (
    click.option(
        "--fast", is_flag=True,
        help="Politeness off (no throttle or delay, more requests at once): local sites only.",
    ),
    click.option(
        "-s", "--set", "overrides", multiple=True, callback=_overrides, metavar="NAME=VALUE",
        help="Override a Scrapy setting"
        " (e.g. -s USER_AGENT='…' -s CONCURRENT_REQUESTS_PER_DOMAIN=1).",
    ),
    # LEVEL, not the four choices, as metavar: the long choice list would squeeze every help.
    click.option(
        "--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
        default="WARNING", show_default=True, metavar="LEVEL",
        help="Scrapy's log on stderr: DEBUG, INFO, WARNING or ERROR.",
    ),
)


def scrapy_options(func: F) -> F:
    """--fast, -s/--set and --log-level: how the commands that run Scrapy (crawl, worker) fetch."""
    for option in reversed(_scrapy_options):
        func = option(func)
    return func

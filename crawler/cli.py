"""The `newsarchive` command line: a click group; each command's docstring is its --help."""

from __future__ import annotations

import importlib

import click

# name: (module:attribute, the first sentence of the command's docstring).
# A command's module loads only when that command runs or shows its own --help: the crawl
# commands import Scrapy and Twisted (~0.7 s), which a `stats` or a `show` must not pay, nor
# every subprocess the tests start. `newsarchive --help` lists the sentences kept here, so that
# it loads no command at all; tests/cli/test_cli.py checks each against its docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "changes": (
        "crawler.commands.change_feed:changes_command",
        "Every change seen, oldest first: new articles, new versions, deletions, restorations"
        " and touches.",
    ),
    "crawl": (
        "crawler.commands.crawling:crawl_command",
        "Crawl the publishers once: new articles from their RSS feeds, the sitemaps robots.txt"
        " names (and the lists with --since); due revisits with conditional requests (a 304 when"
        " unchanged); every fetch stored.",
    ),
    "db": (
        "crawler.commands.maintenance:db_group",
        "Manage the archive's schema (Alembic migrations).",
    ),
    "demo": (
        "crawler.commands.demo:demo_command",
        "Show what newsarchive does, in a few seconds, with no network: start a local"
        " Newsis-like and Yonhap-like site, crawl both into a fresh SQLite file, let the sites"
        " edit, touch and delete some articles and edit an old one, crawl again (a plain crawl),"
        " and print what it caught: the old article through its sitemap <lastmod>, the"
        " deletions through due revisits; then an edited article's history and diff.",
    ),
    "diff": (
        "crawler.commands.diffing:diff_command",
        "What changed in article ID between two versions (default: the last two), field by field.",
    ),
    "export": (
        "crawler.commands.exporting:export_command",
        "Records as JSONL or CSV, or the raw captures as a WARC file, streamed.",
    ),
    "history": (
        "crawler.commands.query:history_command",
        "The versions of article ID (an id or any article URL), with when each was first and last"
        " seen.",
    ),
    "import": (
        "crawler.commands.maintenance:import_command",
        "Ingest pages saved elsewhere: WARC files (.warc, .warc.gz) or one HTML file.",
    ),
    "parse": (
        "crawler.commands.parse:parse_command",
        "Print the article record of one saved page (PAGE a file, or - for stdin) as JSON.",
    ),
    "reparse": (
        "crawler.commands.maintenance:reparse_command",
        "Re-derive versions from the stored captures with the current parser, offline.",
    ),
    "schedule": (
        "crawler.commands.scaleout:schedule_command",
        "Start a round for the workers in each publisher's lane: queue its feeds, the backfill's"
        " list pages (--since) and the due revisits (at most --revisit-budget per publisher) on"
        " the shared Redis queue, then exit.",
    ),
    "search": (
        "crawler.commands.query:search_command",
        "Articles whose headline, subheadlines, body or captions hold TEXT, newest published"
        " first.",
    ),
    "serve": (
        "crawler.commands.serve:serve_command",
        "Browse the archive in a web browser, read-only: changes, articles, diffs, captures,"
        " search and crawl health, each also as JSON (?format=json).",
    ),
    "show": (
        "crawler.commands.query:show_command",
        "One version of article ID (default: the current one), readable or as its record"
        " (--json).",
    ),
    "stats": (
        "crawler.commands.query:stats_command",
        "Counts of articles, versions, captures (by outcome), stored bodies, crawl runs; sizes.",
    ),
    "worker": (
        "crawler.commands.scaleout:worker_command",
        "Fetch from the shared queue and store into the shared archive, until stopped: one"
        " crawler per chosen publisher (default: all), each on its publisher's lane.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported by name, when one is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name][0].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Stand-ins holding only the sentence: click shortens and lays them out as it would
        # the real commands, without importing them.
        listing = click.Group(
            commands=[click.Command(name, help=summary) for name, (_, summary) in COMMANDS.items()]
        )
        listing.format_commands(ctx, formatter)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="newsarchive")
def cli() -> None:
    """Archive Korean news agencies' articles (Newsis, Yonhap, any publisher plug-in): crawl,
    keep every fetch, track every edit.

    Start with `newsarchive demo`; the database is a SQLite file in the working directory
    unless --db or NEWSARCHIVE_DB names another (e.g. postgresql+psycopg://user@host/db).
    """


def main() -> None:
    cli()

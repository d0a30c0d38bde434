"""The `newsarchive` command line: a click group; each command's docstring is its --help."""

from __future__ import annotations

import click

from crawler.commands.archive import db_group, import_command, reparse_command
from crawler.commands.crawl import crawl_command
from crawler.commands.demo import demo_command
from crawler.commands.distributed import schedule_command, worker_command
from crawler.commands.parse import parse_command
from crawler.commands.query import (
    diff_command,
    export_command,
    history_command,
    search_command,
    show_command,
    stats_command,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="newsarchive")
def cli() -> None:
    """Archive Newsis (www.newsis.com) articles: crawl, keep every fetch, track every edit.

    Start with `newsarchive demo`; the database is a SQLite file in the working directory
    unless --db or NEWSARCHIVE_DB names another (e.g. postgresql+psycopg://user@host/db).
    """


cli.add_command(parse_command)
cli.add_command(history_command)
cli.add_command(show_command)
cli.add_command(diff_command)
cli.add_command(search_command)
cli.add_command(export_command)
cli.add_command(stats_command)
cli.add_command(crawl_command)
cli.add_command(schedule_command)
cli.add_command(worker_command)
cli.add_command(demo_command)
cli.add_command(db_group)
cli.add_command(import_command)
cli.add_command(reparse_command)


def main() -> None:
    cli()

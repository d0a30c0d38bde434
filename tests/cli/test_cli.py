"""The command group: every command listed with its own first sentence, each loaded on demand."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from crawler.cli import COMMANDS, cli
from storage.db import upgrade

CRAWL_MODULES = ("scrapy", "twisted.internet.reactor", "redis", "scrapy_redis")


def first_sentence(command: click.Command) -> str:
    return command.get_short_help_str(limit=10**6)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_summary_is_the_first_sentence_of_the_commands_docstring(name):
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert first_sentence(click.Command(name, help=COMMANDS[name][1])) == first_sentence(command)


def test_help_lists_every_command_as_click_would_with_all_of_them_loaded():
    context = click.Context(cli)
    loaded = click.Group(commands=[cli.get_command(context, name) for name in COMMANDS])
    for width in (60, 80, 100):
        lazy, eager = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
        cli.format_commands(context, lazy)
        loaded.format_commands(context, eager)
        assert lazy.getvalue() == eager.getvalue()
    listing = CliRunner().invoke(cli, ["--help"]).output
    assert all(f"  {name} " in listing for name in COMMANDS)


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["crwal"])
    assert result.exit_code == 2 and "No such command 'crwal'" in result.output


def modules_loaded_by(*args: str) -> list[str]:
    """Which crawl-only modules a fresh interpreter has imported after running the command."""
    code = (
        "import json, sys\n"
        "from crawler.cli import cli\n"
        f"cli.main({list(args)!r}, standalone_mode=False)\n"
        f"print(json.dumps([m for m in {CRAWL_MODULES!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_listing_the_commands_imports_no_crawl_module():
    assert modules_loaded_by("--help") == []


def test_a_query_command_imports_no_crawl_module(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    upgrade(url)  # a query command opens only an archive that exists
    assert modules_loaded_by("stats", "--db", url) == []


def test_the_crawl_command_does_import_scrapy():
    # The check above can fail: asking for the crawl command's help does load Scrapy.
    assert "scrapy" in modules_loaded_by("crawl", "--help")

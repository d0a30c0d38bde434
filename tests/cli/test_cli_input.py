"""Every number and time option has a range, and parse takes only Newsis article URLs."""

from __future__ import annotations

import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler.cli import COMMANDS, cli
from tests.reliability.test_hostile_cli import error_lines, offsite_links

URL = "https://www.newsis.com/view/NISX20241115_0002960118"
TIME_OPTIONS = {"since", "until", "fetched_at"}
BAD_NUMBERS = ["9" * 20, "-9" + "9" * 20, "-1", "abc", "1e999", "nan", "inf", " ", "0x10"]
BAD_TIMES = [
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "1000-01-01T00:00:00+09:00",
    "9999-12-31T23:59:59+14:00",
    "-1",
    "abc",
    "2024-01-01T00:00:00+25:00",
    "2024-02-30",
]


def every_command() -> list[tuple[list[str], click.Command]]:
    """(path of names, command) of every command and sub-command of `newsarchive`."""
    found = []
    for name, (target, _) in COMMANDS.items():
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if isinstance(command, click.Group):
            found += [([name, sub], child) for sub, child in command.commands.items()]
        else:
            found.append(([name], command))
    return found


def number_and_time_options() -> list[tuple[list[str], click.Command, click.Option]]:
    return [
        (path, command, option)
        for path, command in every_command()
        for option in command.params
        if isinstance(option, click.Option)
        and (
            isinstance(option.type, click.types._NumberParamTypeBase)
            or option.name in TIME_OPTIONS
        )
    ]


def required_arguments(command: click.Command, page: Path) -> list[str]:
    """Values for what a command needs besides the option under test: bad options must be
    refused before any of these is used."""
    args: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            args.append(str(page) if param.name in ("page", "files") else "NISX20241115_0002960118")
        elif param.required or param.name == "url":
            args += [param.opts[0], URL if param.name == "url" else "redis://127.0.0.1:1/0"]
    return args


def bad_values(option: click.Option) -> list[str]:
    if option.name in TIME_OPTIONS:
        return BAD_TIMES
    values = list(BAD_NUMBERS)
    if isinstance(option.type, click.IntRange) and (option.type.min or 0) >= 1:
        values.append("0")
    return values


def test_the_options_are_found() -> None:
    names = {(" ".join(path), option.name) for path, _, option in number_and_time_options()}
    assert {
        ("search", "limit"),
        ("show", "version_no"),
        ("diff", "from_no"),
        ("diff", "to_no"),
        ("reparse", "workers"),
        ("worker", "idle_exit"),
        ("search", "since"),
        ("export", "since"),
        ("reparse", "since"),
        ("crawl", "since"),
        ("import", "fetched_at"),
        ("parse", "fetched_at"),
    } <= names


@pytest.mark.parametrize(
    ("path", "option"),
    [(path, option) for path, _, option in number_and_time_options()],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_bad_number_or_time_is_a_usage_error_naming_the_option(path, option, tmp_path) -> None:
    command = dict((tuple(p), c) for p, c in every_command())[tuple(path)]
    page = tmp_path / "page.html"
    page.write_text("<html></html>")
    db = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    for value in bad_values(option):
        args = [*path, *required_arguments(command, page), option.opts[0], value]
        if any(p.name == "db_url" and not p.required for p in command.params):
            args += ["--db", db]
        result = CliRunner().invoke(cli, args)
        shown = f"{args}: exit {result.exit_code}\n{result.output}"
        assert result.exit_code == 2, shown
        assert result.exception is None or isinstance(result.exception, SystemExit), shown
        assert "Traceback" not in result.output and "database error" not in result.output, shown
        assert len(error_lines(result.stderr)) == 1, shown
        assert option.opts[0] in result.stderr, shown


@pytest.mark.parametrize(
    "url",
    [
        # Less the one with a long query: a Newsis article URL the crawler declines to follow.
        *offsite_links("http://127.0.0.2:8080")[:-1],
        "https://example.com/",
        "not a url",
        "/view/NISX20241115_0002960118",
        "www.newsis.com/view/NISX20241115_0002960118",
        "https://www.newsis.com/",
        "https://www.newsis.com/realnews/",
        "http://[::1/view/NISX20241115_0002960118",
    ],
)
def test_parse_refuses_a_url_that_is_no_newsis_article(url, tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html></html>")
    result = CliRunner().invoke(cli, ["parse", str(page), "--url", url])
    assert result.exit_code == 2, result.output
    assert "--url" in result.stderr and "https://www.newsis.com/view/" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "http://www.newsis.com/view/?id=NISX20241115_0002960118&cID=10201&pID=10200",
        "https://m.newsis.com/view.html?ar_id=NISX20241115_0002960118",
        "https://newsis.com/ar_detail/view.html?ar_id=NISX20241115_0002960118",
    ],
)
def test_parse_takes_every_newsis_form_of_an_article_url(url) -> None:
    from tests.support.storage_fixtures import example_page

    body, _, _ = example_page("seed-l3")
    result = CliRunner().invoke(cli, ["parse", "-", "--url", url], input=body)
    # Taken: the page is parsed (the older forms pick the older layout's parser).
    assert result.exit_code in (0, 1), result.output
    assert "--url" not in result.output

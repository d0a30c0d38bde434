"""`newsarchive parse`: one stored or downloaded page → its record as JSON, offline."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from urllib.parse import urlsplit

import click

from crawler.commands.common import check_time_range
from crawler.commands.terminal import echo, json_safe
from crawler.parsers import NotAnArticle, ParseError
from crawler.publishers import parse_article
from crawler.publishers.newsis.urls import article_id_from_url, is_newsis_host

EXPECTED_URL = "https://www.newsis.com/view/NISX20241115_0002960118"


def _capture_time(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    if when.utcoffset() is None:
        raise click.BadParameter(f"give a timezone offset, e.g. {value}+09:00")
    return check_time_range(when)


def _article_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A Newsis article URL, in any of its forms, on a Newsis host: a page fetched elsewhere
    would be archived under a Newsis id it does not belong to."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # an unclosed [IPv6] host
        parts = urlsplit("")
    if (
        parts.scheme not in ("http", "https")
        or not is_newsis_host(parts.hostname)
        or article_id_from_url(value) is None
    ):
        raise click.BadParameter(
            f"not a Newsis article URL: {value!r}; expected e.g. {EXPECTED_URL}"
            " (or /view/?id=…, /ar_detail/view.html?ar_id=… on a newsis.com host)"
        )
    return value


@click.command("parse")
@click.argument("page")
@click.option(
    "--url",
    required=True,
    callback=_article_url,
    help=f"The URL the page was fetched from (any Newsis article form, e.g. {EXPECTED_URL}).",
)
@click.option(
    "--fetched-at",
    callback=_capture_time,
    metavar="ISO",
    help="Capture time with offset (e.g. 2024-11-15T07:00:00+09:00); picks the parser version."
    " Default: the latest version.",
)
def parse_command(page: str, url: str, fetched_at: datetime | None) -> None:
    """Print the article record of one saved Newsis page (PAGE a file, or - for stdin) as JSON.

    Exits 1 with one line on stderr when the page is not an article, 2 when PAGE cannot be read
    or --url is not a Newsis article URL.
    """
    try:
        if page == "-":
            body = sys.stdin.buffer.read()
        else:
            with open(page, "rb") as handle:
                body = handle.read()
    except OSError as error:
        echo(f"newsarchive: cannot read {page}: {error.strerror or error}", err=True)
        sys.exit(2)
    try:
        record = parse_article(body, url, fetched_at)
    except ParseError as error:
        kind = "not an article" if isinstance(error, NotAnArticle) else "parse error"
        echo(f"newsarchive: {kind}: {error.reason}", err=True)
        sys.exit(1)
    output = json_safe(json.dumps(record.to_dict(), ensure_ascii=False, indent=2, sort_keys=True))
    sys.stdout.buffer.write(output.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()

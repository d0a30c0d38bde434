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
from crawler.publishers import PublisherError, parse_article, publisher_for_host, publishers

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
    """An article URL, in any of its forms, on its publisher's own host: the host picks the
    publisher, and a page fetched elsewhere would be archived under an id it does not own."""
    value = value.strip()
    if value.startswith("//"):  # protocol-relative, as list pages link: the sites are https
        value = "https:" + value
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed [IPv6] host
        parts = urlsplit("")
    try:
        web = parts.scheme in ("http", "https")
        publisher = publisher_for_host(parts.hostname) if web else None
        examples = " or ".join(p.example_url for p in publishers().values() if p.example_url)
    except PublisherError as error:
        raise click.ClickException(str(error)) from None
    if publisher is None:
        raise click.BadParameter(
            f"not an article URL of an installed publisher's site: {value!r}; expected e.g."
            f" {examples}"
        )
    if publisher.article_id_from_url(value) is None:
        raise click.BadParameter(
            f"not a {publisher.name} article URL: {value!r}; expected e.g. {publisher.example_url}"
        )
    return value


@click.command("parse")
@click.argument("page")
@click.option(
    "--url",
    required=True,
    callback=_article_url,
    help="The URL the page was fetched from: its host picks the publisher (any of its article"
    f" URL forms, e.g. {EXPECTED_URL}).",
)
@click.option(
    "--fetched-at",
    callback=_capture_time,
    metavar="ISO",
    help="Capture time with offset (e.g. 2024-11-15T07:00:00+09:00); picks the parser version."
    " Default: the latest version.",
)
def parse_command(page: str, url: str, fetched_at: datetime | None) -> None:
    """Print the article record of one saved page (PAGE a file, or - for stdin) as JSON.

    Exits 1 with one line on stderr when the page is not an article, 2 when PAGE cannot be read
    or --url is not an article URL of an installed publisher (newsis, …).
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

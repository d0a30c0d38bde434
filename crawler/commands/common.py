"""What every command shares: the --db options, opening the archive, one-line errors."""

from __future__ import annotations

import functools
import math
import select
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crawler.commands.terminal import echo
from crawler.publishers.registry import (
    UnknownArticle,
    UnknownPublisher,
    article_named,
    publisher_named,
    publishers,
)
from storage.db import ArchiveError, one_line, open_archive, redact_url, resolve_db_url

F = TypeVar("F", bound=Callable[..., Any])

_DB_OPTION = {"metavar": "URL", "envvar": "NEWSARCHIVE_DB", "show_envvar": True}
db_option = click.option(
    "--db",
    "db_url",
    help="Database URL: sqlite:///FILE or postgresql://user@host/db "
    "(default: newsarchive.sqlite3 in the working directory). Give a URL with a password in "
    "$NEWSARCHIVE_DB instead: that keeps it out of `ps`, which shows every command line.",
    **_DB_OPTION,
)
# Scale-out (schedule, worker): machines share one archive; a default local file would split it.
shared_db_option = click.option(
    "--db",
    "db_url",
    required=True,
    help="The shared archive, e.g. postgresql://newsarchive@db-host/newsarchive. Give a URL "
    "with a password in $NEWSARCHIVE_DB instead: that keeps it out of `ps`.",
    **_DB_OPTION,
)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130

# Bounds of the integer options: a value past them is a usage error naming the option, not an
# integer the database cannot hold (SQLite overflows past 2**63, PostgreSQL's integer 2**31).
LIMIT_RANGE = click.IntRange(1, 100_000)
VERSION_RANGE = click.IntRange(1, 1_000_000)
WORKERS_RANGE = click.IntRange(1, 256)
# Times an option may name: Newsis began in 2001, and a year past 2100 is a typing slip (and
# year 1 or 9999 overflows on the way to UTC).
EARLIEST_TIME = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)


class CommandError(Exception):
    """Bad input the user can fix; printed as one line, exit code 1."""


class SecondsRange(click.FloatRange):
    """Seconds from 0 to a week: NaN, infinity and "1e999" are usage errors too."""

    def __init__(self) -> None:
        super().__init__(0, 7 * 24 * 3600)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


def fail(message: str, code: int = EXIT_ERROR) -> None:
    """Print one line on stderr and exit: the user never sees a traceback (nor, through a file
    name or a URL in the message, an escape sequence)."""
    echo(f"newsarchive: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn known errors of a command into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        db_url = kwargs.get("db_url")
        try:
            return func(*args, **kwargs)
        except (ArchiveError, CommandError) as error:
            fail(str(error))
        except SQLAlchemyError as error:
            if "readonly database" in one_line(error):
                # A file or directory made read-only after the archive was opened.
                fail(f"{_where(db_url)} is read-only: this command writes to the archive")
            fail(f"database error on {_where(db_url)}: {one_line(error)}")
        except OSError as error:
            if isinstance(error, BrokenPipeError) and _stdout_reader_gone():
                # The reader of our output left (`newsarchive export | head`): click exits 1
                # with no message, as for its own --help. Nothing committed is undone.
                raise
            name = f"{error.filename}: " if error.filename else ""
            fail(f"{name}{error.strerror or error}")
        except ImportError as error:
            # create_engine imports the URL's driver: mysql:// without MySQLdb lands here.
            fail(f"cannot open {_where(db_url)}: its driver {error.name or error} is not installed")
        except KeyboardInterrupt:
            fail("interrupted; what was committed is kept, run the command again", EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (`newsarchive export | head`)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, no file descriptor
        return False


def article_id_named(text: str) -> str:
    """The canonical id of the article `text` names, an id or any article URL of any installed
    publisher; else CommandError naming the forms that do."""
    try:
        return article_named(text)[1]
    except UnknownArticle as error:
        raise CommandError(str(error)) from None


class PublisherName(click.ParamType):
    """The name of an installed publisher plug-in; another is a usage error listing them."""

    name = "publisher"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return publisher_named(str(value).strip().lower()).name
        except UnknownPublisher as error:
            self.fail(str(error), param, ctx)


class PublisherOption(click.Option):
    """--publisher, whose help names the installed publishers: loaded when help is shown, not
    when a command that does not use the option starts."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        return record[0], f"{record[1]} Installed: {', '.join(publishers())}."


def publisher_option(what: str):
    """A repeatable --publisher NAME option (a tuple, empty when not given); `what` ends its
    help's first sentence: "Only <what> of this publisher"."""
    return click.option(
        "--publisher", "publisher_names", multiple=True, type=PublisherName(), metavar="NAME",
        cls=PublisherOption,
        help=f"Only {what} of this publisher (repeat for several; default: every publisher).",
    )


def open_db(db_url: str | None, *, for_writing: bool) -> Engine:
    """The archive named by --db / $NEWSARCHIVE_DB / the default, at head (or a clear error)."""
    return open_archive(resolve_db_url(db_url), for_writing=for_writing)


def parse_time(value: str, *, what: str) -> datetime:
    """An ISO 8601 time with offset (a bare date means midnight UTC), as aware UTC.

    `what` names an option (--since) or a field of a file (FILE: WARC-Date): a bad option is a
    usage error naming it (exit 2), a bad field a CommandError (exit 1).
    """
    error = click.BadParameter if what.startswith("--") else CommandError
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _time_error(error, what, f"not an ISO 8601 time: {value!r}") from None
    if when.utcoffset() is None:
        if len(value.strip()) != 10:  # a date alone: YYYY-MM-DD
            raise _time_error(error, what, f"give a timezone offset, e.g. {value.strip()}+09:00")
        when = when.replace(tzinfo=UTC)
    try:
        return check_time_range(when).astimezone(UTC)
    except click.BadParameter as outside:
        raise _time_error(error, what, outside.message) from None


def check_time_range(when: datetime) -> datetime:
    """`when` (aware) if it lies between EARLIEST_TIME and LATEST_TIME; else click.BadParameter
    (a callback's error names its option)."""
    if not EARLIEST_TIME <= when <= LATEST_TIME:
        raise click.BadParameter(
            f"{when.isoformat()} is outside {EARLIEST_TIME:%Y-%m-%d}..{LATEST_TIME:%Y-%m-%d}"
        )
    return when


def _time_error(error: type[Exception], what: str, message: str) -> Exception:
    if error is click.BadParameter:
        return click.BadParameter(message, param_hint=f"'{what}'")
    return CommandError(f"{what}: {message}")


def _where(db_url: str | None) -> str:
    try:
        return redact_url(resolve_db_url(db_url))
    except ArchiveError:
        return "the database"



"""Database URLs: where one comes from, whether it reads unambiguously, its text for people."""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DB_ENV_VAR = "NEWSARCHIVE_DB"
DEFAULT_DB_FILE = "newsarchive.sqlite3"
# A SQLite file in the working directory: `newsarchive demo` must work with no setup at all.
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_DB_FILE}"

ENCODING_HINT = (
    "a password holding @ / ? or # must be percent-encoded (@ is %40, / is %2F, ? is %3F, "
    "# is %23, % is %25)"
)
# libpq (and redis-py, for a unix socket) also take a password as a query parameter; all that
# follows it is hidden, as a raw & or # in it would otherwise end it early.
_QUERY_PASSWORD = re.compile(r"(?is)([?&]password=).*")
# What may not stand raw before the @ that ends the credentials (an @ in a query is refused
# too: percent-encoded it means the same, and the two cannot be told apart).
_CREDENTIAL_BREAKERS = re.compile(r"[@/?#]")


class ArchiveError(Exception):
    """A problem with the archive the user can fix; its message is one line, URL redacted."""


class UrlError(ArchiveError):
    """A URL that cannot be used; its message is one line that never shows the password."""


def credentials_problem(url: str) -> str | None:
    """Why the user:password part of `url` cannot be read unambiguously, or None.

    Parsers end the password at the first @ (SQLAlchemy) or at the first / ? # (urllib, hence
    redis-py): with a raw one in it, part of the password becomes the host, port or database
    and is printed in the driver's errors. Such URLs are refused before any parser sees them.
    """
    _scheme, sep, rest = url.partition("://")
    if not sep or rest.startswith("/") or "@" not in rest:
        return None
    credentials = rest[: rest.rindex("@")]
    if not _CREDENTIAL_BREAKERS.search(credentials):
        return None
    return ENCODING_HINT


def redact_url(url: str | URL) -> str:
    """The URL with any password replaced by ***: safe for logs, errors and summaries.

    Works on any scheme (postgresql, sqlite, redis) and on text no parser accepts: then all of
    the credentials, up to the last @, are hidden.
    """
    if isinstance(url, URL):
        return _hide_query_password(url.render_as_string(hide_password=True))
    text = _hide_query_password(str(url))
    if credentials_problem(text) is None:
        try:
            parsed = make_url(text)
        except (ArgumentError, ValueError, TypeError):
            pass
        else:
            return _hide_query_password(parsed.render_as_string(hide_password=True))
    return _redact_by_hand(text)


def _redact_by_hand(text: str) -> str:
    scheme, sep, rest = text.partition("://")
    if not sep or rest.startswith("/") or "@" not in rest:
        return text
    credentials, _, host = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    if not colon or "@" in user:
        return f"{scheme}://***@{host}"
    return f"{scheme}://{user}:***@{host}"


def _hide_query_password(text: str) -> str:
    return _QUERY_PASSWORD.sub(r"\1***", text)


def resolve_db_url(option_value: str | None = None) -> str:
    """The database URL: the --db option, else $NEWSARCHIVE_DB, else the default SQLite file.

    Raises UrlError for text that is no usable database URL.
    """
    url = option_value or os.environ.get(DB_ENV_VAR) or DEFAULT_DB_URL
    return checked_db_url(url)


def checked_db_url(url: str) -> str:
    """`url` ready for create_engine (psycopg 3 for postgresql://), or UrlError."""
    url = url.strip()
    # Plain postgresql:// would pick psycopg2, which is not installed; psycopg 3 is.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    problem = credentials_problem(url)
    if problem is not None:
        raise UrlError(f"not a database URL: {redact_url(url)!r}: {problem}")
    try:
        make_url(url)
    except (ArgumentError, ValueError, TypeError) as error:
        message = f"not a database URL: {redact_url(url)!r}"
        if isinstance(error, ArgumentError):
            if "://" not in url and not any(character.isspace() for character in url):
                # A bare file name is the likeliest slip; a path is not taken as one, so that a
                # mistyped server URL never quietly becomes a new SQLite file.
                message += f" (a SQLite file is written sqlite:///{url})"
        else:
            message += " (its port or host cannot be read)"
        raise UrlError(message) from None
    return url

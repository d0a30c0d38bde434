"""Engines and sessions from one database URL, the constraint naming convention, schema checks."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import DateTime, LargeBinary, String, TypeDecorator

# The URL rules live in storage.db_url; callers keep naming them storage.db.*.
from storage.db_url import DB_ENV_VAR as DB_ENV_VAR
from storage.db_url import DEFAULT_DB_FILE as DEFAULT_DB_FILE
from storage.db_url import DEFAULT_DB_URL, ArchiveError, redact_url
from storage.db_url import UrlError as UrlError
from storage.db_url import resolve_db_url as resolve_db_url

# Stable constraint names on both databases, so migrations can name what they alter or drop
# (SQLite's batch mode rebuilds tables and needs every constraint named).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000


class ArchiveNotAtHead(ArchiveError):
    """The database schema is not the one this code writes."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database.

    PostgreSQL keeps the instant (timestamptz); SQLite drops offsets, so the UTC wall time is
    stored without one and read back as UTC. Naive datetimes are refused: their zone is unknown.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime cannot be stored: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class HexDigest(TypeDecorator[str]):
    """A sha256 digest, as 64 hex characters in Python.

    SQLite stores the hex text (readable in Datasette and the sqlite3 shell); PostgreSQL its 32
    bytes (bytea, shown by psql as \\x…): half the size in every row and index that holds one,
    on a table whose rows are mostly keys (bodies, captures). Migration 0006.
    """

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(LargeBinary())
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: str | None, dialect) -> str | bytes | None:
        if value is None or dialect.name != "postgresql":
            return value
        return bytes.fromhex(value)

    def process_result_value(self, value: str | bytes | None, dialect) -> str | None:
        if value is None or dialect.name != "postgresql":
            return value
        return bytes(value).hex()


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL, None for in-memory databases and other backends."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, immediate: bool = False, read_only: bool = False) -> Engine:
    """An engine for `url`. SQLite gets WAL, a 30 s busy timeout and foreign keys on.

    `immediate=True` (SQLite only) starts every transaction with BEGIN IMMEDIATE: a writer that
    first reads and then writes would otherwise fail with "database is locked" when another
    writer committed in between, instead of waiting its turn. `read_only=True` (SQLite only)
    opens the file with mode=ro: nothing is created and the file is never written.
    """
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    path = sqlite_path(url)
    if path is not None and not path.parent.exists():
        raise ArchiveError(f"no such directory for the SQLite file: {path.parent}")
    options: dict = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if read_only and path is not None:
        options = {"creator": functools.partial(_connect_read_only, path, _needs_immutable(path))}
    engine = create_engine(url, json_serializer=readable_json, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (SQLAlchemy's
        # documented pysqlite recipe), so BEGIN IMMEDIATE below takes effect.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Under WAL, NORMAL syncs at checkpoints, not at every commit: a committed
            # transaction survives a crash of the process (the crawl's case) but may be lost on
            # power failure or an OS crash, which rolls the archive back to an earlier
            # consistent state, never a half-written one. The pages are re-fetched on the next
            # run; fsync per page cost ~18% of ingest (bench/RESULTS.md § Storage).
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _connect_read_only(path: Path, immutable: bool) -> sqlite3.Connection:
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    return sqlite3.connect(
        f"file:{quote(os.path.abspath(path))}?{flags}",
        uri=True,
        timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        # What SQLAlchemy sets for file databases itself: its pool hands connections across
        # threads, one at a time.
        check_same_thread=False,
    )


def _needs_immutable(path: Path) -> bool:
    """Whether a read-only open of `path` must skip SQLite's locking (immutable=1).

    A reader of a WAL database needs its -shm file, and creates it (and -wal) when missing; in
    a directory it cannot write, mode=ro alone fails with "unable to open database file". No
    writer can be at work there either (it would need the -wal file too), so reading the file
    as it stands is safe.
    """
    if os.access(path.parent, os.W_OK) or not path.exists():
        return False
    try:
        with closing(_connect_read_only(path, immutable=False)) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").close()
    except sqlite3.OperationalError as error:
        return "unable to open" in str(error) and not os.access(path.parent, os.W_OK)
    except sqlite3.DatabaseError:
        return False  # not a database: the caller's first query says so
    return False


def check_sqlite_file(url: str, *, for_writing: bool) -> None:
    """ArchiveError, naming the path, when a SQLite archive cannot be opened as asked.

    A reader never creates a file: a mistyped path must not answer zeros from a new, empty
    archive. A writer on a file or directory it cannot write is told so before it starts.
    """
    path = sqlite_path(url)
    if path is None:
        return
    if path.is_dir():
        raise ArchiveError(f"{path} is a directory, not a SQLite archive file")
    if not for_writing:
        if not path.exists() and path.parent.is_dir():
            raise ArchiveError(
                f"no archive at {path}: no such file (a writing command such as "
                "`newsarchive crawl` or `newsarchive db upgrade` creates it)"
            )
        return
    directory = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        raise ArchiveError(f"{path} is read-only: this command writes to the archive")
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        raise ArchiveError(
            f"{path} is read-only: its directory {directory} is not writable (SQLite writes "
            "its journal beside the archive); this command writes to the archive"
        )


def open_engine(url: str, *, for_writing: bool) -> Engine:
    """An engine on the database at `url`, whatever its schema.

    for_writing=False never creates or changes anything: a SQLite file is opened read-only.
    """
    check_sqlite_file(url, for_writing=for_writing)
    return make_engine(url, immediate=for_writing, read_only=not for_writing)


def readable_json(value: object) -> str:
    """JSON text of a SQLite JSON column: Korean as itself, not as \\uXXXX escapes (SQLAlchemy's
    default), so that it reads in Datasette and `LIKE '%경제%'` finds it; half the bytes of the
    escaped form. Text the database could not store as UTF-8 (a lone surrogate) stays escaped.
    """
    readable = json.dumps(value, ensure_ascii=False)
    try:
        readable.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return readable


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: commands print what they just wrote.
    return sessionmaker(engine, expire_on_commit=False)


# --- schema revision -------------------------------------------------------------------------


def migrations_dir() -> Path:
    """The Alembic script directory, found from the installed `migrations` package."""
    import migrations

    return Path(migrations.__file__).resolve().parent


def alembic_config(url: str):
    """An Alembic Config for `url` that needs no alembic.ini and no working directory."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Passed as an attribute, not a main option: configparser would choke on "%" in passwords.
    config.attributes["db_url"] = url
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(DEFAULT_DB_URL)).get_current_head()
    assert head is not None, "migrations/versions holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (head by default)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def schema_state(engine: Engine) -> str:
    """'head', 'empty' (no tables), 'behind' (older revision), 'newer' (a revision this code does
    not know: written by a newer newsarchive) or 'unknown' (tables, but no schema revision)."""
    tables = set(inspect(engine).get_table_names())
    if not tables:
        return "empty"
    if "alembic_version" not in tables:
        return "unknown"
    revision = current_revision(engine)
    if revision == head_revision():
        return "head"
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(DEFAULT_DB_URL))
    known = {rev.revision for rev in script.walk_revisions()}
    if revision is None or revision in known:
        return "behind"
    return "newer"


def open_archive(url: str, *, for_writing: bool) -> Engine:
    """An engine on an archive whose schema is at head, or a clear ArchiveError.

    A writer brings an empty database (a new SQLite file, a new PostgreSQL database) to head on
    the spot; a reader opens only what exists and changes nothing. Anything else not at head is
    refused, naming the command that fixes it.
    """
    engine = open_engine(url, for_writing=for_writing)
    try:
        state = schema_state(engine)
    except Exception as error:  # connection refused, bad credentials, not a database …
        engine.dispose()
        raise ArchiveError(f"cannot open {redact_url(url)}: {one_line(error)}") from error
    if state == "empty" and for_writing:
        # Serialised with any other migration of this database (migrations/env.py).
        upgrade(url)
        state = schema_state(engine)
    if state == "head":
        return engine
    revision = current_revision(engine) if state == "newer" else None
    engine.dispose()
    fix = f"run `newsarchive db upgrade --db {redact_url(url)}`"
    if state == "empty":
        message = f"{redact_url(url)} has no archive tables yet; {fix}"
    elif state == "behind":
        message = f"{redact_url(url)} is at an older schema revision; {fix}"
    elif state == "newer":
        message = newer_schema_message(url, revision)
    else:
        message = (
            f"{redact_url(url)} holds tables that are not a newsarchive archive at a known "
            f"revision; point --db at an archive or an empty database, or {fix}"
        )
    raise ArchiveNotAtHead(message)


def newer_schema_message(url: str, revision: str | None) -> str:
    """Why an archive written by a newer newsarchive is refused, and what to do."""
    return (
        f"{redact_url(url)} is at schema revision {revision}, newer than this newsarchive knows"
        f" (up to {head_revision()}): a newer newsarchive wrote it; upgrade newsarchive to use it"
    )


def one_line(error: BaseException) -> str:
    """An error as one short line for a message or a capture: the driver's own message when
    there is one (not SQLAlchemy's statement dump), whitespace folded."""
    text = " ".join(str(getattr(error, "orig", None) or error).split())
    return text[:300] or type(error).__name__

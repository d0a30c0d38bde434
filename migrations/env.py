"""Alembic environment: the URL from storage.db, the metadata from storage.models."""

from __future__ import annotations

import hashlib
import os
from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, text

from storage.db import DB_ENV_VAR, UtcDateTime, make_engine
from storage.db_url import UrlError, checked_db_url
from storage.models import Base
from storage.search import include_in_autogenerate

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# One key for every newsarchive database: two migrations of one database must take turns.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"newsarchive schema migration").digest()[:8], "big", signed=True
)
# How long a migration waits for another one (or a long write) on SQLite; a big archive's
# migration may rewrite every version.
SQLITE_MIGRATION_WAIT_MS = 3_600_000


def _database_url() -> str:
    """newsarchive's own URL, else `alembic -x db=URL`, else $NEWSARCHIVE_DB; never a default:
    plain `alembic current` must not create an empty archive in the working directory."""
    url = config.attributes.get("db_url")
    if url:
        return url
    given = context.get_x_argument(as_dictionary=True).get("db") or os.environ.get(DB_ENV_VAR)
    if not given:
        raise CommandError(
            f"no database URL: give one as `alembic -x db=URL …` or in ${DB_ENV_VAR}"
        )
    try:
        return checked_db_url(given)
    except UrlError as error:
        raise CommandError(str(error)) from None


def _render_item(type_: str, obj, autogen_context):
    # Migrations stay free of storage imports: UtcDateTime is a plain timezone-aware DateTime
    # in the database, the UTC conversion happens in Python.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        # The search index (migration 0002) is SQL the models cannot describe.
        include_object=include_in_autogenerate,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url(), immediate=True)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table by copy, drop and rename; dropping one that others
                # refer to fails with foreign keys on (Alembic's batch docs, "Dealing with
                # Referencing Foreign Keys"). The pragma is a no-op inside a transaction, so it
                # is set on the driver connection before the migration's; checked before commit.
                driver = connection.connection.driver_connection
                driver.execute("PRAGMA foreign_keys=OFF")
                driver.execute(f"PRAGMA busy_timeout={SQLITE_MIGRATION_WAIT_MS}")
            # One transaction, begun and locked before Alembic reads the revision: a second
            # migration of the same database waits, then finds the work done.
            with connection.begin():
                _take_migration_lock(connection)
                _configure(connection)
                with context.begin_transaction():
                    context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
    finally:
        engine.dispose()


def _take_migration_lock(connection: Connection) -> None:
    # SQLite: the engine began with BEGIN IMMEDIATE, the database's one write lock. PostgreSQL:
    # an advisory lock held to the end of the transaction, so a crash cannot leave it taken.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _check_foreign_keys(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"migration left broken foreign keys (table, rowid, parent): {broken}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Alembic environment: the URL from storage.db, the metadata from storage.models."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from storage.db import UtcDateTime, make_engine, resolve_db_url
from storage.models import Base
from storage.search import include_in_autogenerate

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


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
        url=config.attributes.get("db_url") or resolve_db_url(None),
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
    engine = make_engine(config.attributes.get("db_url") or resolve_db_url(None))
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table by copy, drop and rename; dropping one that others
                # refer to fails with foreign keys on (Alembic's batch docs, "Dealing with
                # Referencing Foreign Keys"). The pragma is a no-op inside a transaction, so it
                # is set on the driver connection before the migration's; checked before commit.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
    finally:
        engine.dispose()


def _check_foreign_keys(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"migration left broken foreign keys (table, rowid, parent): {broken}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

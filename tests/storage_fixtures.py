"""The `db_url` fixture: a fresh database per test, SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV_VAR = "NEWSARCHIVE_TEST_POSTGRES"

BACKENDS = ["sqlite"]
if os.environ.get(POSTGRES_ENV_VAR):
    BACKENDS.append("postgresql")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """URL of an empty database: a SQLite file in tmp_path or a throw-away PostgreSQL DATABASE."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        return
    yield from _postgres_database(os.environ[POSTGRES_ENV_VAR])


def _postgres_database(server_url: str) -> Iterator[str]:
    # One database per test: tests run in parallel (pytest -n 2) and must never share one.
    name = f"na_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

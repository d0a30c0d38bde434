"""The `db_url` fixture: a fresh database per test, SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import FetchedPage
from storage.db import make_session_factory, open_archive, upgrade
from tests.paths import SHARED_EXAMPLES

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


@pytest.fixture
def archive_engine(db_url) -> Iterator[Engine]:
    """An engine on a database migrated to head (what every command opens)."""
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(archive_engine) -> sessionmaker[Session]:
    return make_session_factory(archive_engine)


# The reference pages of RECORD.md, in shared/ beside the clone.
EXAMPLE_DIRS = (SHARED_EXAMPLES,)


def example_page(name: str) -> tuple[bytes, str, dict[str, Any] | None]:
    """(raw HTML, URL fetched, expected record JSON or None) of an example page by stem."""
    for folder in EXAMPLE_DIRS:
        html = folder / f"{name}.html"
        if html.exists():
            meta = json.loads((folder / f"{name}.meta.json").read_text(encoding="utf-8"))
            expected_path = folder / f"{name}.json"
            expected = (
                json.loads(expected_path.read_text(encoding="utf-8"))
                if expected_path.exists()
                else None
            )
            return html.read_bytes(), meta["url"], expected
    raise FileNotFoundError(f"no example page {name!r} in {[str(d) for d in EXAMPLE_DIRS]}")


def fetched(
    body: bytes,
    url: str,
    fetched_at: datetime,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fetch_error: str | None = None,
) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=status,
        headers=headers or {"Content-Type": "text/html; charset=utf-8"},
        body=body,
        fetched_at=fetched_at,
        fetch_error=fetch_error,
    )

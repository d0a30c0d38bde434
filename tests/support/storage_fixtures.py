"""Test databases (SQLite always, PostgreSQL when configured) and the pages that fill them."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crawler.archiving import ingest
from storage.db import make_session_factory, open_archive, upgrade
from storage.fetched_page import FetchedPage
from tests.support.paths import NEWSIS_EXAMPLES

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
    yield from throwaway_postgres_database(os.environ[POSTGRES_ENV_VAR])


def throwaway_postgres_database(server_url: str) -> Iterator[str]:
    """The URL of a new database on `server_url`, dropped afterwards: `yield from` it in a
    fixture, `for` it or wrap it in contextlib.contextmanager elsewhere (benchmarks)."""
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


# The reference pages of RECORD.md, copied into tests/fixtures/newsis/examples.
EXAMPLE_DIRS = (NEWSIS_EXAMPLES,)


def sqlite_versions_and_search_index(path: Path) -> tuple[list[Any], list[Any]]:
    """Every versions row and every row of its FTS5 index's content, as SQLite stores them (read
    with the sqlite3 module: the stored bytes, not SQLAlchemy's conversions)."""
    connection = sqlite3.connect(path)
    try:
        return (
            connection.execute("SELECT * FROM versions ORDER BY version_id").fetchall(),
            connection.execute("SELECT * FROM versions_search_content ORDER BY id").fetchall(),
        )
    finally:
        connection.close()


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


# An archive filled by the real ingest: three articles, the seed one edited once.
SEED_ID = "NISX20241115_0002960118"
OLDER_ID = "NISX20190304_0000577521"
PHOTO_ID = "NISI20241114_0020593301"
SEED_URL = f"https://www.newsis.com/view/{SEED_ID}"
OLDER_URL = "http://www.newsis.com/view/?id=NISX20190304_0000577521&cID=10201&pID=10200"
PHOTO_URL = "https://www.newsis.com/view/?id=NISI20241114_0020593301&cid=pho"
# The seed article as edited after publication: a new headline and paragraph 4 reworded.
EDITED_HEADLINE = "엔비디아 젠슨황, 무대 위로 손정의 회장을 무대로 부른 까닭은?"
T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
HEADERS = {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'}


def edited(raw: bytes, day: int = 16) -> bytes:
    """A newsroom edit of the seed page: one sentence of the article body changes."""
    changed = raw.replace("15일 업계에 따르면".encode(), f"{day}일 업계에 따르면".encode())
    assert changed != raw
    return changed


def chrome_changed(raw: bytes, n: int) -> bytes:
    """The seed page with its ranking box re-rendered (every request does it): chrome, not
    content."""
    changed = raw.replace(b'<span class="num">1</span>', f'<span class="num">{n}</span>'.encode())
    assert changed != raw
    return changed


def example(name: str) -> bytes:
    return (NEWSIS_EXAMPLES / name).read_bytes()


def seed_v1() -> bytes:
    return example("seed-l3.html")


def seed_v2() -> bytes:
    html = seed_v1().decode("utf-8")
    html = html.replace("손정의 불러들인 이유는?", "손정의 회장을 무대로 부른 까닭은?")
    html = html.replace("세계적 수준의", "세계 최고 수준의")
    return html.encode("utf-8")


@dataclass(frozen=True)
class Capture:
    url: str
    body: bytes
    fetched_at: datetime
    status: int = 200


def standard_captures() -> list[Capture]:
    """Three articles; the seed one fetched four times with one edit between fetch 2 and 3."""
    return [
        Capture(OLDER_URL, example("older-l2.html"), T0 - timedelta(days=2000)),
        Capture(PHOTO_URL, example("photo-item.html"), T0 - timedelta(hours=6)),
        Capture(SEED_URL, seed_v1(), T0),
        Capture(SEED_URL, seed_v1(), T0 + timedelta(hours=1)),
        Capture(SEED_URL, seed_v2(), T0 + timedelta(hours=2)),
        Capture(SEED_URL, seed_v2(), T0 + timedelta(hours=5)),
    ]


def fill(db_url: str, captures: list[Capture] | None = None) -> None:
    """Ingest `captures` (default: the standard set) through storage.ingest.write_path.ingest."""
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    with Session(engine) as session:
        for capture in captures if captures is not None else standard_captures():
            ingest(
                session,
                FetchedPage(
                    url=capture.url,
                    status=capture.status,
                    headers=dict(HEADERS),
                    body=capture.body,
                    fetched_at=capture.fetched_at,
                ),
            )
    engine.dispose()


@contextmanager
def reading(db_url: str) -> Iterator[Session]:
    engine = open_archive(db_url, for_writing=False)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()

"""bulk_writes.update_rows: one statement (on SQLite UPDATE … FROM (VALUES …), on PostgreSQL
UPDATE … FROM unnest(arrays)) storing exactly what SQLAlchemy's own executemany stores, in
versions and captures and in the search index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, bindparam, event, select, text, update

from crawler.archiving import ingest_many
from storage.bulk_writes import update_rows
from storage.db import make_session_factory, open_archive, upgrade
from storage.models import Capture, Version
from tests.support.storage_fixtures import (
    edited,
    example_page,
    fetched,
    sqlite_versions_and_search_index,
)

T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
VERSIONS = Version.__table__
CAPTURES = Capture.__table__


def filled_archive(path_or_url: Path | str) -> Any:
    url = path_or_url if isinstance(path_or_url, str) else f"sqlite:///{path_or_url}"
    upgrade(url)
    engine = open_archive(url, for_writing=True)
    seed_raw, seed_url, _ = example_page("seed-l3")
    pages = [
        fetched(seed_raw, seed_url, T0),
        fetched(edited(seed_raw), seed_url, T0 + timedelta(1)),
    ]
    for minutes, name in enumerate(("older-l2", "photo-item")):
        raw, url_of, _ = example_page(name)
        pages.append(fetched(raw, url_of, T0 + timedelta(minutes=minutes)))
    with make_session_factory(engine)() as session:
        ingest_many(session, pages)
    return engine


def new_content(engine: Any) -> list[dict[str, Any]]:
    """Rows changing every kind of column a reparse sets: text, JSON, times, the hash."""
    with engine.connect() as connection:
        stored = connection.execute(select(VERSIONS).order_by(VERSIONS.c.version_id)).mappings()
        return [
            {
                "version_id_": row["version_id"],
                "headline": "바뀐 제목 " + row["headline"],
                "body": [*row["body"][1:], "덧붙인 문단"],
                "captions": [],
                "modified_at": (row["modified_at"] or row["published_at"]) + timedelta(hours=1),
                "content_hash": "0" * 64,
                "parser_version": "test-bulk",
            }
            for row in stored
        ]


def test_sqlite_updates_rows_in_one_statement_as_sqlalchemy_would(tmp_path):
    ours, theirs = tmp_path / "ours.sqlite3", tmp_path / "theirs.sqlite3"
    engines = [filled_archive(ours), filled_archive(theirs)]
    rows = new_content(engines[0])
    assert len(rows) == 4 and rows == new_content(engines[1])
    updates: list[tuple[str, bool]] = []

    def note_update(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("UPDATE versions "):
            updates.append((statement, executemany))

    event.listen(engines[0], "before_cursor_execute", note_update)
    try:
        with engines[0].begin() as connection:
            update_rows(connection, VERSIONS, "version_id", rows)
        with engines[1].begin() as connection:
            connection.execute(
                update(VERSIONS).where(VERSIONS.c.version_id == bindparam("version_id_")), rows
            )
    finally:
        for engine in engines:
            engine.dispose()
    # One statement for the four rows (an executemany runs, and fires the trigger's savepoint
    # and FTS5 flush, once a row).
    assert [(statement.count("), ("), many) for statement, many in updates] == [(3, False)]
    ours_rows = sqlite_versions_and_search_index(ours)
    theirs_rows = sqlite_versions_and_search_index(theirs)
    assert ours_rows == theirs_rows
    assert all(row[1].startswith("바뀐 제목 ") for row in ours_rows[1])  # the index follows


def new_parse_fields(engine: Any) -> list[dict[str, Any]]:
    """Capture rows as a reparse sets them, with a column NULL in every row."""
    with engine.connect() as connection:
        ids = connection.execute(select(CAPTURES.c.capture_id)).scalars().all()
    return [
        {
            "capture_id_": capture_id,
            "parser_version": "test-bulk",
            "content_hash": f"{index:064x}",
            "parse_error": None,
            "missing_fields": None,
            "outcome": "unchanged",
        }
        for index, capture_id in enumerate(ids)
    ]


def stored(connection: Any, table: Table, key: str) -> list[Any]:
    """Every column as the database gives it back (PostgreSQL's generated search text too)."""
    return connection.execute(text(f"SELECT * FROM {table.name} ORDER BY {key}")).all()


def test_update_rows_stores_in_one_statement_what_an_executemany_stores(db_url):
    engine = filled_archive(db_url)
    cases = [
        (VERSIONS, "version_id", new_content(engine)),
        (CAPTURES, "capture_id", new_parse_fields(engine)),
    ]
    updates: list[tuple[str, bool]] = []

    def note_update(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("UPDATE "):
            updates.append((statement.split()[1], executemany))

    try:
        for table, key, rows in cases:
            assert len(rows) == 4
            with engine.connect() as connection:
                before = stored(connection, table, key)
                event.listen(engine, "before_cursor_execute", note_update)
                try:
                    update_rows(connection, table, key, rows)
                finally:
                    event.remove(engine, "before_cursor_execute", note_update)
                ours = stored(connection, table, key)
                connection.rollback()
                connection.execute(
                    update(table).where(table.c[key] == bindparam(f"{key}_")), rows
                )
                theirs = stored(connection, table, key)
                connection.rollback()
            assert ours == theirs
            assert ours != before
    finally:
        engine.dispose()
    assert updates == [("versions", False), ("captures", False)]


def test_update_rows_refuses_rows_without_their_key_with_other_columns_or_a_key_twice(tmp_path):
    engine = filled_archive(tmp_path / "archive.sqlite3")
    try:
        with engine.begin() as connection:
            with pytest.raises(ValueError, match="version_id_"):
                update_rows(connection, VERSIONS, "version_id", [{"headline": "x"}])
            with pytest.raises(ValueError, match="columns"):
                update_rows(
                    connection,
                    VERSIONS,
                    "version_id",
                    [{"version_id_": 1, "headline": "x"}, {"version_id_": 2, "section": "y"}],
                )
            with pytest.raises(KeyError):
                update_rows(connection, VERSIONS, "version_id", [{"version_id_": 1, "bad": 1}])
            with pytest.raises(ValueError, match="twice"):
                update_rows(
                    connection,
                    VERSIONS,
                    "version_id",
                    [{"version_id_": 1, "headline": "x"}, {"version_id_": 1, "headline": "y"}],
                )
    finally:
        engine.dispose()

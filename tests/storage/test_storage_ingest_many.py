"""ingest_many: a batch stores exactly what its pages one by one store, all of it or nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.archiving import ingest, ingest_batches, ingest_many
from storage.db import make_session_factory, open_archive, upgrade
from storage.fetched_page import FetchedPage
from storage.ingest.write_path import IngestResult
from storage.models import Capture, Version
from storage.runs import finish_run, start_run
from tests.support.ingest_batches import (
    mixed_batch,
    other,
    picture,
    seed,
    seed_raw,
    stored_before,
)
from tests.support.storage_fixtures import (
    POSTGRES_ENV_VAR,
    SEED_ID,
    edited,
    sqlite_versions_and_search_index,
    throwaway_postgres_database,
)


@pytest.fixture
def second_db_url(db_url, tmp_path) -> Iterator[str]:
    """Another empty database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.sqlite3'}"
        return
    yield from throwaway_postgres_database(os.environ[POSTGRES_ENV_VAR])


def archive(url: str) -> tuple[Engine, sessionmaker[Session]]:
    upgrade(url)
    engine = open_archive(url, for_writing=True)
    return engine, make_session_factory(engine)


def comparable(results: list[IngestResult], session: Session) -> list[tuple[Any, ...]]:
    """Results with the capture id replaced by the capture's (url, fetched_at, body_hash)."""
    rows = []
    for result in results:
        capture = session.get(Capture, result.capture_id)
        key = (capture.url, capture.fetched_at, capture.body_hash)
        rows.append((result.outcome, key, result.article_id, result.version_no, result.error))
    return rows


def ingest_into(
    url: str, pages: list[FetchedPage], *, batch: int | None, pipelined: bool = False
) -> tuple[Any, Any]:
    """Ingest `pages` after the stored ones, `batch` pages per ingest_many call (None: one
    `ingest` a page; `pipelined`: the batches through ingest_batches); what came of each page,
    and the archive."""
    engine, sessions = archive(url)
    try:
        with sessions() as session:
            for page in stored_before():
                ingest(session, page)
            run_id = start_run(session)
            results: list[IngestResult] = []
            if batch is None:
                results = [ingest(session, page, run_id) for page in pages]
            else:
                batches = [pages[start : start + batch] for start in range(0, len(pages), batch)]
                if pipelined:
                    ingest_batches(sessions, batches, results.extend, run_id)
                else:
                    for one_batch in batches:
                        results += ingest_many(session, one_batch, run_id)
            finish_run(session, run_id)
        with sessions() as session:
            return comparable(results, session), picture(session)
    finally:
        engine.dispose()


def test_mixed_batch_stores_what_one_page_at_a_time_stores(db_url, second_db_url):
    pages = mixed_batch()
    one_by_one = ingest_into(db_url, pages, batch=None)
    batched = ingest_into(second_db_url, pages, batch=len(pages))
    outcomes = [row[0] for row in one_by_one[0]]
    assert outcomes == [
        "unchanged",
        "new_version",
        "duplicate",
        "new_article",
        "duplicate",
        "not_modified",
        "failed",
        "failed",
        "failed",
        "new_version",
        "unchanged",
        "failed",
        "unchanged",
        "unchanged",
    ]
    assert batched[0] == one_by_one[0]
    assert batched[1] == one_by_one[1]


def test_mixed_batch_in_batches_of_three_stores_what_one_batch_stores(db_url, second_db_url):
    pages = mixed_batch()
    whole = ingest_into(db_url, pages, batch=len(pages))
    in_threes = ingest_into(second_db_url, pages, batch=3)
    assert in_threes[0] == whole[0]
    assert in_threes[1] == whole[1]


def test_pipelined_batches_of_three_store_what_one_batch_stores(db_url, second_db_url):
    pages = mixed_batch()
    whole = ingest_into(db_url, pages, batch=len(pages))
    pipelined = ingest_into(second_db_url, pages, batch=3, pipelined=True)
    assert pipelined[0] == whole[0]
    assert pipelined[1] == whole[1]


def test_page_twice_in_a_batch_is_stored_once(session_factory):
    with session_factory() as session:
        run_id = start_run(session)
        first, second, third = ingest_many(session, [seed(0), seed(0), seed(0)], run_id)
        assert (first.outcome, second.outcome, third.outcome) == (
            "new_article",
            "duplicate",
            "duplicate",
        )
        assert first.capture_id == second.capture_id == third.capture_id
        assert second.article_id == SEED_ID
        assert session.scalar(select(func.count()).select_from(Capture)) == 1
        run = finish_run(session, run_id)
        assert (run.new_article_count, run.duplicate_count) == (1, 2)


def test_batch_ingested_twice_changes_nothing(session_factory):
    pages = mixed_batch()
    with session_factory() as session:
        for page in stored_before():
            ingest(session, page)
        first = ingest_many(session, pages)
        before = picture(session)
        again = ingest_many(session, pages)
        assert [result.outcome for result in again] == ["duplicate"] * len(pages)
        assert [result.capture_id for result in again] == [result.capture_id for result in first]
        assert picture(session) == before


def test_empty_batch_does_nothing(session_factory):
    with session_factory() as session:
        assert ingest_many(session, []) == []
        assert session.scalar(select(func.count()).select_from(Capture)) == 0


def test_sqlite_inserts_a_batchs_versions_in_one_statement_as_sqlalchemy_would(tmp_path):
    """One INSERT for the batch's new versions (one search-index flush, not one a version),
    storing exactly the bytes SQLAlchemy's own INSERT stores, in versions and the search index."""
    path = tmp_path / "archive.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = open_archive(url, for_writing=True)
    # (statement, was it an executemany) of each INSERT INTO versions
    inserts: list[tuple[str, bool]] = []

    def note_insert(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO versions "):
            inserts.append((statement, executemany))

    event.listen(engine, "before_cursor_execute", note_insert)
    raw = seed_raw()
    pages = [
        seed(0),
        other("older-l2", 1),
        other("photo-item", 2),
        seed(3, edited(raw)),
    ]
    try:
        with make_session_factory(engine)() as session:
            outcomes = [result.outcome for result in ingest_many(session, pages)]
        assert outcomes == ["new_article", "new_article", "new_article", "new_version"]
        # One statement of four rows (an executemany would run, and flush, once a row).
        assert [(statement.count("), ("), many) for statement, many in inserts] == [(3, False)]

        multi_row = sqlite_versions_and_search_index(path)
        versions = Version.__table__
        with engine.begin() as connection:
            rows = [dict(row) for row in connection.execute(select(versions)).mappings()]
            connection.execute(delete(versions))
            connection.execute(insert(versions), rows)  # SQLAlchemy's own, a row at a time
        assert len(multi_row[0]) == len(multi_row[1]) == 4
        assert sqlite_versions_and_search_index(path) == multi_row
    finally:
        engine.dispose()

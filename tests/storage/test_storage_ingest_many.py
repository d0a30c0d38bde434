"""ingest_many: a batch stores exactly what its pages one by one store, all of it or nothing."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.archiving import ingest, ingest_batches, ingest_many
from crawler.publishers import parse_article as parse_page
from storage.db import make_session_factory, open_archive, upgrade
from storage.fetched_page import FetchedPage
from storage.ingest.pages import IngestResult
from storage.models import Article, Body, Capture, CrawlRun, Version
from storage.runs import finish_run, start_run
from tests.support.storage_fixtures import (
    POSTGRES_ENV_VAR,
    chrome_changed,
    edited,
    example_page,
    fetched,
    sqlite_versions_and_search_index,
    throwaway_postgres_database,
)

T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
# How long the pipelined-ingest test waits for the other thread (it meets it in milliseconds).
WAIT_SECONDS = 10
SEED_ID = "NISX20241115_0002960118"


def seed_raw() -> bytes:
    return example_page("seed-l3")[0]


def seed(minutes: float, body: bytes | None = None, **kwargs: Any) -> FetchedPage:
    raw, url, _ = example_page("seed-l3")
    return fetched(raw if body is None else body, url, T0 + timedelta(minutes=minutes), **kwargs)


def other(name: str, minutes: float, **kwargs: Any) -> FetchedPage:
    raw, url, _ = example_page(name)
    return fetched(raw, url, T0 + timedelta(minutes=minutes), **kwargs)


def stored_before() -> list[FetchedPage]:
    """What the archive holds when the batch comes: the seed article, edited once."""
    return [seed(0), seed(120, edited(seed_raw()))]


def mixed_batch() -> list[FetchedPage]:
    """Every kind of page a batch can hold, the seed article several times among them."""
    raw = seed_raw()
    older_raw, older_url, _ = example_page("older-l2")
    photo_raw, photo_url, _ = example_page("photo-item")
    older_id = "NISX20190304_0000577521"
    return [
        seed(180, chrome_changed(edited(raw), 3)),  # unchanged
        seed(240, edited(raw, 17)),  # new version
        seed(0),  # duplicate of a stored capture
        other("older-l2", 10),  # new article
        other("older-l2", 10),  # duplicate of a capture of this batch
        seed(300, b"", status=304, headers={"ETag": '"e2"'}),  # not modified
        seed(330, b"captcha", status=429),  # failed: blocked
        other("older-l2", 60, status=None, fetch_error="timeout 30 s"),  # failed: fetch error
        other("not-found", 20),  # failed: no article
        seed(60, edited(raw)),  # late: older than the current version's last capture
        seed(360, chrome_changed(edited(raw, 17), 4)),  # unchanged, after the rebuild
        # Requested as one article, the page is another: failed, no version (issue 16 #5).
        FetchedPage(
            url=photo_url,
            status=200,
            headers={"Content-Type": "text/html; charset=utf-8"},
            body=photo_raw,
            fetched_at=T0 + timedelta(minutes=30),
            article_id=older_id,
        ),
        other("older-l2", 90, status=200),  # unchanged (another article than the seed)
        fetched(chrome_changed(older_raw, 5), older_url, T0 + timedelta(minutes=100)),
    ]


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


def picture(session: Session) -> dict[str, Any]:
    """Every column of every row ingest writes; row ids replaced by what they stand for."""
    captures = {c.capture_id: c for c in session.scalars(select(Capture))}

    def capture_key(capture_id: int | None) -> tuple[Any, ...] | None:
        if capture_id is None:
            return None
        c = captures[capture_id]
        return (c.url, c.fetched_at, c.body_hash)

    def columns(obj: Any, *skip: str) -> dict[str, Any]:
        return {
            column.key: getattr(obj, column.key)
            for column in obj.__table__.columns
            if column.key not in skip
        }

    versions = []
    for v in session.scalars(select(Version).order_by(Version.article_id, Version.version_no)):
        row = columns(v, "version_id", "first_capture_id", "last_capture_id")
        row["first_capture"] = capture_key(v.first_capture_id)
        row["last_capture"] = capture_key(v.last_capture_id)
        versions.append(row)
    runs = [
        columns(run, "crawl_run_id", "started_at", "finished_at")
        for run in session.scalars(select(CrawlRun).order_by(CrawlRun.crawl_run_id))
    ]
    return {
        "captures": sorted(
            (columns(c, "capture_id", "crawl_run_id") for c in captures.values()), key=repr
        ),
        "bodies": [columns(b) for b in session.scalars(select(Body).order_by(Body.body_hash))],
        "articles": [
            columns(a) for a in session.scalars(select(Article).order_by(Article.article_id))
        ],
        "versions": versions,
        "runs": runs,
    }


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


def test_pipelined_ingest_parses_the_next_batch_while_it_stores_the_last(session_factory):
    """Storing runs in its own thread, at the same time as the next batch's parse: the first
    batch's store waits until the second batch's parse has begun, and that parse waits until the
    store has written. One after the other, in one thread, the first wait would time out."""
    second_parse_began, first_store_wrote = threading.Event(), threading.Event()
    waits: dict[str, bool] = {}
    threads: dict[str, set[str]] = {"parse": set(), "store": set()}
    second_batch = [other("photo-item", 2), seed(3)]

    def meeting_parser(body: bytes, url: str, fetched_at: datetime) -> Any:
        threads["parse"].add(threading.current_thread().name)
        if url == second_batch[0].url and fetched_at == second_batch[0].fetched_at:
            second_parse_began.set()
            waits["parse saw the store"] = first_store_wrote.wait(timeout=WAIT_SECONDS)
        return parse_page(body, url, fetched_at)

    def meeting_store(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO captures"):
            threads["store"].add(threading.current_thread().name)
            if "store saw the parse" not in waits:
                waits["store saw the parse"] = second_parse_began.wait(timeout=WAIT_SECONDS)
                first_store_wrote.set()

    engine = session_factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", meeting_store)
    try:
        reported: list[list[IngestResult]] = []
        batches = [[seed(0), other("older-l2", 1)], second_batch]
        ingest_batches(session_factory, batches, reported.append, parser=meeting_parser)
    finally:
        event.remove(engine, "before_cursor_execute", meeting_store)
    assert waits == {"store saw the parse": True, "parse saw the store": True}
    assert threads == {"parse": {"MainThread"}, "store": {"ingest-store_0"}}
    assert [[r.outcome for r in results] for results in reported] == [
        ["new_article", "new_article"],
        ["new_article", "unchanged"],
    ]


def test_pipelined_ingest_keeps_the_batch_in_flight_when_reading_fails(session_factory):
    reported: list[list[IngestResult]] = []

    def batches() -> Iterator[list[FetchedPage]]:
        yield [seed(0)]
        yield [other("older-l2", 1)]
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        ingest_batches(session_factory, batches(), reported.append)
    # Both batches read before the break were stored, and reported, the second while the
    # error went on.
    assert [[r.outcome for r in results] for results in reported] == [
        ["new_article"],
        ["new_article"],
    ]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 2


def test_pipelined_ingest_raises_a_failed_store_and_keeps_the_batches_before(session_factory):
    reported: list[list[IngestResult]] = []
    engine = session_factory.kw["bind"]

    def fail_third_batch(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO captures") and len(reported) == 2:
            raise RuntimeError("disk full")

    pages = [seed(0), other("older-l2", 1), other("photo-item", 2), seed(3)]
    event.listen(engine, "before_cursor_execute", fail_third_batch)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            ingest_batches(session_factory, ([page] for page in pages), reported.append)
    finally:
        event.remove(engine, "before_cursor_execute", fail_third_batch)
    assert len(reported) == 2
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 2


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


POISON_URL = "https://www.newsis.com/view/NISX20241115_0000000001"


def add_poison_trigger(engine: Engine) -> None:
    """A database that refuses one URL's capture: a real error from the database mid-batch."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON captures"
                    f" WHEN NEW.url = '{POISON_URL}'"
                    " BEGIN SELECT RAISE(ABORT, 'poisoned capture'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$"
                    f" BEGIN IF NEW.url = '{POISON_URL}' THEN"
                    " RAISE EXCEPTION 'poisoned capture'; END IF; RETURN NEW; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON captures"
                    " FOR EACH ROW EXECUTE FUNCTION poison()"
                )
            )


def test_database_error_mid_batch_costs_only_the_refused_page(archive_engine, session_factory):
    with session_factory() as session:
        for page in stored_before():
            ingest(session, page)
        run_id = start_run(session)
    add_poison_trigger(archive_engine)
    # The late capture makes the batch write what came before it (and rebuild the article)
    # before the poisoned capture is written.
    pages = [*mixed_batch(), fetched(b"<html></html>", POISON_URL, T0)]
    assert pages[9].fetched_at < pages[1].fetched_at
    with session_factory() as session:
        results = ingest_many(session, pages, run_id)
        assert results[-1].outcome == "lost" and "poisoned capture" in results[-1].error
        after = picture(session)
        assert (
            session.scalar(select(func.count()).select_from(Capture))
            == len(stored_before()) + len(pages) - 1 - 2
        )
        # Every other page went in as the batch without the poison would have put it.
        again = ingest_many(session, pages[:-1], run_id)
        assert {result.outcome for result in again} == {"duplicate"}
        # (the run's duplicate count aside: it counts the second ingest)
        assert {**picture(session), "runs": None} == {**after, "runs": None}


def test_concurrent_batches_in_opposite_orders_store_every_page_once(session_factory):
    """Writers whose batches share articles in opposite orders neither deadlock for good nor
    number a version twice (PostgreSQL: row and advisory locks taken in one order, retries)."""
    raw = seed_raw()
    older_raw, older_url, _ = example_page("older-l2")
    pages = []
    for i in range(1, 13):
        pages.append(seed(i, raw.replace("15일 업계".encode(), f"{i}일 업계".encode())))
        page = fetched(chrome_changed(older_raw, i + 1), older_url, T0 + timedelta(minutes=i))
        pages.append(page)
    chunks = [pages[0::3], list(reversed(pages[1::3])), pages[2::3]]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(chunks))

    def worker(chunk: list[FetchedPage]) -> None:
        try:
            barrier.wait()
            with session_factory() as session:
                for start in range(0, len(chunk), 4):
                    ingest_many(session, chunk[start : start + 4])
        except BaseException as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == len(pages)
        for article_id in (SEED_ID, "NISX20190304_0000577521"):
            numbers = session.scalars(
                select(Version.version_no)
                .where(Version.article_id == article_id)
                .order_by(Version.version_no)
            ).all()
            assert numbers == list(range(1, len(numbers) + 1))
            article = session.get(Article, article_id)
            assert article.current_version_no == numbers[-1]


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

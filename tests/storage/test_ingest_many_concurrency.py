"""ingest_many and ingest_batches at work beside others: the pipeline's two threads, a store or
a read failing part-way, a page the database refuses, writers sharing articles."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from crawler.archiving import ingest, ingest_batches, ingest_many
from crawler.publishers import parse_article as parse_page
from storage.fetched_page import FetchedPage
from storage.ingest.write_path import IngestResult
from storage.models import Article, Capture, Version
from storage.runs import start_run
from tests.support.ingest_batches import (
    mixed_batch,
    other,
    picture,
    seed,
    seed_raw,
    stored_before,
)
from tests.support.storage_fixtures import SEED_ID, T0, chrome_changed, example_page, fetched

# How long the pipelined-ingest test waits for the other thread (it meets it in milliseconds).
WAIT_SECONDS = 10


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

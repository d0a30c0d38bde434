"""The crawl's writer process: pages stored in order, receipts released after the commit, and
a clear error, not a hang, when the writer dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.writer_process import BATCH_WINDOW, IngestProcess, WriterGone
from storage.models import Capture, Version
from storage.runs import start_run
from tests.support.storage_fixtures import example_page, fetched

T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RecordCommitted:
    """An after-commit hook that notes, per call, its receipts and how many captures the
    database held at that moment (read on a connection of its own)."""

    log: str
    database: str

    def __call__(self, receipts: list[str]) -> None:
        connection = sqlite3.connect(self.database)
        try:
            stored = connection.execute("SELECT count(*) FROM captures").fetchone()[0]
        finally:
            connection.close()
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(json.dumps({"receipts": receipts, "captures": stored}) + "\n")


def pages(count: int):
    raw, url, _ = example_page("seed-l3")
    return [fetched(raw, url, T0 + timedelta(minutes=n)) for n in range(count)]


async def store_all(writer: IngestProcess, crawl_run_id: int, batch) -> list:
    return await asyncio.gather(
        *(writer.store(page, crawl_run_id, receipt=f"r{n}") for n, page in enumerate(batch))
    )


# The hook reads the SQLite file directly; the writer's PostgreSQL path is the scale-out tests'.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_are_stored_in_order_and_receipts_follow_the_commit(
    tmp_path: Path, archive_engine, session_factory
):
    with session_factory() as session:
        crawl_run_id = start_run(session)
    database = archive_engine.url.database
    log = tmp_path / "commits.jsonl"
    writer = IngestProcess(
        archive_engine.url.render_as_string(hide_password=False),
        after_commit=RecordCommitted(str(log), database),
    )
    try:
        stored = asyncio.run(store_all(writer, crawl_run_id, pages(12)))
    finally:
        writer.close()

    assert [one.outcome for one in stored] == ["new_article"] + ["unchanged"] * 11
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 12
        assert session.scalar(select(func.count()).select_from(Version)) == 1
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    released = [receipt for call in calls for receipt in call["receipts"]]
    assert released == [f"r{n}" for n in range(12)]
    # Each call came after its pages were committed: the captures were already readable.
    seen = 0
    for call in calls:
        seen += len(call["receipts"])
        assert call["captures"] >= seen


async def store_trickling(writer: IngestProcess, crawl_run_id: int, batch, gap: float) -> list:
    """Hand the pages over one by one, `gap` seconds apart, as a crawl's responses arrive, once
    the writer has started and stored a first page (it is idle when they begin)."""
    await writer.store(batch[0], crawl_run_id, receipt="first")
    batch = batch[1:]
    waiting = []
    for n, page in enumerate(batch):
        waiting.append(asyncio.ensure_future(writer.store(page, crawl_run_id, receipt=f"r{n}")))
        await asyncio.sleep(gap)
    return await asyncio.gather(*waiting)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_arriving_within_the_batch_window_share_one_commit(
    tmp_path: Path, archive_engine, session_factory
):
    with session_factory() as session:
        crawl_run_id = start_run(session)
    log = tmp_path / "commits.jsonl"
    writer = IngestProcess(
        archive_engine.url.render_as_string(hide_password=False),
        after_commit=RecordCommitted(str(log), archive_engine.url.database),
    )
    try:
        # The writer is idle when the pages start coming, 5 ms apart: without the window it would
        # store the first alone, then whatever came during that commit, and so on.
        gap = 0.005
        assert 8 * gap < BATCH_WINDOW / 2
        stored = asyncio.run(store_trickling(writer, crawl_run_id, pages(9), gap))
    finally:
        writer.close()

    assert [one.outcome for one in stored] == ["unchanged"] * 8
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [call["receipts"] for call in calls] == [["first"], [f"r{n}" for n in range(8)]]


def test_a_dead_writer_fails_waiting_pages_instead_of_hanging(archive_engine, session_factory):
    with session_factory() as session:
        crawl_run_id = start_run(session)
    writer = IngestProcess(archive_engine.url.render_as_string(hide_password=False))
    try:
        os.kill(writer._process.pid, signal.SIGKILL)
        writer._process.join(30)

        async def store_after_death():
            return await asyncio.wait_for(store_all(writer, crawl_run_id, pages(3)), 30)

        with pytest.raises(WriterGone):
            asyncio.run(store_after_death())
    finally:
        writer.close()

"""Reparse on worker processes, and beside other writers: same result as one process, no waiting."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crawler.archiving import ingest, reparse
from crawler.cli import cli
from crawler.publishers import parse_article as parse_page
from storage.chain_writes import _SHARED_VALUES_MIN, _update_many
from storage.db import make_engine, make_session_factory
from storage.models import Article, Capture, Version
from storage.record import ArticleRecord
from storage.reparse import REPARSE_BATCH, _batches, reparse_batch, worker_start_method
from tests.storage.test_reparse import T0, fill
from tests.support.reliability_support import consistency_problems, dump, import_batches, parser_v2
from tests.support.storage_fixtures import example_page, fetched

# Long enough for a reparse of the small archives here on a loaded machine; a reparse that
# waits for a lock held by the test would wait forever (PostgreSQL) or 30 s (SQLite).
REPARSE_LIMIT_SECONDS = 25


@pytest.fixture
def many_articles(db_url, archive_engine, tmp_path: Path) -> str:
    """An archive of ~30 articles (60 captures, some edited): more than one worker job."""
    warc = import_batches(seed=11, folder=tmp_path, batches=1, per_batch=60)[0]
    result = CliRunner().invoke(cli, ["import", str(warc), "--db", db_url])
    assert result.exit_code == 0, result.output
    return db_url


def test_reparse_on_two_workers_equals_reparse_in_one_process(many_articles, archive_engine):
    reported: Counter[str] = Counter()
    summary = reparse(
        archive_engine,
        parser=parser_v2,
        workers=2,
        on_article=lambda article_id, _changed: reported.update([article_id]),
    )
    assert summary.articles > 2 * REPARSE_BATCH  # the worker pool really ran
    assert summary.changed == summary.articles
    assert set(reported.values()) == {1} and len(reported) == summary.articles
    on_workers = dump(many_articles, full=True)
    assert consistency_problems(many_articles) == []

    assert reparse(archive_engine, parser=parse_page, workers=1).changed == summary.articles
    assert reparse(archive_engine, parser=parser_v2, workers=1).changed == summary.articles
    assert dump(many_articles, full=True) == on_workers
    assert reparse(archive_engine, parser=parser_v2, workers=2).changed == 0


# Only a SQLite file is unsafe to fork with (PostgreSQL connections check their pid).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reparse_spawns_workers_while_this_process_holds_the_archive_open(
    many_articles, archive_engine
):
    archive_engine.dispose()  # as reparse does before it starts workers
    assert worker_start_method(many_articles) == "fork"
    holder = make_engine(many_articles)
    try:
        with holder.connect():
            assert worker_start_method(many_articles) == "spawn"
            summary = reparse(archive_engine, parser=parser_v2, workers=2)
    finally:
        holder.dispose()
    assert summary.changed == summary.articles
    versions = dump(many_articles, full=True)["versions"]
    assert {row[2] for rows in versions.values() for row in rows} == {"test-2"}


def test_reparse_with_the_same_parser_never_waits_for_another_writer(
    db_url, session_factory, archive_engine
):
    fill(session_factory)
    other = make_engine(db_url, immediate=True)
    finished = []
    running = threading.Thread(target=lambda: finished.append(reparse(archive_engine, workers=1)))
    try:
        with make_session_factory(other)() as writer:
            # Holds SQLite's write lock (BEGIN IMMEDIATE) and, on PostgreSQL, every article row.
            writer.execute(select(Article).with_for_update()).all()
            running.start()
            running.join(REPARSE_LIMIT_SECONDS)
            assert finished, "reparse with the same parser waited for the other writer"
    finally:
        other.dispose()
        if running.is_alive():
            running.join()
    assert (finished[0].articles, finished[0].changed) == (4, 0)


def test_reparse_rebuilds_an_article_that_gained_a_capture_since_its_read(
    session_factory, archive_engine
):
    fill(session_factory)
    raw, url, _ = example_page("seed-l3")
    article_id = "NISX20241115_0002960118"
    edited = raw.replace("15일 업계에 따르면".encode(), "17일 업계에 따르면".encode())

    @contextmanager
    def read_then_crawl() -> Iterator:
        with session_factory() as session:
            yield session
        # A crawl stores a newer capture (current parser) between reparse's read and its write.
        with session_factory() as session:
            ingest(session, fetched(edited, url, T0 + timedelta(hours=3)))

    results = reparse_batch(read_then_crawl, session_factory, parser_v2, [article_id])
    assert results == [(article_id, True)]
    with session_factory() as session:
        versions = session.scalars(
            select(Version).where(Version.article_id == article_id).order_by(Version.version_no)
        ).all()
        newest = session.scalar(
            select(func.max(Capture.capture_id)).where(Capture.article_id == article_id)
        )
    assert [v.parser_version for v in versions] == ["test-2"] * 3
    assert versions[-1].last_capture_id == newest


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 40, 150, 1001])
@pytest.mark.parametrize("workers", [1, 2, 8])
def test_reparse_jobs_take_every_article_once_in_order_and_shrink_at_the_end(count, workers):
    ids = [f"a{n:05d}" for n in range(count)]
    jobs = list(_batches(ids, workers))
    assert [one for job in jobs for one in job] == ids
    assert all(1 <= len(job) <= REPARSE_BATCH for job in jobs)
    if count > REPARSE_BATCH * workers * 4:
        assert len(jobs[0]) == REPARSE_BATCH and len(jobs[-1]) == 1


def test_row_updates_shared_by_many_rows_and_their_own_all_land(many_articles, archive_engine):
    """chain_writes._update_many writes rows that set the same values together (from
    _SHARED_VALUES_MIN on) and the others by their columns: each row gets its own values."""
    sessions = make_session_factory(archive_engine)
    with sessions() as session:
        ids = session.scalars(select(Capture.capture_id).order_by(Capture.capture_id)).all()
    assert len(ids) > 2 * _SHARED_VALUES_MIN
    wanted = {
        capture_id: "shared" if index < _SHARED_VALUES_MIN else f"own-{index % 3}"
        for index, capture_id in enumerate(ids)
    }
    rows = [{"capture_id_": capture_id, "parser_version": wanted[capture_id]} for capture_id in ids]
    with sessions() as session:
        _update_many(session, Capture.__table__, "capture_id", rows)
        session.commit()
    with sessions() as session:
        stored = dict(session.execute(select(Capture.capture_id, Capture.parser_version)).all())
    assert stored == wanted


def parser_v2_for_odd_ids(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """parser_v2 for articles whose id ends in an odd digit; the current parser for the rest.

    Module-level, so reparse's spawned workers find it by its importable name.
    """
    record = parse_page(body, url, fetched_at)
    return parser_v2(body, url, fetched_at) if int(record.article_id[-1]) % 2 else record


@pytest.mark.parametrize("workers", [1, 2])
def test_reparse_that_changes_some_articles_writes_exactly_those(
    many_articles, archive_engine, workers
):
    """After a batch that changed something, the next one skips its first read of the stored
    rows (reparse_batch's expect_changes) and lets the write transaction decide: articles the
    parser leaves alone must still be reported unchanged and left as they were."""
    sessions = make_session_factory(archive_engine)
    before = dump(many_articles, full=True)
    with sessions() as session:
        ids = session.scalars(select(Article.article_id)).all()
    odd = {article_id for article_id in ids if int(article_id[-1]) % 2}
    assert 0 < len(odd) < len(ids)
    changed: set[str] = set()
    summary = reparse(
        archive_engine,
        parser=parser_v2_for_odd_ids,
        workers=workers,
        on_article=lambda article_id, was_changed: was_changed and changed.add(article_id),
    )
    assert summary.articles > 2 * REPARSE_BATCH
    assert changed == odd
    with sessions() as session:
        parsers = dict(
            session.execute(select(Version.article_id, Version.parser_version)).all()
        )
    assert {article_id for article_id, version in parsers.items() if version == "test-2"} == odd
    assert consistency_problems(many_articles) == []
    assert reparse(archive_engine, parser=parser_v2_for_odd_ids, workers=workers).changed == 0
    assert reparse(archive_engine, parser=parse_page, workers=workers).changed == len(odd)
    assert dump(many_articles, full=True) == before

"""Ingest: captures are kept, versions change only with content, bodies are stored compactly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from crawler.archiving import ingest
from storage.db import make_session_factory, open_archive, readable_json
from storage.ingest.write_path import load_body
from storage.models import Article, Body, Capture, CrawlRun, Version
from storage.record import ArticleRecord
from storage.runs import finish_run, start_run
from tests.support.storage_fixtures import chrome_changed, edited, example_page, fetched

T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
SEED_ID = "NISX20241115_0002960118"


def seed(at: datetime, body: bytes | None = None, **kwargs):
    raw, url, _ = example_page("seed-l3")
    return fetched(raw if body is None else body, url, at, **kwargs)


def rnd_changed(raw: bytes) -> bytes:
    changed = raw.replace(b"rnd=20241114151032", b"rnd=20241116000000")
    assert changed != raw
    return changed


def counts(session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (Article, Version, Capture, Body)
    }


def test_example_pages_become_versions_equal_to_their_records(session_factory):
    for name in ("seed-l3", "older-l2", "photo-item"):
        raw, url, expected = example_page(name)
        with session_factory() as session:
            result = ingest(session, fetched(raw, url, T0))
            assert result.outcome == "new_article"
            assert result.version_no == 1
            version = session.scalars(
                select(Version).where(Version.article_id == result.article_id)
            ).one()
            stored = ArticleRecord.from_dict(
                {
                    "article_id": version.article_id,
                    "url": session.get(Article, version.article_id).url,
                    "headline": version.headline,
                    "published_at": version.published_at.isoformat(),
                    "modified_at": version.modified_at.isoformat() if version.modified_at else None,
                    "section": version.section,
                    "dateline": version.dateline,
                    "subheadlines": version.subheadlines,
                    "reporters": version.reporters,
                    "captions": version.captions,
                    "body": version.body,
                }
            )
            expected_record = ArticleRecord.from_dict(expected)
            assert stored.content_dict() == expected_record.content_dict()
            assert stored.published_at == expected_record.published_at
            assert stored.modified_at == expected_record.modified_at
            assert version.content_hash == expected_record.content_hash
            assert version.parser_version
            assert version.first_seen_at == T0 and version.last_seen_at == T0


def test_times_come_back_timezone_aware_utc(session_factory):
    with session_factory() as session:
        ingest(session, seed(T0 + timedelta(seconds=1.5)))
    with session_factory() as session:
        article = session.get(Article, SEED_ID)
        assert article.first_seen_at == T0 + timedelta(seconds=1.5)
        assert article.first_seen_at.utcoffset() == timedelta(0)
        assert article.published_at.utcoffset() == timedelta(0)


def test_same_capture_twice_changes_nothing(session_factory):
    with session_factory() as session:
        first = ingest(session, seed(T0))
        before = counts(session)
        second = ingest(session, seed(T0))
        assert second.outcome == "duplicate"
        assert second.capture_id == first.capture_id
        assert counts(session) == before


def test_edited_page_becomes_version_2(session_factory):
    raw, _, _ = example_page("seed-l3")
    with session_factory() as session:
        ingest(session, seed(T0))
        result = ingest(session, seed(T0 + timedelta(hours=1), edited(raw)))
        assert result.outcome == "new_version"
        assert result.version_no == 2
        article = session.get(Article, SEED_ID)
        assert article.current_version_no == 2
        assert article.last_changed_at == T0 + timedelta(hours=1)
        first, second = session.scalars(
            select(Version).where(Version.article_id == SEED_ID).order_by(Version.version_no)
        ).all()
        assert first.last_seen_at == T0
        assert second.first_seen_at == T0 + timedelta(hours=1)
        assert first.content_hash != second.content_hash


def test_reverted_edit_is_a_new_version_number(session_factory):
    raw, _, _ = example_page("seed-l3")
    with session_factory() as session:
        ingest(session, seed(T0))
        ingest(session, seed(T0 + timedelta(hours=1), edited(raw)))
        result = ingest(session, seed(T0 + timedelta(hours=2), chrome_changed(raw, 3)))
        assert (result.outcome, result.version_no) == ("new_version", 3)
        hashes = session.scalars(
            select(Version.content_hash).where(Version.article_id == SEED_ID).order_by(
                Version.version_no
            )
        ).all()
        assert hashes[0] == hashes[2] != hashes[1]


def test_chrome_or_rnd_change_moves_last_seen_only(session_factory):
    raw, _, _ = example_page("seed-l3")
    with session_factory() as session:
        ingest(session, seed(T0))
        chrome = ingest(session, seed(T0 + timedelta(minutes=15), chrome_changed(raw, 7)))
        rnd = ingest(session, seed(T0 + timedelta(minutes=30), rnd_changed(raw)))
        assert (chrome.outcome, rnd.outcome) == ("unchanged", "unchanged")
        version = session.scalars(select(Version)).one()
        assert version.first_seen_at == T0
        assert version.last_seen_at == T0 + timedelta(minutes=30)
        assert version.last_capture_id == rnd.capture_id
        assert session.get(Article, SEED_ID).last_checked_at == T0 + timedelta(minutes=30)


def test_page_that_fails_to_parse_is_kept_with_its_error_and_makes_no_version(session_factory):
    raw, url, _ = example_page("not-found")
    with session_factory() as session:
        result = ingest(session, fetched(raw, url, T0))
        assert result.outcome == "failed"
        capture = session.get(Capture, result.capture_id)
        assert "GISA FILE NOT EXISTS" in capture.parse_error
        assert load_body(session, capture.body_hash) == raw
        assert session.scalar(select(func.count()).select_from(Version)) == 0


def test_blocked_and_failed_fetches_are_kept_as_failures(session_factory):
    with session_factory() as session:
        ingest(session, seed(T0))
        blocked = ingest(session, seed(T0 + timedelta(minutes=15), b"captcha", status=429))
        timeout = ingest(
            session, seed(T0 + timedelta(minutes=30), b"", status=0, fetch_error="timeout 30 s")
        )
        assert (blocked.outcome, blocked.error) == ("failed", "HTTP 429")
        assert (timeout.outcome, timeout.error) == ("failed", "timeout 30 s")
        version = session.scalars(select(Version)).one()
        assert version.last_seen_at == T0
        assert session.get(Article, SEED_ID).last_checked_at == T0 + timedelta(minutes=30)


def test_not_modified_moves_last_seen_of_current_version(session_factory):
    headers = {"ETag": '"abc"', "Last-Modified": "Fri, 15 Nov 2024 00:00:00 GMT"}
    with session_factory() as session:
        ingest(session, seed(T0, headers=headers))
        result = ingest(session, seed(T0 + timedelta(minutes=15), b"", status=304))
        assert result.outcome == "not_modified"
        capture = session.get(Capture, result.capture_id)
        assert capture.body_hash is None
        version = session.scalars(select(Version)).one()
        assert version.last_seen_at == T0 + timedelta(minutes=15)
        assert version.last_capture_id == result.capture_id
        article = session.get(Article, SEED_ID)
        assert article.etag == '"abc"'
        assert article.last_modified == headers["Last-Modified"]


def test_next_check_follows_the_schedule(session_factory):
    with session_factory() as session:
        ingest(session, seed(T0))
        article = session.get(Article, SEED_ID)
        # Published 06:30 KST = 21:30 UTC the day before: 2.5 h old at T0, so every 15 min.
        assert article.next_check_at == T0 + timedelta(minutes=15)


def test_identical_bodies_are_stored_once(session_factory):
    with session_factory() as session:
        ingest(session, seed(T0))
        ingest(session, seed(T0 + timedelta(minutes=15)))
        assert session.scalar(select(func.count()).select_from(Capture)) == 2
        assert session.scalar(select(func.count()).select_from(Body)) == 1


def test_refetch_with_other_chrome_is_a_small_delta_that_reads_back_exactly(session_factory):
    raw, _, _ = example_page("seed-l3")
    with session_factory() as session:
        first = ingest(session, seed(T0))
        pages = [chrome_changed(raw, n) for n in range(2, 6)] + [edited(raw)]
        results = [
            ingest(session, seed(T0 + timedelta(minutes=15 * i), page))
            for i, page in enumerate(pages, start=1)
        ]
        base = session.get(Body, session.get(Capture, first.capture_id).body_hash)
        assert base.base_hash is None
        for page, result in zip(pages, results, strict=True):
            body = session.get(Capture, result.capture_id).body
            assert body.base_hash == base.body_hash
            assert body.stored_size < 1024
            assert load_body(session, body.body_hash) == page


def test_capture_arriving_late_is_put_in_capture_time_order(session_factory):
    raw, _, _ = example_page("seed-l3")
    with session_factory() as session:
        ingest(session, seed(T0))
        ingest(session, seed(T0 + timedelta(hours=2), edited(raw)))
        late = ingest(session, seed(T0 + timedelta(hours=1), edited(raw)))
        assert late.outcome == "new_version"
        versions = session.scalars(select(Version).order_by(Version.version_no)).all()
        assert [v.version_no for v in versions] == [1, 2]
        assert versions[0].last_seen_at == T0
        assert versions[1].first_seen_at == T0 + timedelta(hours=1)
        assert versions[1].last_seen_at == T0 + timedelta(hours=2)
        assert session.get(Article, SEED_ID).last_changed_at == T0 + timedelta(hours=1)


def test_crawl_run_counts_every_outcome(session_factory):
    raw, _, _ = example_page("seed-l3")
    with session_factory() as session:
        run_id = start_run(session)
        ingest(session, seed(T0), run_id)
        ingest(session, seed(T0), run_id)
        ingest(session, seed(T0 + timedelta(minutes=1), edited(raw)), run_id)
        ingest(session, seed(T0 + timedelta(minutes=2), edited(raw)), run_id)
        ingest(session, seed(T0 + timedelta(minutes=3), b"", status=304), run_id)
        ingest(session, seed(T0 + timedelta(minutes=4), b"no", status=403), run_id)
        run = finish_run(session, run_id)
        assert run.outcome == "finished" and run.finished_at is not None
        assert (
            run.new_article_count,
            run.duplicate_count,
            run.new_version_count,
            run.unchanged_count,
            run.not_modified_count,
            run.failed_count,
        ) == (1, 1, 1, 1, 1, 1)
        captures = session.scalars(select(Capture).where(Capture.crawl_run_id == run_id)).all()
        assert len(captures) == 5
        assert session.get(CrawlRun, run_id).missing_field_count == 0


def test_concurrent_ingests_of_one_article_never_duplicate_version_numbers(session_factory):
    raw, _, _ = example_page("seed-l3")
    pages = [
        seed(T0 + timedelta(minutes=i), raw.replace("15일 업계".encode(), f"{i}일 업계".encode()))
        for i in range(1, 9)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(chunk):
        try:
            barrier.wait()
            with session_factory() as session:
                for page in chunk:
                    ingest(session, page)
        except BaseException as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(pages[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as session:
        numbers = session.scalars(select(Version.version_no).order_by(Version.version_no)).all()
        assert numbers == list(range(1, len(numbers) + 1))
        assert session.scalar(select(func.count()).select_from(Capture)) == 8
        assert session.get(Article, SEED_ID).current_version_no == numbers[-1]


def test_sqlite_json_columns_hold_korean_as_itself_not_escapes(tmp_path):
    """storage.db.readable_json (SQLite; PostgreSQL's JSONB keeps no text form): a version's
    JSON columns read in Datasette and answer `LIKE`; both edits' versions go through ingest's
    multi-row INSERT."""
    engine = open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}", for_writing=True)
    try:
        with make_session_factory(engine)() as session:
            ingest(session, seed(T0))
            ingest(session, seed(T0 + timedelta(hours=1), edited(example_page("seed-l3")[0])))
            rows = session.execute(
                text("SELECT subheadlines, reporters, captions, body FROM versions")
            ).all()
            first_paragraph = session.scalars(select(Version.body)).first()[0]
            found = session.scalar(
                text("SELECT count(*) FROM versions WHERE body LIKE :part"),
                {"part": f"%{first_paragraph[:6]}%"},
            )
    finally:
        engine.dispose()
    assert len(rows) == 2 and found == 2
    for row in rows:
        for column in row:
            assert "\\u" not in column


def test_readable_json_escapes_only_what_utf8_cannot_hold():
    assert readable_json(["뉴시스", {"n": 1}]) == '["뉴시스", {"n": 1}]'
    assert readable_json(["\ud800"]) == '["\\ud800"]'  # a lone surrogate: SQLite would refuse it

"""`newsarchive schedule`: its lock freed on every way out (soon when killed), its rounds."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from crawler.localsite.server import NewsisSite
from crawler.runlock import LOCKED_EXIT_CODE
from crawler.scaleout.rounds import SCHEDULE_LOCK_TTL
from storage import db
from tests.support.crawl_support import CRAWL_TIMEOUT, article_fetches
from tests.support.processes import wait_until
from tests.support.scaleout_support import (
    PG_VERSIONS_SQL,
    _command,
    finish,
    needs_both,
    newsis_keys,
    pg_rows,
    reference_versions,
    start_worker,
)
from tests.support.storage_fixtures import POSTGRES_ENV_VAR, throwaway_postgres_database


def _schedule(redis_url, db_url, prefix, site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command("schedule", redis_url, db_url, prefix, site, *args),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )


def _failing_archives(tmp_path: Path) -> list[str]:
    server = os.environ[POSTGRES_ENV_VAR]
    return [
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",  # nothing listens
        server.rsplit("/", 1)[0] + "/no_such_database_here",
        f"sqlite:///{tmp_path}/no/such/dir/archive.sqlite3",
    ]


@needs_both
def test_a_failed_schedule_frees_its_lock_for_the_next_cron_run(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    with NewsisSite(seed=71, articles=5) as site:
        for db_url in _failing_archives(tmp_path):
            failed = _schedule(redis_url, db_url, prefix, site)
            assert failed.returncode == 1, (db_url, failed.stderr)
            assert "Traceback" not in failed.stderr, failed.stderr
            assert not client.exists(keys.schedule_lock), db_url
        # A PostgreSQL archive at an older schema revision too (an empty one is set up).
        for behind_url in throwaway_postgres_database(os.environ[POSTGRES_ENV_VAR]):
            db.upgrade(behind_url, "0006")
            assert _schedule(redis_url, behind_url, prefix, site).returncode == 1
            assert not client.exists(keys.schedule_lock)
        ok = _schedule(redis_url, pg_url, prefix, site)
    assert ok.returncode == 0, ok.stderr


@needs_both
def test_a_killed_schedules_lock_is_renewed_while_it_lives_and_expires_soon_after(
    redis_url, prefix, pg_url
) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    blocker_engine = create_engine(pg_url)
    blocker = blocker_engine.connect()
    with NewsisSite(seed=72, articles=5) as site:
        # The job waits on this table lock while holding its Redis lock: a job stuck mid-run.
        blocker.execute(text("LOCK TABLE crawl_runs IN ACCESS EXCLUSIVE MODE"))
        stuck = subprocess.Popen(_command("schedule", redis_url, pg_url, prefix, site),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: client.exists(keys.schedule_lock), "the job holds its lock")
            assert 0 < client.pttl(keys.schedule_lock) <= SCHEDULE_LOCK_TTL * 1000
            # A renewal is the time to live going up between two looks; a look long after a
            # renewal can read less than one just after the lock was taken.
            last_ttl = [client.pttl(keys.schedule_lock)]

            def renewed() -> bool:
                ttl = client.pttl(keys.schedule_lock)
                went_up, last_ttl[0] = ttl > last_ttl[0], ttl
                return went_up

            wait_until(renewed, "a renewal", 30)
            busy = _schedule(redis_url, pg_url, prefix, site)
            assert busy.returncode == LOCKED_EXIT_CODE, busy.stderr
        finally:
            stuck.send_signal(signal.SIGKILL)
            stuck.communicate(timeout=CRAWL_TIMEOUT)
            blocker.rollback()
            blocker.close()
            blocker_engine.dispose()
        killed_at = time.monotonic()
        wait_until(lambda: not client.exists(keys.schedule_lock), "the lock expires",
                   SCHEDULE_LOCK_TTL + 10)
        assert time.monotonic() - killed_at <= SCHEDULE_LOCK_TTL + 10
        after = _schedule(redis_url, pg_url, prefix, site)
    assert after.returncode == 0, after.stderr


@needs_both
def test_schedule_while_the_last_round_is_queued_carries_it_over_without_duplicates(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    with NewsisSite(seed=73, articles=40) as site:
        expected = reference_versions(site, tmp_path)
        first = _schedule(redis_url, pg_url, prefix, site)
        assert first.returncode == 0, first.stderr
        second = _schedule(redis_url, pg_url, prefix, site, "--json")
        assert second.returncode == 0, second.stderr
        assert "Traceback" not in second.stderr
        assert '"carried_over": 16' in second.stdout and '"feeds": 0' in second.stdout
        workers = [start_worker(redis_url, pg_url, prefix, site, f"w{n}") for n in range(2)]
        results = [finish(worker) for worker in workers]
        fetches = article_fetches(site)
    assert all(code == 0 for code, _, _ in results), results
    assert pg_rows(pg_url, PG_VERSIONS_SQL) == expected
    assert set(fetches.values()) == {1}


@needs_both
def test_the_closed_round_reports_how_long_it_ran(redis_url, prefix, pg_url) -> None:
    with NewsisSite(seed=74, articles=30) as site:
        site.set_faults(latency=0.2)
        started = time.monotonic()
        assert _schedule(redis_url, pg_url, prefix, site).returncode == 0
        slow = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        assert finish(start_worker(redis_url, pg_url, prefix, site, "w", *slow))[0] == 0
        worked = time.monotonic() - started
        time.sleep(2)  # the next cron run comes later: the round ended at its last page
        closing = _schedule(redis_url, pg_url, prefix, site)
    assert closing.returncode == 0, closing.stderr
    seconds = float(re.search(r"fetches in ([\d.]+) s\)", closing.stdout).group(1))
    # 30 pages at 0.2 s, two at a time, take well over a second; the wait after is not counted.
    assert 1.0 <= seconds <= worked, closing.stdout


@pytest.mark.parametrize("value", [b"abc", b"-3", b"1e9", b"\x80\x81"])
@needs_both
def test_a_junk_round_key_closes_nothing_and_starts_a_round(
    redis_url, prefix, pg_url, value
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(newsis_keys(prefix).round, value)
    with NewsisSite(seed=75, articles=3) as site:
        result = _schedule(redis_url, pg_url, prefix, site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("newsis: round 1 queued:")

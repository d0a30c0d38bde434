"""Helpers for the scale-out tests: Redis and PostgreSQL fixtures, schedule and worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from crawler.localsite.server import NewsisSite
from crawler.scaleout.shared_queue import RedisKeys, lane_keys
from storage.db import upgrade
from tests.support.crawl_support import CRAWL_TIMEOUT, clear_requests, rows, run_crawl
from tests.support.storage_fixtures import POSTGRES_ENV_VAR, throwaway_postgres_database

REDIS_ENV_VAR = "NEWSARCHIVE_TEST_REDIS"
needs_redis = pytest.mark.skipif(
    not os.environ.get(REDIS_ENV_VAR), reason=f"{REDIS_ENV_VAR} not set (CI always sets it)"
)
needs_both = pytest.mark.skipif(
    not (os.environ.get(REDIS_ENV_VAR) and os.environ.get(POSTGRES_ENV_VAR)),
    reason=f"{REDIS_ENV_VAR} and {POSTGRES_ENV_VAR} not set (CI always sets both)",
)


@pytest.fixture
def redis_url() -> str:
    return os.environ[REDIS_ENV_VAR]


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test only (tests run in parallel on one Redis database)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    for url in throwaway_postgres_database(os.environ[POSTGRES_ENV_VAR]):
        upgrade(url)
        yield url


def _command(name: str, redis_url: str, db_url: str, prefix: str, site: NewsisSite, *args: str):
    """The command on the Newsis lane alone, fetching from `site`."""
    return [
        sys.executable, "-m", "crawler", name, "--redis", redis_url, "--db", db_url,
        "--key-prefix", prefix, "--publisher", "newsis", "--base-url", site.base_url, *args,
    ]


def newsis_keys(prefix: str) -> RedisKeys:
    return lane_keys(prefix, "newsis")


def schedule(redis_url, db_url, prefix, site, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        _command("schedule", redis_url, db_url, prefix, site, *args),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


# Workers print every warning (PYTHONWARNINGS) so a deprecated call shows up in stderr.
_WORKER_ENV = {**os.environ, "PYTHONWARNINGS": "always"}


def start_worker(
    redis_url, db_url, prefix, site, worker_id: str, *args: str, own_group: bool = False
) -> subprocess.Popen:
    """`own_group`: in a process group of its own, as a terminal's Ctrl-C reaches it."""
    return subprocess.Popen(
        _command(
            "worker", redis_url, db_url, prefix, site, "--fast", "--idle-exit", "2",
            "-s", f"NEWSARCHIVE_WORKER_ID={worker_id}", "-s", "NEWSARCHIVE_WORKER_TTL=3",
            *args,
        ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_WORKER_ENV,
        start_new_session=own_group,
    )


def finish(worker: subprocess.Popen) -> tuple[int, str, str]:
    out, err = worker.communicate(timeout=CRAWL_TIMEOUT)
    return worker.returncode, out, err


def pg_rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


VERSIONS_SQL = "SELECT article_id, version_no, content_hash FROM versions ORDER BY 1, 2"
# The same on PostgreSQL, whose digests are bytes (migration 0006): as hex, as SQLite holds them.
PG_VERSIONS_SQL = (
    "SELECT article_id, version_no, encode(content_hash, 'hex') FROM versions ORDER BY 1, 2"
)


def reference_versions(site: NewsisSite, tmp_path: Path) -> list[tuple]:
    """The versions one single-process `newsarchive crawl` of the same site gives."""
    db_path = tmp_path / "reference.sqlite3"
    result = run_crawl(db_path, site)
    assert result.returncode == 0, result.stderr
    clear_requests(site)
    return rows(db_path, VERSIONS_SQL)


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Warning:" in line]

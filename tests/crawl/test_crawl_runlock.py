"""The run lock: one holder per database, refused at once, free again after the holder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from crawler.runlock import RunLockBusy, lock_file_for, run_lock

POSTGRES_URL = os.environ.get("NEWSARCHIVE_TEST_POSTGRES")


def test_sqlite_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    assert lock_file_for(f"sqlite:///{tmp_path}/a.sqlite3") == tmp_path / "a.sqlite3.crawl.lock"


def test_sqlite_lock_is_refused_while_held_and_free_after(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a.sqlite3"
    with run_lock(url), pytest.raises(RunLockBusy, match=f"pid {os.getpid()}"), run_lock(url):
        pass
    with run_lock(url):
        pass


def test_locks_of_different_databases_do_not_meet(tmp_path: Path) -> None:
    with run_lock(f"sqlite:///{tmp_path}/a.sqlite3"), run_lock(f"sqlite:///{tmp_path}/b.sqlite3"):
        pass


@pytest.mark.skipif(not POSTGRES_URL, reason="NEWSARCHIVE_TEST_POSTGRES is not set")
def test_postgres_advisory_lock_is_refused_while_held_and_free_after() -> None:
    # A name of its own, so a crawl test on the same database never meets this one.
    name = f"test-{uuid.uuid4()}"
    with run_lock(POSTGRES_URL, name), pytest.raises(RunLockBusy), run_lock(POSTGRES_URL, name):
        pass
    with run_lock(POSTGRES_URL, name):
        pass

"""The cron locks: one crawl per database, one scheduling job per Redis prefix, freed when the
holder dies."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.db import ArchiveError

if TYPE_CHECKING:
    import redis

# sysexits.h EX_TEMPFAIL ("try again later"): what a cron job meeting a running crawl should do.
LOCKED_EXIT_CODE = 75

_LOCK_NAME = "newsarchive crawl"

logger = logging.getLogger(__name__)

# Renew or delete the lock only while it still holds our token: a lock that expired and was
# taken by another job is that job's.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RunLockBusy(Exception):
    """Another crawl holds the lock for this database."""


def lock_file_for(db_url: str) -> Path:
    """The lock file of a database: beside a SQLite file, else in the temp dir keyed by the URL."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().with_name(Path(url.database).name + ".crawl.lock")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"newsarchive-{digest}.crawl.lock"


def _advisory_key(name: str) -> int:
    # pg_advisory_lock takes a signed bigint; the same name gives the same key in every process.
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    if not path.parent.is_dir():
        raise ArchiveError(f"no such directory for the database: {path.parent}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise RunLockBusy(f"another crawl (pid {holder}) is running on this database") from None
        # The pid is only for the message above; the lock itself is the flock, which dies with us.
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        # Closing the descriptor releases the flock; the file stays so no one races on creating it.
        os.close(fd)


@contextmanager
def _advisory_lock(db_url: str, name: str) -> Iterator[None]:
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            key = _advisory_key(name)
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            if not taken.scalar():
                raise RunLockBusy("another crawl is running on this database")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
    finally:
        engine.dispose()


@contextmanager
def run_lock(db_url: str, name: str = _LOCK_NAME) -> Iterator[None]:
    """Hold the crawl lock of `db_url` for the block; raise RunLockBusy at once if it is taken.

    SQLite (and other file databases): fcntl.flock on a file beside the database. PostgreSQL: a
    session advisory lock on a connection kept open for the block. Either way the OS (or the
    server, when the connection drops) frees the lock if the process is killed.
    """
    if make_url(db_url).get_backend_name() == "postgresql":
        with _advisory_lock(db_url, name):
            yield
    else:
        with _file_lock(lock_file_for(db_url)):
            yield


@contextmanager
def redis_lock(client: redis.Redis, key: str, ttl: float, busy: RunLockBusy) -> Iterator[None]:
    """Hold `key` for the block; raise `busy` at once if another holder has it.

    The key lives `ttl` seconds and a thread renews it while the block runs, so a killed holder
    frees it within `ttl`, and any way out of the block (an error included) deletes it.
    """
    # Imported here: every crawl imports this module, only scale-out's schedule takes this lock.
    import redis
    token = uuid.uuid4().hex
    ttl_ms = max(1, int(ttl * 1000))
    if not client.set(key, token, nx=True, px=ttl_ms):
        raise busy
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            try:
                client.eval(_RENEW_LUA, 1, key, token, ttl_ms)
            except redis.RedisError as error:  # Redis away a moment: the next turn tries again
                logger.warning("Could not renew the lock %s: %s", key, error)

    renewer = threading.Thread(target=renew, name=f"renew {key}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        try:
            client.eval(_RELEASE_LUA, 1, key, token)
        except redis.RedisError as error:  # it expires within ttl all the same
            logger.warning("Could not release the lock %s: %s", key, error)

"""Storing one ingest batch's bodies: which are new, what each is compressed against; hashing
and compression run on worker threads while the caller parses."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import zstandard
from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.orm import Session

from storage.bodies import (
    _LOAD_CHUNK,
    MAX_DELTAS_PER_BASE,
    NEW_BASE_DELTA_SIZE,
    _bases,
    _cached_base,
    _compress_delta,
    _compress_standalone,
    _database_key,
    _delta_count_if_stored,
    _recent_base,
    body_hash_of,
)
from storage.models import COMPRESSION_ZSTD, COMPRESSION_ZSTD_DELTA, Body

# Threads that hash and compress bodies while the caller parses: hashlib and zstd release the GIL.
WORKER_THREADS = 2

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


class InlineExecutor(Executor):
    """Runs each job at once in the caller's thread (no worker threads)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def worker_pool() -> Executor:
    """This process's hashing/compression threads (a forked child makes its own)."""
    global _pool, _pool_pid
    if WORKER_THREADS == 0:
        return InlineExecutor()
    if _pool is None or _pool_pid != os.getpid():
        _pool = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="newsarchive-bodies")
        _pool_pid = os.getpid()
    return _pool


def _digest_and_delta(
    raw: bytes, base: tuple[bytes, zstandard.ZstdCompressionDict] | None
) -> tuple[str, bytes | None]:
    return body_hash_of(raw), _compress_delta(raw, *base) if base is not None else None


class Deltas:
    """Bodies' hashes and zstd deltas, made on worker threads ahead of need.

    While the caller parses a batch, the workers hash its bodies and compress each against the
    most recent base, which most of them end up a delta of. A delta is a pure function of the
    body and the base, so it stays valid when a batch is retried.
    """

    def __init__(self, session: Session, pool: Executor) -> None:
        self.pool = pool
        self._made: dict[tuple[str, str], Future[bytes] | bytes] = {}
        recent = _recent_base.get(_database_key(session))
        entry = _bases.get(recent) if recent is not None else None
        self._recent = (recent, entry) if recent is not None and entry is not None else None

    def hash_all(self, raws: Sequence[bytes]) -> Callable[[], list[str | None]]:
        """Start hashing `raws` (and their deltas against the recent base); call the result for
        their hashes (None for an empty body)."""
        base = self._recent[1] if self._recent is not None else None
        jobs = [self.pool.submit(_digest_and_delta, raw, base) if raw else None for raw in raws]

        def digests() -> list[str | None]:
            found: list[str | None] = []
            for job in jobs:
                if job is None:
                    found.append(None)
                    continue
                digest, delta = job.result()
                if delta is not None and self._recent is not None:
                    self._made[(digest, self._recent[0])] = delta
                found.append(digest)
            return found

        return digests

    def prefetch(self, session: Session, raw: bytes, digest: str, base_hash: str) -> None:
        """Start the delta of `raw` against a stored base, unless it is made already."""
        if (digest, base_hash) not in self._made:
            base_raw, dictionary = _cached_base(session, base_hash)
            self._made[(digest, base_hash)] = self.pool.submit(
                _compress_delta, raw, base_raw, dictionary
            )

    def delta(self, session: Session, raw: bytes, digest: str, base_hash: str) -> bytes:
        self.prefetch(session, raw, digest, base_hash)
        made = self._made[(digest, base_hash)]
        if isinstance(made, Future):
            made = self._made[(digest, base_hash)] = made.result()
        return made


_BODIES = Body.__table__
_BASES_OF = select(
    _BODIES.c.body_hash, func.coalesce(_BODIES.c.base_hash, _BODIES.c.body_hash)
).where(_BODIES.c.body_hash.in_(bindparam("hashes", expanding=True)))
_DELTAS = _BODIES.alias("deltas")
_DELTA_COUNTS = (
    select(_BODIES.c.body_hash, _BODIES.c.compression, func.count(_DELTAS.c.body_hash))
    .outerjoin(_DELTAS, _DELTAS.c.base_hash == _BODIES.c.body_hash)
    .where(_BODIES.c.body_hash.in_(bindparam("hashes", expanding=True)))
    .group_by(_BODIES.c.body_hash, _BODIES.c.compression)
)
_INSERT_BODIES = insert(_BODIES)


class BodyBatch:
    """The bodies one ingest transaction stores: which are stored already, how each new one is
    compressed. Known bodies and bases are read in two queries; new bodies are decided in page
    order (one may become the base of the next) and inserted together by `write`.
    """

    def __init__(self, session: Session, deltas: Deltas) -> None:
        self.session = session
        self.deltas = deltas
        self.key = _database_key(session)
        self.recent_base = _recent_base.get(self.key)
        self._base_of: dict[str, str] = {}  # stored body -> the standalone body it is or uses
        self._delta_counts: dict[str, int | None] = {}  # base -> its deltas (None: not a base)
        self._pending: list[tuple[bytes, str, str | None]] = []
        self._queued: set[str] = set()

    def load(self, digests: Iterable[str], previous_hashes: Iterable[str]) -> None:
        """Read which of `digests` are stored, and the bases the articles' previous bodies use."""
        connection = self.session.connection()
        previous = set(previous_hashes)
        for chunk in _chunks(set(digests) | previous):
            rows = connection.execute(_BASES_OF, {"hashes": chunk})
            self._base_of.update((body_hash, base_hash) for body_hash, base_hash in rows)
        bases = {self._base_of[body] for body in previous if body in self._base_of}
        if self.recent_base is not None:
            bases.add(self.recent_base)
        for chunk in _chunks(bases):
            rows = connection.execute(_DELTA_COUNTS, {"hashes": chunk})
            for body_hash, compression, count in rows:
                self._delta_counts[body_hash] = count if compression == COMPRESSION_ZSTD else None

    def is_stored(self, digest: str) -> bool:
        """Stored already, or queued by this batch."""
        return digest in self._base_of or digest in self._queued

    def add(self, raw: bytes, digest: str, previous_hash: str | None) -> None:
        """Queue a new body; `previous_hash` is its article's latest body (None: no article, or
        no body yet). Its likely deltas start on the workers now."""
        self._pending.append((raw, digest, previous_hash))
        self._queued.add(digest)
        for base_hash in self._candidates(previous_hash):
            if self._delta_counts.get(base_hash) is not None:
                self.deltas.prefetch(self.session, raw, digest, base_hash)

    def write(self, connection: Connection) -> None:
        """Decide the queued bodies in order and insert them (bases before their deltas)."""
        rows: list[dict[str, Any]] = []
        for index, (raw, digest, previous_hash) in enumerate(self._pending):
            data, base_hash = self._encode(raw, digest, previous_hash)
            compression = COMPRESSION_ZSTD_DELTA if base_hash else COMPRESSION_ZSTD
            if base_hash is None:
                # Later bodies will be compressed against the new base: start those deltas now.
                for later_raw, later_digest, _ in self._pending[index + 1 :]:
                    self.deltas.prefetch(self.session, later_raw, later_digest, digest)
            rows.append(
                {
                    "body_hash": digest,
                    "compression": compression,
                    "base_hash": base_hash,
                    "raw_size": len(raw),
                    "data": data,
                }
            )
            self._base_of[digest] = base_hash or digest
        self._pending.clear()
        self._queued.clear()
        for row in rows:
            if isinstance(row["data"], Future):
                row["data"] = row["data"].result()
            row["stored_size"] = len(row["data"])
        if rows:
            connection.execute(_INSERT_BODIES, rows)

    def committed(self) -> None:
        """Remember the batch's last new base for the next batch (call after the commit)."""
        if self.recent_base is not None:
            _recent_base[self.key] = self.recent_base

    def _candidates(self, previous_hash: str | None) -> list[str]:
        """Candidate bases: the base of the article's previous body (the same article, so its
        text is there already) and the base made most recently (another article, but the
        current chrome, which is ~120 KB of a 135 KB Newsis page)."""
        candidates: list[str] = []
        previous_base = self._base_of.get(previous_hash) if previous_hash is not None else None
        for base_hash in (previous_base, self.recent_base):
            if base_hash is not None and base_hash not in candidates:
                candidates.append(base_hash)
        return candidates

    def _encode(
        self, raw: bytes, digest: str, previous_hash: str | None
    ) -> tuple[bytes | Future[bytes], str | None]:
        """The compression decision: (delta, its base), or (standalone data, None).

        The smaller candidate delta wins; when even that is large, the body is stored standalone
        and becomes the new recent base (compressed on a worker meanwhile).
        """
        best: tuple[bytes, str] | None = None
        for base_hash in self._candidates(previous_hash):
            if base_hash not in self._delta_counts:
                self._delta_counts[base_hash] = _delta_count_if_stored(self.session, base_hash)
            deltas = self._delta_counts[base_hash]
            if deltas is None or deltas >= MAX_DELTAS_PER_BASE:
                continue
            data = self.deltas.delta(self.session, raw, digest, base_hash)
            if best is None or len(data) < len(best[0]):
                best = (data, base_hash)
        if best is not None and len(best[0]) <= NEW_BASE_DELTA_SIZE:
            data, base_hash = best
            self._delta_counts[base_hash] = (self._delta_counts[base_hash] or 0) + 1
            return data, base_hash
        _bases.put(digest, raw)
        self._delta_counts[digest] = 0
        self.recent_base = digest
        return self.deltas.pool.submit(_compress_standalone, raw), None


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    wanted = sorted(values)
    for start in range(0, len(wanted), _LOAD_CHUNK):
        yield wanted[start : start + _LOAD_CHUNK]

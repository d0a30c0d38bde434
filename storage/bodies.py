"""Raw response bodies: stored once per sha256, zstd-compressed, most as a delta against a base."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import zstandard
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, aliased

from storage.models import COMPRESSION_ZSTD, COMPRESSION_ZSTD_DELTA, Body

# zstd level for standalone bodies (the bases): well past gzip's ratio on HTML, ~15 KB for a
# 135 KB Newsis page in ~5-18 ms; few bodies are bases, so the time is spread thin.
ZSTD_LEVEL = 12
# zstd level for deltas. Measured on local-site pages against a 135 KB base, with the base's
# dictionary prepared once: level 6 ~1.2 ms and ~1,440 B a delta, level 12 ~2.5-3.5 ms and
# ~1,360 B, level 19 ~35 ms and ~1,270 B. Without size hints zstd sizes its tables for an
# unknown input and a level-12 delta took ~41 ms (bench/RESULTS.md § Storage).
DELTA_ZSTD_LEVEL = 6
# Parameters every delta is made with (sized for pages up to 256 KB; larger ones still
# compress correctly), so a base's dictionary is prepared for them once and cached.
DELTA_PARAMS_SOURCE_SIZE = 256 * 1024
# A base body serves as dictionary for at most this many deltas; the next body starts a new base.
# Bounds the work of counting a base's deltas; staleness is bounded by NEW_BASE_DELTA_SIZE.
MAX_DELTAS_PER_BASE = 200
# A delta larger than this means the base has drifted too far (Newsis chrome: ticker and
# ranking boxes re-rendered as news comes in): the body is stored standalone and becomes the
# base later bodies (of any article) are compressed against. Another article's page with the
# same chrome is a ~0.7 KB delta, so the limit must stay well above that. Measured with
# bench/bench_storage.py (archive/WARC; per re-fetch with refreshed chrome): 768 B 0.44, 4.3 KB;
# 1 KB 0.32, 1.7 KB; 1.5 KB 0.33, 1.8 KB; 2 KB 0.34, 2.0 KB; 3 KB 0.36, 2.4 KB.
NEW_BASE_DELTA_SIZE = 1536
# Decompressed bases kept per process: a crawl round or a reparse touches a few at a time.
BASE_CACHE_SIZE = 16


def body_hash_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class _BaseCache:
    """Decompressed bases and their zstd dictionaries by hash; a hash names its bytes forever."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[bytes, zstandard.ZstdCompressionDict]] = (
            OrderedDict()
        )

    def get(self, body_hash: str) -> tuple[bytes, zstandard.ZstdCompressionDict] | None:
        entry = self._entries.get(body_hash)
        if entry is not None:
            self._entries.move_to_end(body_hash)
        return entry

    def put(self, body_hash: str, raw: bytes) -> tuple[bytes, zstandard.ZstdCompressionDict]:
        dictionary = zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        dictionary.precompute_compress(compression_params=_delta_params(len(raw)))
        entry = (raw, dictionary)
        self._entries[body_hash] = entry
        self._entries.move_to_end(body_hash)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry


_bases = _BaseCache(BASE_CACHE_SIZE)
# The base most recently made by this process, per database: first fetches of other articles
# share its chrome. A new process starts with none, so its first new body becomes a base.
_recent_base: dict[str, str] = {}


def _database_key(session: Session) -> str:
    return str(session.get_bind().url)


def _delta_params(dict_size: int) -> zstandard.ZstdCompressionParameters:
    return zstandard.ZstdCompressionParameters.from_level(
        DELTA_ZSTD_LEVEL, source_size=DELTA_PARAMS_SOURCE_SIZE, dict_size=dict_size
    )


def _compress_delta(
    raw: bytes, base_raw: bytes, dictionary: zstandard.ZstdCompressionDict
) -> bytes:
    compressor = zstandard.ZstdCompressor(
        compression_params=_delta_params(len(base_raw)), dict_data=dictionary
    )
    return compressor.compress(raw)


def _compress_standalone(raw: bytes) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(ZSTD_LEVEL, source_size=len(raw))
    return zstandard.ZstdCompressor(compression_params=params).compress(raw)


def _base_entry(session: Session, base: Any) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = _bases.get(base.body_hash)
    if entry is None:
        raw = zstandard.ZstdDecompressor().decompress(base.data)
        if body_hash_of(raw) != base.body_hash:
            raise ValueError(f"body {base.body_hash}: stored data does not match its hash")
        entry = _bases.put(base.body_hash, raw)
    return entry


# --- storing a batch's bodies ------------------------------------------------------------------

# Threads that hash and compress bodies while the caller parses: hashlib and zstd release the GIL.
WORKER_THREADS = 2

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def worker_pool() -> ThreadPoolExecutor:
    """This process's hashing/compression threads (a forked child makes its own)."""
    global _pool, _pool_pid
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
        previous = set(previous_hashes)
        for chunk in _chunks(set(digests) | previous):
            query = select(Body.body_hash, func.coalesce(Body.base_hash, Body.body_hash)).where(
                Body.body_hash.in_(chunk)
            )
            self._base_of.update((row[0], row[1]) for row in self.session.execute(query))
        bases = {self._base_of[body] for body in previous if body in self._base_of}
        if self.recent_base is not None:
            bases.add(self.recent_base)
        deltas = aliased(Body)
        for chunk in _chunks(bases):
            query = (
                select(Body.body_hash, Body.compression, func.count(deltas.body_hash))
                .outerjoin(deltas, deltas.base_hash == Body.body_hash)
                .where(Body.body_hash.in_(chunk))
                .group_by(Body.body_hash, Body.compression)
            )
            for body_hash, compression, count in self.session.execute(query):
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

    def write(self) -> None:
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
            self.session.execute(insert(Body.__table__), rows)

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


def _delta_count_if_stored(session: Session, base_hash: str) -> int | None:
    """How many deltas use `base_hash`, or None when no such standalone body is stored."""
    deltas = select(func.count()).where(Body.base_hash == base_hash).scalar_subquery()
    row = session.execute(
        select(Body.compression, deltas).where(Body.body_hash == base_hash)
    ).first()
    if row is None or row[0] != COMPRESSION_ZSTD:
        return None
    return row[1]


def _cached_base(session: Session, base_hash: str) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = _bases.get(base_hash)
    if entry is None:
        data = session.scalar(select(Body.data).where(Body.body_hash == base_hash))
        raw = zstandard.ZstdDecompressor().decompress(data)
        if body_hash_of(raw) != base_hash:
            raise ValueError(f"body {base_hash}: stored data does not match its hash")
        entry = _bases.put(base_hash, raw)
    return entry


def load_body(session: Session, body_hash: str) -> bytes:
    """The exact raw bytes of a stored body (checked against its sha256)."""
    body = session.get(Body, body_hash)
    if body is None:
        raise KeyError(f"no stored body {body_hash}")
    return decode_body(session, body)


def decode_body(session: Session, body: Any) -> bytes:
    """The raw bytes of a stored body (a Body or a row with its columns), bases cached."""
    if body.compression == COMPRESSION_ZSTD:
        raw = zstandard.ZstdDecompressor().decompress(body.data)
    elif body.compression == COMPRESSION_ZSTD_DELTA:
        entry = _bases.get(body.base_hash)
        if entry is None:
            base = session.get(Body, body.base_hash)
            if base is None or base.compression != COMPRESSION_ZSTD:
                raise ValueError(
                    f"body {body.body_hash}: base {body.base_hash} missing or not standalone"
                )
            entry = _base_entry(session, base)
        _, dictionary = entry
        raw = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(body.data)
    else:
        raise ValueError(f"body {body.body_hash}: unknown compression {body.compression!r}")
    if body_hash_of(raw) != body.body_hash:
        raise ValueError(f"body {body.body_hash}: stored data does not match its hash")
    return raw


# Hashes per IN (…) list: short SQL, well under SQLite's bound-parameter limit.
_LOAD_CHUNK = 200


def load_bodies(session: Session, body_hashes: Iterable[str]) -> dict[str, bytes]:
    """The exact raw bytes of many stored bodies, read in a few queries (each checked by sha256)."""
    rows = _body_rows(session, set(body_hashes))
    bases_needed = {
        row.base_hash
        for row in rows.values()
        if row.base_hash is not None and _bases.get(row.base_hash) is None
    }
    base_rows = _body_rows(session, bases_needed - rows.keys())
    base_rows.update({key: rows[key] for key in bases_needed & rows.keys()})
    for base_hash in bases_needed:
        base = base_rows[base_hash]
        if base.compression != COMPRESSION_ZSTD:
            raise ValueError(f"body {base_hash}: a base that is not standalone")
        _base_entry(session, base)
    return {body_hash: decode_body(session, row) for body_hash, row in rows.items()}


def _body_rows(session: Session, body_hashes: set[str]) -> dict[str, Any]:
    wanted = sorted(body_hashes)
    rows: dict[str, Any] = {}
    for start in range(0, len(wanted), _LOAD_CHUNK):
        chunk = wanted[start : start + _LOAD_CHUNK]
        query = select(Body.body_hash, Body.compression, Body.base_hash, Body.data).where(
            Body.body_hash.in_(chunk)
        )
        rows.update((row.body_hash, row) for row in session.execute(query))
    missing = body_hashes - rows.keys()
    if missing:
        raise KeyError(f"no stored body {min(missing)}")
    return rows

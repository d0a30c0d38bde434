"""Storing one ingest batch's bodies: which are stored already, what each new one is compressed
against (the decision: BodyBatch._encode), all inserted at once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import zstandard
from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.orm import Session

from storage.bodies.codec import compress_pair, compress_standalone, delta_params
from storage.bodies.store import (
    IDS_CHUNK,
    base_cache,
    cached_base,
    cached_source,
    database_key,
    delta_count_if_stored,
    load_bodies,
    remember_source,
)
from storage.models import (
    COMPRESSION_ZSTD,
    COMPRESSION_ZSTD_DELTA,
    COMPRESSION_ZSTD_DELTA_PAIR,
    Body,
)

# Delta compressors kept per thread, one per base: a compressor's first use allocates its
# working memory (~1/3 of a 135 KB delta's time), later uses reset it and give the same bytes.
# Per thread: a zstd compressor must not be used by two threads at once (python-zstandard).
COMPRESSOR_CACHE_SIZE = 4
_per_thread = threading.local()
# The measurements behind these three: bench/RESULTS.md, § Body storage constants.
# A base body serves as dictionary for at most this many deltas; the next body starts a new base.
# Bounds the work of counting a base's deltas; staleness is bounded by NEW_BASE_DELTA_SIZE.
MAX_DELTAS_PER_BASE = 200
# A larger delta means the base has drifted too far (Newsis chrome re-rendered as news comes in):
# the body is stored standalone and becomes the base. Well above another article's ~0.7 KB delta.
NEW_BASE_DELTA_SIZE = 1536
# A larger pair delta means a stale chrome source (or an edit): the body is stored as a plain
# delta (or standalone) instead and becomes the chrome source of the re-fetches after it.
PAIR_KEEP_SIZE = 512
# The base most recently made by this process, per database: first fetches of other articles
# share its chrome. A new process starts with none, so its first new body becomes a base.
_recent_base: dict[str, str] = {}
# The non-pair body most recently made by this process, per database: its page chrome is the
# freshest at hand, so re-fetches are pair deltas against it (and their article's text base).
_recent_chrome: dict[str, str] = {}


def _delta_compressor(session: Session, base_hash: str) -> zstandard.ZstdCompressor:
    compressors: OrderedDict[str, zstandard.ZstdCompressor] | None = getattr(
        _per_thread, "compressors", None
    )
    if compressors is None:
        compressors = _per_thread.compressors = OrderedDict()
    compressor = compressors.get(base_hash)
    if compressor is None:
        base_raw, dictionary = cached_base(session, base_hash)
        compressor = zstandard.ZstdCompressor(
            compression_params=delta_params(len(base_raw)), dict_data=dictionary
        )
        compressors[base_hash] = compressor
        while len(compressors) > COMPRESSOR_CACHE_SIZE:
            compressors.popitem(last=False)
    compressors.move_to_end(base_hash)
    return compressor


class Deltas:
    """zstd deltas of bodies against bases, each made once per ingest_many call: a delta is a
    pure function of the body and the base, so a retried batch reuses it."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, ...], bytes] = {}

    def delta(self, session: Session, raw: bytes, digest: str, base_hash: str) -> bytes:
        made = self._made.get((digest, base_hash))
        if made is None:
            made = _delta_compressor(session, base_hash).compress(raw)
            self._made[(digest, base_hash)] = made
        return made

    def pair(
        self, raw: bytes, digest: str, chrome: tuple[str, bytes], text_base: tuple[str, bytes]
    ) -> bytes:
        """A pair delta of `raw` against (hash, raw bytes) of its chrome source and text base."""
        key = (digest, chrome[0], text_base[0])
        made = self._made.get(key)
        if made is None:
            made = compress_pair(raw, chrome[1], text_base[1])
            self._made[key] = made
        return made


_BODIES = Body.__table__
_BASES_OF = select(
    _BODIES.c.body_hash,
    func.coalesce(_BODIES.c.base_hash, _BODIES.c.body_hash),
    func.coalesce(_BODIES.c.text_base_hash, _BODIES.c.body_hash),
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
        self.key = database_key(session)
        self.recent_base = _recent_base.get(self.key)
        self.recent_chrome = _recent_chrome.get(self.key)
        self._base_of: dict[str, str] = {}  # stored body -> the standalone body it is or uses
        # stored body -> the text base a later body of its article would use: itself, or for a
        # pair delta its own text base (pairs never serve as text bases: reads stay bounded).
        self._text_of: dict[str, str] = {}
        self._text_raws: dict[str, bytes] = {}  # pair sources decoded or made by this batch
        self._stored_texts_loaded = False
        self._delta_counts: dict[str, int | None] = {}  # base -> its deltas (None: not a base)
        self._pending: list[tuple[bytes, str, str | None]] = []
        self._queued: set[str] = set()

    def load(self, digests: Iterable[str], previous_hashes: Iterable[str]) -> None:
        """Read which of `digests` are stored, and the bases the articles' previous bodies use."""
        connection = self.session.connection()
        previous = set(previous_hashes)
        # The chrome source must still be stored (the database may have been rolled back or
        # replaced since this process made it).
        chrome = {self.recent_chrome} if self.recent_chrome is not None else set()
        for chunk in _chunks(set(digests) | previous | chrome):
            for body_hash, base_hash, text_hash in connection.execute(_BASES_OF, {"hashes": chunk}):
                self._base_of[body_hash] = base_hash
                self._text_of[body_hash] = text_hash
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
        no body yet)."""
        self._pending.append((raw, digest, previous_hash))
        self._queued.add(digest)

    def write(self, connection: Connection) -> None:
        """Decide the queued bodies in order and insert them (bases before their deltas)."""
        rows: list[dict[str, Any]] = []
        for raw, digest, previous_hash in self._pending:
            data, base_hash, text_hash = self._encode(raw, digest, previous_hash)
            if text_hash is not None:
                compression = COMPRESSION_ZSTD_DELTA_PAIR
            else:
                compression = COMPRESSION_ZSTD_DELTA if base_hash else COMPRESSION_ZSTD
                self._text_raws[digest] = raw
                self.recent_chrome = digest
                remember_source(digest, raw)
            rows.append(
                {
                    "body_hash": digest,
                    "compression": compression,
                    "base_hash": base_hash,
                    "text_base_hash": text_hash,
                    "raw_size": len(raw),
                    "stored_size": len(data),
                    "data": data,
                }
            )
            self._base_of[digest] = base_hash or digest
            self._text_of[digest] = text_hash or digest
        self._pending.clear()
        self._queued.clear()
        self._text_raws.clear()
        self._stored_texts_loaded = False
        if rows:
            connection.execute(_INSERT_BODIES, rows)

    def committed(self) -> None:
        """Remember the batch's last new base for the next batch (call after the commit)."""
        if self.recent_base is not None:
            _recent_base[self.key] = self.recent_base
        if self.recent_chrome is not None:
            _recent_chrome[self.key] = self.recent_chrome

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
    ) -> tuple[bytes, str | None, str | None]:
        """The compression decision: (delta, its base, None), (pair delta, its chrome source,
        its text base) or (standalone data, None, None).

        A re-fetch is first tried as a pair delta (the freshest chrome + the article's text),
        kept when small. Otherwise the smaller plain delta wins, and the body becomes the chrome
        source of the pairs after it; when even that is large, the body is stored standalone and
        becomes the new recent base.
        """
        if previous_hash is not None:
            pair = self._pair(raw, digest, previous_hash)
            if pair is not None and len(pair[0]) <= PAIR_KEEP_SIZE:
                return pair
        best: tuple[bytes, str] | None = None
        for base_hash in self._candidates(previous_hash):
            if not self._base_has_room(base_hash):
                continue
            data = self.deltas.delta(self.session, raw, digest, base_hash)
            if best is None or len(data) < len(best[0]):
                best = (data, base_hash)
        if best is not None and len(best[0]) <= NEW_BASE_DELTA_SIZE:
            data, base_hash = best
            self._delta_counts[base_hash] = (self._delta_counts[base_hash] or 0) + 1
            return data, base_hash, None
        base_cache.put(digest, raw)
        self._delta_counts[digest] = 0
        self.recent_base = digest
        return compress_standalone(raw), None, None

    def _base_has_room(self, base_hash: str) -> bool:
        """A stored standalone body with fewer than MAX_DELTAS_PER_BASE deltas."""
        if base_hash not in self._delta_counts:
            self._delta_counts[base_hash] = delta_count_if_stored(self.session, base_hash)
        deltas = self._delta_counts[base_hash]
        return deltas is not None and deltas < MAX_DELTAS_PER_BASE

    def _pair(
        self, raw: bytes, digest: str, previous_hash: str
    ) -> tuple[bytes, str, str] | None:
        """The pair delta against the recent chrome source and the article's text base, when
        both are known and differ."""
        chrome_hash = self.recent_chrome
        text_hash = self._text_of.get(previous_hash)
        if chrome_hash is None or text_hash is None or text_hash == chrome_hash:
            return None
        if self._text_of.get(chrome_hash) != chrome_hash:
            return None  # not stored, or a pair delta (pair sources never are)
        chrome_raw = self._source(chrome_hash)
        text_raw = self._source(text_hash)
        data = self.deltas.pair(raw, digest, (chrome_hash, chrome_raw), (text_hash, text_raw))
        return data, chrome_hash, text_hash

    def _source(self, body_hash: str) -> bytes:
        """The raw bytes of a pair source: made by this batch, cached, or read; the first read
        decodes the text bases of all queued re-fetches at once (a few queries), older frames
        unchecked by sha256: only the delta is made from them (load_bodies)."""
        raw = self._text_raws.get(body_hash) or cached_source(body_hash)
        if raw is not None:
            return raw
        wanted = {body_hash}
        if not self._stored_texts_loaded:
            self._stored_texts_loaded = True
            wanted.update(
                self._text_of[previous_hash]
                for _, _, previous_hash in self._pending
                if previous_hash in self._text_of and previous_hash not in self._queued
            )
        wanted -= self._text_raws.keys()
        self._text_raws.update(load_bodies(self.session, wanted, verify=False))
        return self._text_raws[body_hash]


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    wanted = sorted(values)
    for start in range(0, len(wanted), IDS_CHUNK):
        yield wanted[start : start + IDS_CHUNK]

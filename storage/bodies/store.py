"""Raw response bodies read back: stored once per sha256 (storage.bodies.codec's frames), the
bases and pair sources decoded lately kept per process."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import zstandard
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.bodies.codec import decompress, delta_params, pair_dictionary
from storage.models import (
    COMPRESSION_ZSTD,
    COMPRESSION_ZSTD_DELTA,
    COMPRESSION_ZSTD_DELTA_PAIR,
    Body,
)

# Decompressed bases kept per process: a crawl round or a reparse touches a few at a time.
BASE_CACHE_SIZE = 16
# ... and no more bytes of them (or of pair sources) than a few large pages: sixteen 5 MB pages
# (an import of large pages), each also held as a zstd dictionary, would otherwise stay.
BASE_CACHE_BYTES = 16 * 1024 * 1024
# Decompressed pair sources (chrome sources and text bases) kept per process: re-fetches in a
# round share a chrome source, and an article's captures share their text base (export).
SOURCE_CACHE_SIZE = 32
# Hashes per IN (…) list: short SQL, well under SQLite's bound-parameter limit.
IDS_CHUNK = 200


class BaseCache:
    """Decompressed bases and their zstd dictionaries by hash; a hash names its bytes forever."""

    def __init__(self, size: int, max_bytes: int = BASE_CACHE_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
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
        dictionary.precompute_compress(compression_params=delta_params(len(raw)))
        entry = (raw, dictionary)
        replaced = self._entries.pop(body_hash, None)
        if replaced is not None:
            self.bytes -= len(replaced[0])
        self._entries[body_hash] = entry
        self.bytes += len(raw)
        while len(self._entries) > 1 and (
            len(self._entries) > self.size or self.bytes > self.max_bytes
        ):
            _, (old, _) = self._entries.popitem(last=False)
            self.bytes -= len(old)
        return entry

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


base_cache = BaseCache(BASE_CACHE_SIZE)
source_cache: OrderedDict[str, bytes] = OrderedDict()


def database_key(session: Session) -> str:
    return str(session.get_bind().url)


def base_entry(session: Session, base: Any) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = base_cache.get(base.body_hash)
    if entry is None:
        raw = decompress(base.body_hash, base.data)
        entry = base_cache.put(base.body_hash, raw)
    return entry


def delta_count_if_stored(session: Session, base_hash: str) -> int | None:
    """How many deltas use `base_hash`, or None when no such standalone body is stored."""
    deltas = select(func.count()).where(Body.base_hash == base_hash).scalar_subquery()
    row = session.execute(
        select(Body.compression, deltas).where(Body.body_hash == base_hash)
    ).first()
    if row is None or row[0] != COMPRESSION_ZSTD:
        return None
    return row[1]


def cached_base(session: Session, base_hash: str) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = base_cache.get(base_hash)
    if entry is None:
        data = session.scalar(select(Body.data).where(Body.body_hash == base_hash))
        raw = decompress(base_hash, data)
        entry = base_cache.put(base_hash, raw)
    return entry


def load_body(session: Session, body_hash: str) -> bytes:
    """The exact raw bytes of a stored body (checked: codec.decompress)."""
    body = session.get(Body, body_hash)
    if body is None:
        raise KeyError(f"no stored body {body_hash}")
    return decode_body(session, body)


# What a pair delta's sources may be: reading any body decodes at most 2 + 2 + 1 frames.
PAIR_SOURCE_KINDS = (COMPRESSION_ZSTD, COMPRESSION_ZSTD_DELTA)


def decode_body(session: Session, body: Any) -> bytes:
    """The raw bytes of a stored body (a Body or a row with its columns), bases cached."""
    return _decode(session, body, {})


def _decode(
    session: Session, body: Any, sources: dict[str, bytes], *, verify: bool = True
) -> bytes:
    """`decode_body`, with pair sources already decoded in `sources` (others read one by one);
    `verify=False` skips the sha256 check of a frame without a checksum (load_bodies)."""
    if body.compression == COMPRESSION_ZSTD:
        dictionary = None
    elif body.compression == COMPRESSION_ZSTD_DELTA:
        _, dictionary = _stored_base(session, body)
    elif body.compression == COMPRESSION_ZSTD_DELTA_PAIR:
        chrome_raw = sources.get(body.base_hash) or _pair_source(session, body, body.base_hash)
        text_raw = sources.get(body.text_base_hash) or _pair_source(
            session, body, body.text_base_hash
        )
        dictionary = pair_dictionary(chrome_raw, text_raw)
    else:
        raise ValueError(f"body {body.body_hash}: unknown compression {body.compression!r}")
    return decompress(body.body_hash, body.data, dictionary, verify=verify)


def _stored_base(session: Session, body: Any) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = base_cache.get(body.base_hash)
    if entry is None:
        base = session.get(Body, body.base_hash)
        if base is None or base.compression != COMPRESSION_ZSTD:
            raise ValueError(
                f"body {body.body_hash}: base {body.base_hash} missing or not standalone"
            )
        entry = base_entry(session, base)
    return entry


def _pair_source(session: Session, body: Any, source_hash: str) -> bytes:
    """The raw bytes of a pair delta's source: cached, else read and decoded (at most 2 frames)."""
    raw = source_cache.get(source_hash)
    if raw is None:
        source = session.get(Body, source_hash)
        if source is None or source.compression not in PAIR_SOURCE_KINDS:
            raise ValueError(
                f"body {body.body_hash}: source {source_hash} missing or itself a pair delta"
            )
        raw = _decode(session, source, {})
    remember_source(source_hash, raw)
    return raw


def remember_source(body_hash: str, raw: bytes) -> None:
    """Keep a non-pair body's raw bytes as a likely pair source (chrome or text base)."""
    source_cache[body_hash] = raw
    source_cache.move_to_end(body_hash)
    held = sum(map(len, source_cache.values()))  # a few dozen entries at most
    while len(source_cache) > 1 and (
        len(source_cache) > SOURCE_CACHE_SIZE or held > BASE_CACHE_BYTES
    ):
        held -= len(source_cache.popitem(last=False)[1])


def cached_source(body_hash: str) -> bytes | None:
    return source_cache.get(body_hash)


def load_bodies(
    session: Session, body_hashes: Iterable[str], *, verify: bool = True
) -> dict[str, bytes]:
    """The exact raw bytes of many stored bodies, read in a few queries (each checked:
    codec.decompress): the bodies, the sources of their pair deltas, then the bases of both.

    `verify=False` leaves the asked-for bodies stored without a frame checksum (older ones)
    unchecked by sha256 (bases and the pair sources decoded on the way are still checked): for
    bytes used only as a pair delta's sources while storing a re-fetch. zstd decodes the same
    stored data to the same bytes every time, so a delta made against them is exact whatever
    they are, and the new body is checked whenever it is read; the sha256 cost 0.07 ms of a
    page's ~2 ms ingest (bench_ingest.py).
    """
    rows = _body_rows(session, set(body_hashes))
    source_hashes = {
        source_hash
        for row in rows.values()
        if row.compression == COMPRESSION_ZSTD_DELTA_PAIR
        for source_hash in (row.base_hash, row.text_base_hash)
        if source_hash not in source_cache
    }
    source_rows = _body_rows(session, source_hashes - rows.keys())
    source_rows.update({key: rows[key] for key in source_hashes & rows.keys()})
    for source_hash, source in source_rows.items():
        if source.compression not in PAIR_SOURCE_KINDS:
            raise ValueError(f"body {source_hash}: a pair source that is itself a pair delta")
    bases_needed = {
        row.base_hash
        for row in (*rows.values(), *source_rows.values())
        if row.compression == COMPRESSION_ZSTD_DELTA and base_cache.get(row.base_hash) is None
    }
    known = rows.keys() | source_rows.keys()
    base_rows = _body_rows(session, bases_needed - known)
    base_rows.update({key: rows.get(key) or source_rows[key] for key in bases_needed & known})
    for base_hash in bases_needed:
        base = base_rows[base_hash]
        if base.compression != COMPRESSION_ZSTD:
            raise ValueError(f"body {base_hash}: a base that is not standalone")
        base_entry(session, base)
    sources = {key: _decode(session, source, {}) for key, source in source_rows.items()}
    for key, raw in sources.items():
        # A chrome source serves the re-fetches of every article of its round (reparse reads
        # article after article).
        remember_source(key, raw)
    return {
        body_hash: _decode(session, row, sources, verify=verify) for body_hash, row in rows.items()
    }


def _body_rows(session: Session, body_hashes: set[str]) -> dict[str, Any]:
    wanted = sorted(body_hashes)
    rows: dict[str, Any] = {}
    for start in range(0, len(wanted), IDS_CHUNK):
        chunk = wanted[start : start + IDS_CHUNK]
        query = select(
            Body.body_hash, Body.compression, Body.base_hash, Body.text_base_hash, Body.data
        ).where(Body.body_hash.in_(chunk))
        rows.update((row.body_hash, row) for row in session.execute(query))
    missing = body_hashes - rows.keys()
    if missing:
        raise KeyError(f"no stored body {min(missing)}")
    return rows

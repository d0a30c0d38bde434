"""Raw response bodies: stored once per sha256, zstd-compressed, most as a delta against a base
(and, for a re-fetch, the article's earlier body: a pair delta)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import zstandard
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    COMPRESSION_ZSTD,
    COMPRESSION_ZSTD_DELTA,
    COMPRESSION_ZSTD_DELTA_PAIR,
    Body,
)

try:  # the standard library's zstd (Python 3.14+), else its backport: the same module
    from compression import zstd as prefix_zstd
except ImportError:
    from backports import zstd as prefix_zstd

# zstd level for standalone bodies (the bases): well past gzip's ratio on HTML, ~15 KB for a
# 135 KB Newsis page in ~5-18 ms; few bodies are bases, so the time is spread thin.
ZSTD_LEVEL = 12
# zstd level for deltas. Measured on local-site pages against a 135 KB base, with the base's
# dictionary prepared once: level 6 ~1.2 ms and ~1,440 B a delta, level 12 ~2.5-3.5 ms and
# ~1,360 B, level 19 ~35 ms and ~1,270 B. Without size hints zstd sizes its tables for an
# unknown input and a level-12 delta took ~41 ms (bench/RESULTS.md § Storage). Later, on 119
# first fetches of local-site articles against one base (compressor cached): level 6 0.18 ms and
# 714 B, level 3 0.07 ms and 807 B. A crawl of new articles makes one delta a page, and the
# archive is well inside its size goal: level 3.
DELTA_ZSTD_LEVEL = 3
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
# zstd parameters for pair deltas (dictionary: the chrome source's ~135 KB then the text base's).
# The dictionary is new for each pair, and loading it is most of the cost: smaller hash tables
# fill faster, and long minimum matches lose nothing on pages that repeat whole blocks. It is
# loaded as a prefix (compress_pair), not as a dictionary. Measured on 39 re-fetches of
# bench/storage_corpus.py against their chrome source and text base (best of 5; throw-away
# script): as a python-zstandard dictionary, level 2 with hash_log 15, min_match 7, 0.34 ms and
# 111 B a pair (level 3 ~1.6x slower; level 1 with its default tables 2.6 KB: too few matches);
# as a prefix, level 2 with hash_log 16, min_match 7, 0.11 ms and 136 B (hash_log 15: 142 B;
# min_match 6: 174 B; level 3: 0.15 ms, 130 B). The frame's checksum adds 4 B.
PAIR_ZSTD_OPTIONS = {
    prefix_zstd.CompressionParameter.compression_level: 2,
    prefix_zstd.CompressionParameter.hash_log: 16,
    prefix_zstd.CompressionParameter.min_match: 7,
    prefix_zstd.CompressionParameter.checksum_flag: 1,  # see _decompress
}
# A re-fetch is stored as a pair delta when that is at most this size. A larger pair means the
# chrome source is stale (or the article was edited): the body is stored as a plain delta (or
# standalone) instead and becomes the chrome source of the re-fetches after it.
PAIR_KEEP_SIZE = 512
# Decompressed bases kept per process: a crawl round or a reparse touches a few at a time.
BASE_CACHE_SIZE = 16
# ... and no more bytes of them (or of pair sources) than a few large pages: sixteen 5 MB pages
# (an import of large pages), each also held as a zstd dictionary, would otherwise stay.
BASE_CACHE_BYTES = 16 * 1024 * 1024
# Decompressed pair sources (chrome sources and text bases) kept per process: re-fetches in a
# round share a chrome source, and an article's captures share their text base (export).
SOURCE_CACHE_SIZE = 32


def body_hash_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class _BaseCache:
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
        dictionary.precompute_compress(compression_params=_delta_params(len(raw)))
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


_bases = _BaseCache(BASE_CACHE_SIZE)
_sources: OrderedDict[str, bytes] = OrderedDict()
# The base most recently made by this process, per database: first fetches of other articles
# share its chrome. A new process starts with none, so its first new body becomes a base.
_recent_base: dict[str, str] = {}


def _database_key(session: Session) -> str:
    return str(session.get_bind().url)


def _delta_params(dict_size: int) -> zstandard.ZstdCompressionParameters:
    return zstandard.ZstdCompressionParameters.from_level(
        DELTA_ZSTD_LEVEL,
        source_size=DELTA_PARAMS_SOURCE_SIZE,
        dict_size=dict_size,
        write_checksum=True,  # see _decompress
    )


def _compress_delta(
    raw: bytes, base_raw: bytes, dictionary: zstandard.ZstdCompressionDict
) -> bytes:
    compressor = zstandard.ZstdCompressor(
        compression_params=_delta_params(len(base_raw)), dict_data=dictionary
    )
    return compressor.compress(raw)


def pair_dictionary(chrome_raw: bytes, text_raw: bytes) -> zstandard.ZstdCompressionDict:
    """The dictionary of a pair delta: the chrome source (a recent page of any article) then the
    text base (the article's own); measured both ways, this order gave the smaller deltas."""
    return zstandard.ZstdCompressionDict(
        chrome_raw + text_raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT
    )


def compress_pair(raw: bytes, chrome_raw: bytes, text_raw: bytes) -> bytes:
    """A pair delta of `raw`: a zstd frame that decodes with pair_dictionary(chrome_raw, text_raw).

    The sources are given to zstd as a prefix (compression.zstd; python-zstandard has no such
    call): zstd fills its match tables straight from them, where a dictionary is first made
    into a digested dictionary of its own (3x the time, PAIR_ZSTD_OPTIONS). A prefix is
    a raw-content dictionary by another name, so the frame is the same kind as before and
    decodes as every pair delta does.
    """
    prefix = prefix_zstd.ZstdDict(chrome_raw + text_raw, is_raw=True).as_prefix
    return prefix_zstd.compress(raw, options=PAIR_ZSTD_OPTIONS, zstd_dict=prefix)


def _compress_standalone(raw: bytes) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL,
        source_size=len(raw),
        write_checksum=True,  # see _decompress
    )
    return zstandard.ZstdCompressor(compression_params=params).compress(raw)


def _base_entry(session: Session, base: Any) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = _bases.get(base.body_hash)
    if entry is None:
        raw = _decompress(base.body_hash, base.data)
        entry = _bases.put(base.body_hash, raw)
    return entry


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
        raw = _decompress(base_hash, data)
        entry = _bases.put(base_hash, raw)
    return entry


def load_body(session: Session, body_hash: str) -> bytes:
    """The exact raw bytes of a stored body (checked: _decompress)."""
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
    return _decompress(body.body_hash, body.data, dictionary, verify=verify)


def _decompress(
    body_hash: str,
    data: bytes,
    dictionary: zstandard.ZstdCompressionDict | None = None,
    *,
    verify: bool = True,
) -> bytes:
    """A stored frame's raw bytes, checked: by the frame's own checksum when it has one, else
    (frames stored before checksums were written) by the sha256 the body is stored under.

    Every frame is now written with zstd's checksum (XXH64 of the bytes compressed, the very
    bytes whose sha256 names the body), and zstd refuses a frame that decodes to anything else
    (corrupted data, a wrong or corrupted source): the same guarantee for 0.01 ms where the
    sha256 of a 135 KB page cost 0.07-0.12 ms (~6% of a reparse's CPU, bench_reparse.py).
    """
    decoder = zstandard.ZstdDecompressor(dict_data=dictionary)
    try:
        raw = decoder.decompress(data)
    except zstandard.ZstdError as error:
        raise ValueError(
            f"body {body_hash}: stored data does not match its hash ({error})"
        ) from None
    if verify and not _has_checksum(data) and body_hash_of(raw) != body_hash:
        raise ValueError(f"body {body_hash}: stored data does not match its hash")
    return raw


def _has_checksum(data: bytes) -> bool:
    return zstandard.get_frame_parameters(data).has_checksum


def _stored_base(session: Session, body: Any) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = _bases.get(body.base_hash)
    if entry is None:
        base = session.get(Body, body.base_hash)
        if base is None or base.compression != COMPRESSION_ZSTD:
            raise ValueError(
                f"body {body.body_hash}: base {body.base_hash} missing or not standalone"
            )
        entry = _base_entry(session, base)
    return entry


def _pair_source(session: Session, body: Any, source_hash: str) -> bytes:
    """The raw bytes of a pair delta's source: cached, else read and decoded (at most 2 frames)."""
    raw = _sources.get(source_hash)
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
    _sources[body_hash] = raw
    _sources.move_to_end(body_hash)
    held = sum(map(len, _sources.values()))  # a few dozen entries at most
    while len(_sources) > 1 and (len(_sources) > SOURCE_CACHE_SIZE or held > BASE_CACHE_BYTES):
        held -= len(_sources.popitem(last=False)[1])


def cached_source(body_hash: str) -> bytes | None:
    return _sources.get(body_hash)


# Hashes per IN (…) list: short SQL, well under SQLite's bound-parameter limit.
_LOAD_CHUNK = 200


def load_bodies(
    session: Session, body_hashes: Iterable[str], *, verify: bool = True
) -> dict[str, bytes]:
    """The exact raw bytes of many stored bodies, read in a few queries (each checked:
    _decompress): the bodies, the sources of their pair deltas, then the bases of both.

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
        if source_hash not in _sources
    }
    source_rows = _body_rows(session, source_hashes - rows.keys())
    source_rows.update({key: rows[key] for key in source_hashes & rows.keys()})
    for source_hash, source in source_rows.items():
        if source.compression not in PAIR_SOURCE_KINDS:
            raise ValueError(f"body {source_hash}: a pair source that is itself a pair delta")
    bases_needed = {
        row.base_hash
        for row in (*rows.values(), *source_rows.values())
        if row.compression == COMPRESSION_ZSTD_DELTA and _bases.get(row.base_hash) is None
    }
    known = rows.keys() | source_rows.keys()
    base_rows = _body_rows(session, bases_needed - known)
    base_rows.update({key: rows.get(key) or source_rows[key] for key in bases_needed & known})
    for base_hash in bases_needed:
        base = base_rows[base_hash]
        if base.compression != COMPRESSION_ZSTD:
            raise ValueError(f"body {base_hash}: a base that is not standalone")
        _base_entry(session, base)
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
    for start in range(0, len(wanted), _LOAD_CHUNK):
        chunk = wanted[start : start + _LOAD_CHUNK]
        query = select(
            Body.body_hash, Body.compression, Body.base_hash, Body.text_base_hash, Body.data
        ).where(Body.body_hash.in_(chunk))
        rows.update((row.body_hash, row) for row in session.execute(query))
    missing = body_hashes - rows.keys()
    if missing:
        raise KeyError(f"no stored body {min(missing)}")
    return rows

"""Raw response bodies: stored once per sha256, zstd-compressed, most as a delta against a base."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import zstandard
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import COMPRESSION_ZSTD, COMPRESSION_ZSTD_DELTA, Body, Capture

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
# ranking boxes re-rendered as news comes in, ~1.5 KB compressed per refresh): the body is
# stored standalone and becomes the base later bodies (of any article) are compressed against.
NEW_BASE_DELTA_SIZE = 3 * 1024
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
# The base most recently made, per database: first fetches of other articles share its chrome.
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


def _base_entry(session: Session, base: Body) -> tuple[bytes, zstandard.ZstdCompressionDict]:
    entry = _bases.get(base.body_hash)
    if entry is None:
        raw = zstandard.ZstdDecompressor().decompress(base.data)
        if body_hash_of(raw) != base.body_hash:
            raise ValueError(f"body {base.body_hash}: stored data does not match its hash")
        entry = _bases.put(base.body_hash, raw)
    return entry


def store_body(
    session: Session, raw: bytes, *, previous_hash: str | None = None, digest: str | None = None
) -> Body:
    """The stored body of `raw` (added when new), as a delta when a base fits it well.

    Candidate bases: the base of the article's previous body `previous_hash` (the same article,
    so its text is already there) and the base made most recently (another article, but the
    current chrome, which is ~120 KB of a 135 KB Newsis page). The smaller delta wins; when even
    that is large, the body is stored standalone and becomes the new recent base. `digest` is
    raw's sha256 when the caller has it already.
    """
    digest = digest or body_hash_of(raw)
    existing = session.get(Body, digest)
    if existing is not None:
        return existing
    key = _database_key(session)
    candidates: list[Body] = []
    for base in (_base_of(session, previous_hash), _recent(session, key)):
        if base is not None and all(base.body_hash != c.body_hash for c in candidates):
            candidates.append(base)
    best: tuple[bytes, Body] | None = None
    for base in candidates:
        if _delta_count(session, base.body_hash) >= MAX_DELTAS_PER_BASE:
            continue
        base_raw, dictionary = _base_entry(session, base)
        data = _compress_delta(raw, base_raw, dictionary)
        if best is None or len(data) < len(best[0]):
            best = (data, base)
    if best is not None and len(best[0]) <= NEW_BASE_DELTA_SIZE:
        data, base = best
        body = Body(
            body_hash=digest,
            compression=COMPRESSION_ZSTD_DELTA,
            base_hash=base.body_hash,
            raw_size=len(raw),
            stored_size=len(data),
            data=data,
        )
    else:
        data = _compress_standalone(raw)
        body = Body(
            body_hash=digest,
            compression=COMPRESSION_ZSTD,
            base_hash=None,
            raw_size=len(raw),
            stored_size=len(data),
            data=data,
        )
        _bases.put(digest, raw)
    session.add(body)
    session.flush()
    if body.base_hash is None:
        # Set after the flush: a rolled-back transaction can leave a hash that is not stored,
        # which _recent checks before use.
        _recent_base[key] = digest
    return body


def _base_of(session: Session, body_hash: str | None) -> Body | None:
    """The standalone body `body_hash` is (or is a delta against)."""
    if body_hash is None:
        return None
    body = session.get(Body, body_hash)
    if body is None or body.base_hash is None:
        return body
    return session.get(Body, body.base_hash)


def _recent(session: Session, key: str) -> Body | None:
    """The base made most recently in this database (remembered per process, else looked up)."""
    known = _recent_base.get(key)
    if known is not None:
        body = session.get(Body, known)
        if body is not None:
            return body
    latest = session.scalar(
        select(Body.body_hash)
        .join(Capture, Capture.body_hash == Body.body_hash)
        .where(Body.base_hash.is_(None))
        .order_by(Capture.capture_id.desc())
        .limit(1)
    )
    if latest is None:
        return None
    _recent_base[key] = latest
    return session.get(Body, latest)


def _delta_count(session: Session, base_hash: str) -> int:
    return session.scalar(select(func.count()).where(Body.base_hash == base_hash)) or 0


def load_body(session: Session, body_hash: str) -> bytes:
    """The exact raw bytes of a stored body (checked against its sha256)."""
    body = session.get(Body, body_hash)
    if body is None:
        raise KeyError(f"no stored body {body_hash}")
    return decode_body(session, body)


def decode_body(session: Session, body: Body) -> bytes:
    """The raw bytes of a stored body row, its base read through the per-process cache."""
    if body.compression == COMPRESSION_ZSTD:
        raw = zstandard.ZstdDecompressor().decompress(body.data)
    elif body.compression == COMPRESSION_ZSTD_DELTA:
        base = session.get(Body, body.base_hash)
        if base is None or base.compression != COMPRESSION_ZSTD:
            raise ValueError(
                f"body {body.body_hash}: base {body.base_hash} missing or not standalone"
            )
        _, dictionary = _base_entry(session, base)
        raw = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(body.data)
    else:
        raise ValueError(f"body {body.body_hash}: unknown compression {body.compression!r}")
    if body_hash_of(raw) != body.body_hash:
        raise ValueError(f"body {body.body_hash}: stored data does not match its hash")
    return raw

"""Body compression: zstd frames, standalone, as a delta against a base, or as a pair delta
against a chrome source and a text base; each frame checked when decoded."""

from __future__ import annotations

import hashlib

import zstandard

try:  # the standard library's zstd (Python 3.14+), else its backport: the same module
    from compression import zstd as prefix_zstd
except ImportError:
    from backports import zstd as prefix_zstd

# The measurements behind these constants: bench/RESULTS.md, § Body storage constants.
# Standalone bodies (the bases): well past gzip's ratio on HTML; few bodies are bases.
ZSTD_LEVEL = 12
# Deltas: a crawl of new articles makes one a page, and level 3 keeps the archive well inside
# its size goal at a fraction of level 6's time.
DELTA_ZSTD_LEVEL = 3
# Parameters every delta is made with (sized for pages up to 256 KB; larger ones still
# compress correctly), so a base's dictionary is prepared for them once and cached.
DELTA_PARAMS_SOURCE_SIZE = 256 * 1024
# Pair deltas: the dictionary is new for each pair and loading it is most of the cost, so small
# hash tables and long minimum matches (pages repeat whole blocks); loaded as a prefix.
PAIR_ZSTD_OPTIONS = {
    prefix_zstd.CompressionParameter.compression_level: 2,
    prefix_zstd.CompressionParameter.hash_log: 16,
    prefix_zstd.CompressionParameter.min_match: 7,
    prefix_zstd.CompressionParameter.checksum_flag: 1,  # see decompress
}


def body_hash_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def delta_params(dict_size: int) -> zstandard.ZstdCompressionParameters:
    return zstandard.ZstdCompressionParameters.from_level(
        DELTA_ZSTD_LEVEL,
        source_size=DELTA_PARAMS_SOURCE_SIZE,
        dict_size=dict_size,
        write_checksum=True,  # see decompress
    )


def compress_delta(
    raw: bytes, base_raw: bytes, dictionary: zstandard.ZstdCompressionDict
) -> bytes:
    compressor = zstandard.ZstdCompressor(
        compression_params=delta_params(len(base_raw)), dict_data=dictionary
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


def compress_standalone(raw: bytes) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL,
        source_size=len(raw),
        write_checksum=True,  # see decompress
    )
    return zstandard.ZstdCompressor(compression_params=params).compress(raw)


def decompress(
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
    if verify and not has_checksum(data) and body_hash_of(raw) != body_hash:
        raise ValueError(f"body {body_hash}: stored data does not match its hash")
    return raw


def has_checksum(data: bytes) -> bool:
    return zstandard.get_frame_parameters(data).has_checksum

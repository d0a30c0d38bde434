"""The bytes of a WARC file as one stream, gzip members inflated with bounded buffers."""

from __future__ import annotations

import zlib
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 16


class Damage(Exception):
    """Bytes of the file that cannot be a record: why, in one line."""


class WarcSource:
    """A WARC file's bytes (inflated, for .warc.gz) read through a buffer the reader bounds.

    Offsets in `buffer` are stream offsets from `pos`. A record that starts a gzip member may be
    fenced to it: reading then stops at the member's end (its CRC checked), so a record whose
    Content-Length lies cannot take in the next member's record.
    """

    def __init__(self, raw: BinaryIO, *, gzipped: bool) -> None:
        self.raw = raw
        self.gzipped = gzipped
        self.buffer = bytearray()
        self.pos = 0
        self.inflater: zlib._Decompress | None = None
        self.pending = b""  # raw bytes read, not yet inflated
        self.read_pos = 0  # file offset of the next raw byte read
        self.member_offset = 0  # file offset of the member being inflated
        self.member_stream_start = 0
        self.fence = False
        self.fenced = False

    # --- where we are ---

    def at_member_start(self) -> bool:
        if not self.gzipped:
            return False
        if not self.buffer and (self.inflater is None or self.inflater.eof):
            return True
        return self.pos == self.member_stream_start

    def file_offset(self) -> int:
        """The offset a record starting here is known by: its gzip member's, or its own."""
        if not self.gzipped:
            return self.pos
        if not self.buffer and (self.inflater is None or self.inflater.eof):
            return self.read_pos - len(self.pending)
        return self.member_offset

    # --- reading ---

    def fill(self, size: int) -> bool:
        """At least `size` bytes buffered; False at the end of the file or of a fenced member."""
        while len(self.buffer) < size:
            if not self._more(size - len(self.buffer)):
                return False
        return True

    def take(self, count: int) -> bytes:
        data = bytes(self.buffer[:count])
        self.discard(count)
        return data

    def discard(self, count: int) -> None:
        del self.buffer[:count]
        self.pos += count

    def skip(self, count: int) -> bool:
        """Discard `count` bytes without holding more than a chunk; False if they run out."""
        if not self.gzipped and count > len(self.buffer):
            # An uncompressed file: seek over the bytes, and see below whether they were there.
            count -= len(self.buffer)
            self.discard(len(self.buffer))
            self.read_pos += count
            self.pos += count
            self.raw.seek(self.read_pos)
            return True
        while count:
            if not self.buffer and not self._more(min(count, CHUNK)):
                return False
            step = min(count, len(self.buffer))
            self.discard(step)
            count -= step
        return True

    def lift_fence(self) -> None:
        self.fence = self.fenced = False

    def peek_plain(self, offset: int, count: int) -> bytes:
        """`count` bytes at stream `offset` of an uncompressed file, read without moving on."""
        self.raw.seek(offset)
        data = self.raw.read(count)
        self.raw.seek(self.read_pos)
        return data

    def _more(self, wanted: int) -> bool:
        if not self.gzipped:
            data = self.raw.read(min(max(wanted, CHUNK), 1 << 20))
            self.read_pos += len(data)
            self.buffer += data
            return bool(data)
        return self._inflate(wanted)

    def _raw(self, at_least: int = 1) -> bytes:
        data, self.pending = self.pending, b""
        while len(data) < at_least:
            more = self.raw.read(CHUNK)
            if not more:
                break
            self.read_pos += len(more)
            data += more
        return data

    def _start_member(self) -> bool:
        data = self._raw(len(GZIP_MAGIC))
        if not data:
            return False
        self.member_offset = self.read_pos - len(data)
        self.pending = data
        if not data.startswith(GZIP_MAGIC):
            raise Damage(f"bytes at offset {self.member_offset} are not a gzip member")
        self.inflater = zlib.decompressobj(31)
        self.member_stream_start = self.pos + len(self.buffer)
        return True

    def _inflate(self, wanted: int) -> bool:
        while True:
            if self.inflater is None or self.inflater.eof:
                if self.inflater is not None and self.fence:
                    self.fenced = True
                    return False
                if not self._start_member():
                    return False
            inflater = self.inflater
            assert inflater is not None
            data = inflater.unconsumed_tail or self._raw()
            if not data:
                raise Damage(f"gzip member at offset {self.member_offset} is cut: the file ends")
            try:
                out = inflater.decompress(data, max(wanted, CHUNK))
            except zlib.error as error:
                raise Damage(f"gzip member at offset {self.member_offset}: {error}") from None
            if inflater.eof:
                self.pending = inflater.unused_data
            if out:
                self.buffer += out
                return True

    # --- after damage ---

    def recover(self) -> None:
        """Drop what is buffered and go on at the next gzip member after the broken one."""
        self.pos += len(self.buffer)
        self.buffer.clear()
        self.lift_fence()
        self.inflater = None
        self.pending = b""
        start = self.member_offset + 1
        self.raw.seek(start)
        self.read_pos = start
        carry = b""
        while True:
            data = self.raw.read(CHUNK)
            self.read_pos += len(data)
            if not data:
                return
            window = carry + data
            found = window.find(GZIP_MAGIC)
            if found >= 0:
                self.pending = window[found:]
                return
            carry = window[-(len(GZIP_MAGIC) - 1) :]

"""WARC records as fetched pages for import: each one read whole and checked, or named as lost."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crawler.settings import DOWNLOAD_MAXSIZE
from crawler.warc_digest import check_digest, digest_matches
from crawler.warc_source import GZIP_MAGIC, Damage, WarcSource
from storage.fetched_page import FetchedPage

# What one page may cost on import: the crawl's own cap on a download (decoded body).
MAX_PAGE_BYTES = DOWNLOAD_MAXSIZE
# A WARC header block, or an HTTP head, longer than this is not one.
MAX_HEAD_BYTES = 64 * 1024
KEPT_HEADERS = ("ETag", "Last-Modified", "Content-Type")
RECORD_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
     "continuation"}
)
NOT_MODIFIED_PROFILE = "/revisit/server-not-modified"
_RECORD_START = re.compile(rb"(?:^|\n)(WARC/1\.[01]\r\n)")
# A block that holds a record boundary followed by a WARC header took in the next record.
_SWALLOWED = re.compile(rb"\r\n\r\nWARC/1\.[01]\r\n[A-Za-z-]+: ")
_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? +(\d{3})(?: |$)")


@dataclass(frozen=True, slots=True)
class Lost:
    """A record (or stretch of the file) not imported as its page, and why."""

    offset: int
    reason: str
    record_no: int | None = None
    target: str | None = None

    def __str__(self) -> str:
        where = f"record {self.record_no} at offset {self.offset}" if self.record_no else (
            f"offset {self.offset}"
        )
        if self.target:
            where += f" ({self.target})"
        return f"{where}: {self.reason}"


class NotAWarc(Exception):
    """The file does not begin with a WARC record."""


def check_warc(path: Path) -> None:
    """Raise NotAWarc unless `path` begins with a WARC record (plain or gzip'd)."""
    with path.open("rb") as raw:
        gzipped = raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        raw.seek(0)
        source = WarcSource(raw, gzipped=gzipped)
        try:
            source.fill(16)
        except Damage as damage:
            raise NotAWarc(str(damage)) from None
        first = bytes(source.buffer[:16]).lstrip(b"\r\n")
        if not _RECORD_START.match(first):
            raise NotAWarc(f"not a WARC file (it begins {first[:10]!r})")


def read_warc(path: Path) -> Iterator[FetchedPage | Lost]:
    """Every HTTP response and revisit record of a WARC as a page; every record that cannot be
    read whole and intact as a Lost, the reader going on at the next record it can find."""
    with path.open("rb") as raw:
        gzipped = raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        raw.seek(0)
        yield from _Reader(WarcSource(raw, gzipped=gzipped)).records()


class _Reader:
    def __init__(self, source: WarcSource) -> None:
        self.source = source
        self.record_no = 0

    def records(self) -> Iterator[FetchedPage | Lost]:
        source = self.source
        while True:
            offset, number, target = source.file_offset(), None, None
            try:
                if not self._skip_blank():
                    return
                offset = source.file_offset()
                if not _RECORD_START.match(bytes(source.buffer[:10])):
                    skipped = self._scan_to_record()
                    yield Lost(offset, f"{skipped} bytes that are no WARC record, skipped")
                    continue
                self.record_no += 1
                number = self.record_no
                source.fence = source.at_member_start()
                headers, head_size = self._warc_head()
                target = headers.get("warc-target-uri", "").strip("<>") or None
                yield from self._record(headers, head_size, offset, target)
                source.lift_fence()
            except Damage as damage:
                yield Lost(offset, str(damage), number, target)
                self._resync(damage)

    # --- record framing ---

    def _skip_blank(self) -> bool:
        source = self.source
        while True:
            if not source.fill(1):
                if source.fenced:
                    source.lift_fence()
                    continue
                return False
            blank = len(source.buffer) - len(bytes(source.buffer).lstrip(b"\r\n"))
            if blank < len(source.buffer):
                source.discard(blank)
                return source.fill(10) or bool(source.buffer)
            source.discard(blank)

    def _scan_to_record(self) -> int:
        """Discard bytes up to the next record start found; how many were discarded."""
        source, skipped, ended = self.source, 0, False
        while True:
            found = _RECORD_START.search(source.buffer)
            if found:
                source.discard(found.start(1))
                return skipped + found.start(1)
            if source.fenced or ended:
                # A record never spans gzip members: what is left of this one is no record.
                skipped += len(source.buffer)
                source.discard(len(source.buffer))
                if ended and not source.fenced:
                    return skipped
                source.lift_fence()
                ended = False
            keep = min(len(source.buffer), 16)
            skipped += len(source.buffer) - keep
            source.discard(len(source.buffer) - keep)
            ended = not source.fill(len(source.buffer) + 1) and not source.fenced

    def _resync(self, damage: Damage) -> None:
        source = self.source
        if source.gzipped and str(damage).startswith(("gzip member", "bytes at offset")):
            source.recover()
            return
        # Framing damage: the next record may start anywhere after this one's first byte.
        source.discard(min(1, len(source.buffer)))
        try:
            self._scan_to_record()
        except Damage:
            if source.gzipped:
                source.recover()

    def _warc_head(self) -> tuple[dict[str, str], int]:
        source = self.source
        end = -1
        while end < 0:
            end = source.buffer.find(b"\r\n\r\n")
            if end < 0 and (len(source.buffer) > MAX_HEAD_BYTES or not source.fill(
                len(source.buffer) + 1
            )):
                raise Damage("the record's header block is cut or has no end")
        head = bytes(source.buffer[:end]).decode("utf-8", "replace")
        headers: dict[str, str] = {}
        for line in head.split("\r\n")[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        return headers, end + 4

    def _record(
        self, headers: dict[str, str], head_size: int, offset: int, target: str | None
    ) -> Iterator[FetchedPage | Lost]:
        source = self.source
        length_text = headers.get("content-length", "")
        if not length_text.isdigit():
            raise Damage(f"Content-Length missing or not a number: {length_text[:20]!r}")
        length = int(length_text)
        kind = headers.get("warc-type", "")
        if kind not in RECORD_TYPES:
            raise Damage(f"unknown WARC-Type {kind[:30]!r}")
        # Whatever its Content-Type says, an http(s) response is read as one: a page is never
        # passed over unnamed.
        is_page = kind in ("response", "revisit")
        if length > MAX_PAGE_BYTES + MAX_HEAD_BYTES:
            yield from self._oversized(headers, head_size, length, offset, target, is_page)
            return
        end = head_size + length
        if not source.fill(end + 4):
            raise self._cut(end + 4, length)
        if bytes(source.buffer[end : end + 4]) != b"\r\n\r\n" or _SWALLOWED.search(
            source.buffer, head_size, end
        ):
            raise Damage(f"its Content-Length {length} does not end at the record's end")
        with memoryview(source.buffer) as view, view[head_size:end] as block_view:
            digest_ok = digest_matches(headers.get("warc-block-digest"), block_view)
            block = bytes(block_view) if is_page and digest_ok else b""
        if not digest_ok:
            raise Damage("WARC-Block-Digest does not match its bytes")
        self._settle()
        source.discard(end + 4)
        if not is_page:
            return
        try:
            page, reason = _page(headers, block, kind, target)
        except Damage as damage:
            page, reason = None, str(damage)
        if page is not None:
            yield page
        if reason is not None:
            yield Lost(offset, reason, self.record_no, target)

    def _cut(self, wanted: int, length: int) -> Damage:
        source = self.source
        have = max(len(source.buffer) - (wanted - length - 4), 0)
        if source.fenced:
            return Damage(
                f"its Content-Length {length} runs past its gzip member ({have} bytes in it)"
            )
        return Damage(f"the file ends {have} bytes into its {length}-byte block")

    def _settle(self) -> None:
        """In a record's own gzip member, read to the member's end so that its CRC is checked
        before the record is used."""
        source = self.source
        before = len(source.buffer)
        while source.fence and source.fill(len(source.buffer) + 1):
            if source.buffer[before:].strip(b"\r\n") or len(source.buffer) - before > 16:
                source.fence = False  # more records in this member: no end to reach

    def _oversized(
        self,
        headers: dict[str, str],
        head_size: int,
        length: int,
        offset: int,
        target: str | None,
        is_page: bool,
    ) -> Iterator[FetchedPage | Lost]:
        """A record over the page cap: skipped unread, its page (if any) kept as a failed fetch."""
        source = self.source
        if not source.gzipped:
            boundary = source.peek_plain(source.pos + head_size + length, 4)
            if boundary != b"\r\n\r\n":
                raise Damage(f"its Content-Length {length} does not end at the record's end")
        source.discard(head_size)
        if not source.skip(length) or not source.fill(4):
            raise self._cut(4 + length, length)
        if bytes(source.buffer[:4]) != b"\r\n\r\n":
            raise Damage(f"its Content-Length {length} does not end at the record's end")
        source.discard(4)
        reason = f"record of {length} bytes, over the {MAX_PAGE_BYTES}-byte page cap"
        when = _warc_date(headers)
        if is_page and target and isinstance(when, datetime):
            yield FetchedPage(target, None, {}, b"", when, fetch_error=f"refused: {reason}")
            reason += "; kept as a failed capture"
        yield Lost(offset, f"refused: {reason}", self.record_no, target)


# --- one record's page -------------------------------------------------------------------------


def _page(
    headers: dict[str, str], block: bytes, kind: str, target: str | None
) -> tuple[FetchedPage | None, str | None]:
    """The page of an intact response or revisit record, and why it is lost or refused (a
    refused page comes back as a failed fetch)."""
    when = _warc_date(headers)
    if isinstance(when, str):
        return None, when
    if not target:
        return None, "no WARC-Target-URI"
    if not target.startswith(("http://", "https://")):
        return None, None  # dns: and other schemes are no pages
    split = block.find(b"\r\n\r\n")
    head = block if split < 0 else block[:split]
    payload = memoryview(block)[split + 4 :] if split >= 0 else memoryview(b"")
    lines = head.split(b"\r\n")
    status_match = _STATUS_LINE.match(lines[0]) if head else None
    profile = headers.get("warc-profile", "")
    if kind == "revisit":
        if not profile.endswith(NOT_MODIFIED_PROFILE) and not (
            status_match and status_match.group(1) == b"304"
        ):
            return None, f"revisit of another record's payload ({profile or 'no profile'})"
        status, payload = 304, b""
    elif status_match is None:
        return None, f"HTTP status line unreadable: {lines[0][:40]!r}"
    else:
        status = int(status_match.group(1))
        check_digest(headers.get("warc-payload-digest"), payload, "WARC-Payload-Digest")
    http = _http_headers(lines[1:])
    body, refusal = _decoded(payload, http)
    kept = {name: http[name.lower()] for name in KEPT_HEADERS if name.lower() in http}
    if refusal:
        page = FetchedPage(target, status, kept, b"", when, fetch_error=f"refused: {refusal}")
        return page, f"refused: {refusal}; kept as a failed capture"
    return FetchedPage(target, status, kept, body, when), None


def _warc_date(headers: dict[str, str]) -> datetime | str:
    text = headers.get("warc-date", "")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"WARC-Date missing or not a time: {text[:40]!r}"
    if when.utcoffset() is None:
        return f"WARC-Date without a time zone: {text[:40]!r}"
    return when.astimezone(UTC)


def _http_headers(lines: list[bytes]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            found[name.strip().lower()] = value.strip()
    return found


def _decoded(payload: memoryview, http: dict[str, str]) -> tuple[bytes, str | None]:
    """The body as the crawl would have stored it (transfer and content codings undone), or
    why it is refused. Output is capped: a small compressed payload can inflate without end."""
    if "chunked" in http.get("transfer-encoding", "").lower():
        payload = memoryview(_dechunked(bytes(payload)))
    coding = http.get("content-encoding", "").strip().lower()
    if coding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(47 if coding != "deflate" else 15)
        try:
            body = inflater.decompress(payload, MAX_PAGE_BYTES + 1)
        except zlib.error:
            body = payload  # mislabelled: kept as sent (warcio does the same)
        else:
            if len(body) > MAX_PAGE_BYTES:
                return b"", f"body inflates past the {MAX_PAGE_BYTES}-byte page cap"
    elif coding == "br":
        try:
            import brotli

            body = brotli.Decompressor().process(
                payload, output_buffer_limit=MAX_PAGE_BYTES + 1
            )
        except ImportError:
            body = payload
        except brotli.error:
            body = payload
        if len(body) > MAX_PAGE_BYTES:
            return b"", f"body inflates past the {MAX_PAGE_BYTES}-byte page cap"
    else:
        body = payload
    body = bytes(body)
    if len(body) > MAX_PAGE_BYTES:
        return b"", f"body of {len(body)} bytes, over the {MAX_PAGE_BYTES}-byte page cap"
    return body, None


def _dechunked(payload: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        line_end = payload.find(b"\r\n", at)
        size_text = payload[at:line_end].split(b";")[0].strip() if line_end >= 0 else b""
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Damage("its chunked transfer coding is broken") from None
        if size == 0:
            return bytes(out)
        start = line_end + 2
        if start + size > len(payload):
            raise Damage("its chunked transfer coding is cut")
        out += payload[start : start + size]
        at = start + size + 2

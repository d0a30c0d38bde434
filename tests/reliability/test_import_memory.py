"""Import memory is bounded by what one page may cost, not by the size of a record or a file."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zlib
from pathlib import Path

from crawler.settings import DOWNLOAD_MAXSIZE
from tests.support.storage_fixtures import example_page

URL = "https://www.newsis.com/view/NISX20241115_{:010d}"
# Runs a command and prints its peak resident set (KiB): each import measured on its own.
PEAK_RSS = (
    "import resource, subprocess, sys;"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
    "print(done.stdout + done.stderr, file=sys.stderr)"
)


def warc_head(n: int, length: int) -> bytes:
    return (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
        f"WARC-Target-URI: {URL.format(n)}\r\n"
        f"WARC-Date: 2024-11-15T00:{n // 60:02d}:{n % 60:02d}Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def write_record(out, n: int, payload_parts, payload_length: int, http_extra: str = "") -> None:
    """One response record as its own gzip member, its payload streamed from `payload_parts`."""
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{http_extra}\r\n".encode()
    member = zlib.compressobj(1, zlib.DEFLATED, 31)
    out.write(member.compress(warc_head(n, len(http) + payload_length) + http))
    for part in payload_parts:
        out.write(member.compress(part))
    out.write(member.compress(b"\r\n\r\n") + member.flush())


def page_of(size: int, n: int) -> bytes:
    raw, _, _ = example_page("seed-l3")
    raw = raw.replace("15일 업계에 따르면".encode(), f"{n}번째 업계에 따르면".encode())
    filler = (b"<!-- " + bytes(range(97, 123)) * (size // 26) + b" -->")[: max(size - len(raw), 0)]
    return raw.replace(b"</body>", filler + b"</body>")


def small_warc(path: Path) -> None:
    with path.open("wb") as out:
        for n in range(24):
            body = page_of(0, n)
            write_record(out, n, [body], len(body))


def large_warc(path: Path) -> None:
    """24 pages of 5 MB, a record four times the page cap several times over, and a
    Content-Encoding bomb (a small payload that inflates far past the cap)."""
    huge = 50 * DOWNLOAD_MAXSIZE
    bomb = gzip.compress(b"\0" * (40 * DOWNLOAD_MAXSIZE), compresslevel=9)
    with path.open("wb") as out:
        write_record(out, 100, (b"x" * (1 << 20) for _ in range(huge >> 20)), huge)
        write_record(out, 101, [bomb], len(bomb), "Content-Encoding: gzip\r\n")
        for n in range(24):
            body = page_of(5_000_000, n)
            write_record(out, n, [body], len(body))


def peak_rss(warc: Path, db: Path) -> tuple[int, int, str]:
    command = [sys.executable, "-m", "crawler", "import", str(warc), "--db", f"sqlite:///{db}"]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *command],
        capture_output=True, text=True, timeout=900, check=True,
    )
    code, peak = done.stdout.split()
    return int(code), int(peak), done.stderr


def test_import_peak_memory_does_not_grow_with_record_or_page_size(tmp_path):
    small, large = tmp_path / "small.warc.gz", tmp_path / "large.warc.gz"
    small_warc(small)
    large_warc(large)
    small_code, small_peak, small_out = peak_rss(small, tmp_path / "small.sqlite3")
    large_code, large_peak, large_out = peak_rss(large, tmp_path / "large.sqlite3")
    assert small_code == 0, small_out
    # The two over-cap records are refused (exit 1), named, kept as failed captures.
    assert large_code == 1, large_out
    assert "imported 26 pages" in large_out and "2 record(s) lost or refused" in large_out
    assert large_out.count("refused:") == 2
    # 24 pages of 5 MB and a 400 MB record cost a few large pages more than 24 small pages.
    assert large_peak < small_peak * 3.5, (small_peak, large_peak)

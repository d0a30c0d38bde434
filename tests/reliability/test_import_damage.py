"""WARC import of damaged files: every record is stored intact or named as lost, never mixed."""

from __future__ import annotations

import gzip
import io
import random

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.warc_reader import Lost, read_warc
from tests.support.import_files import run_import as run
from tests.support.import_files import table_counts
from tests.support.storage_fixtures import example_page

RECORDS = 6
# Lies told by a record's Content-Length, in bytes either way.
LIES = [1, 2, 3, 4, 5, 17, 100, 3000, 20000, 2**31]


def records() -> list[tuple[bytes, tuple[str, bytes]]]:
    """RECORDS response records (each its own WARC bytes, with digests) and their (URL, body)."""
    raw, url, _ = example_page("seed-l3")
    found = []
    for n in range(RECORDS):
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=False)
        body = raw.replace("15일 업계에 따르면".encode(), f"{n}번째 업계에 따르면".encode())
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            f"{url}?n={n}",
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": f"2024-11-15T00:0{n}:00Z"},
        )
        writer.write_record(record)
        found.append((out.getvalue(), (f"{url}?n={n}", body)))
    return found


def joined(blobs: list[bytes], gz: bool) -> tuple[bytes, list[int]]:
    """The records as one file (each its own gzip member when gz) and their offsets."""
    parts = [gzip.compress(blob, mtime=0) if gz else blob for blob in blobs]
    offsets, at = [], 0
    for part in parts:
        offsets.append(at)
        at += len(part)
    return b"".join(parts), offsets


def read_back(tmp_path, data: bytes, gz: bool) -> tuple[list[tuple[str, bytes]], list[Lost]]:
    path = tmp_path / ("damaged.warc.gz" if gz else "damaged.warc")
    path.write_bytes(data)
    items = list(read_warc(path))
    pages = [(item.url, item.body) for item in items if not isinstance(item, Lost)]
    return pages, [item for item in items if isinstance(item, Lost)]


def assert_intact_or_named(pages, losses, originals, missing_allowed=frozenset()) -> None:
    """No page holds bytes that are not its own record's; every record missing is named."""
    assert all(page in originals for page in pages), "a page that is no record of the file"
    missing = [n for n, page in enumerate(originals) if page not in pages]
    missing = [n for n in missing if n not in missing_allowed]
    assert len(losses) >= len(missing) and (not missing or losses), (missing, losses)


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_file_cut_anywhere_keeps_whole_records_and_names_the_cut_one(tmp_path, gz):
    made = records()
    data, offsets = joined([blob for blob, _ in made], gz)
    ends = [*offsets[1:], len(data)]
    originals = [page for _, page in made]
    for cut in random.Random(1).sample(range(1, len(data)), 60):
        pages, losses = read_back(tmp_path, data[:cut], gz)
        gone = {n for n in range(RECORDS) if ends[n] > cut}
        assert pages == originals[: RECORDS - len(gone)]
        cut_inside = next((n for n in gone if offsets[n] < cut), None)
        if cut_inside is not None and cut - offsets[cut_inside] > 2:
            assert [loss.offset for loss in losses] == [offsets[cut_inside]], (cut, losses)


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_corrupt_byte_anywhere_costs_at_most_its_record_and_is_named(tmp_path, gz):
    made = records()
    data, _ = joined([blob for blob, _ in made], gz)
    originals = [page for _, page in made]
    # An uncompressed WARC has no checksum over its WARC header: a flipped byte inside the
    # WARC-Target-URI or WARC-Date value cannot be seen (gzip's CRC sees it).
    unguarded: set[int] = set()
    if not gz:
        for name in (b"WARC-Target-URI: ", b"WARC-Date: "):
            at = data.find(name)
            while at >= 0:
                start = at + len(name)
                unguarded.update(range(start, data.index(b"\r\n", start)))
                at = data.find(name, start)
    chosen = random.Random(2)
    positions = [p for p in chosen.sample(range(len(data)), 250) if p not in unguarded]
    for position in positions:
        damaged = bytearray(data)
        damaged[position] ^= 1 << chosen.randrange(8)
        pages, losses = read_back(tmp_path, bytes(damaged), gz)
        assert_intact_or_named(pages, losses, originals)
        assert len(pages) >= RECORDS - 2, (position, losses)


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
@pytest.mark.parametrize("lie", [*LIES, *(-n for n in LIES if n < 20000)])
def test_a_content_length_that_lies_loses_only_its_record(tmp_path, gz, lie):
    made = records()
    originals = [page for _, page in made]
    for liar in range(RECORDS):
        blobs = [blob for blob, _ in made]
        head = blobs[liar]
        at = head.index(b"Content-Length: ") + len(b"Content-Length: ")
        end = head.index(b"\r\n", at)
        blobs[liar] = head[:at] + str(int(head[at:end]) + lie).encode() + head[end:]
        data, offsets = joined(blobs, gz)
        pages, losses = read_back(tmp_path, data, gz)
        assert pages == [page for n, page in enumerate(originals) if n != liar]
        assert [(loss.offset, loss.record_no) for loss in losses] == [(offsets[liar], liar + 1)]
        assert originals[liar][0] == losses[0].target


def test_import_of_a_damaged_warc_names_each_loss_stores_the_rest_and_exits_1(
    db_url, archive_engine, tmp_path
):
    made = records()
    blobs = [blob for blob, _ in made]
    # Record 2's Content-Length takes in record 3; record 5 is cut mid-payload at the end.
    at = blobs[1].index(b"Content-Length: ") + len(b"Content-Length: ")
    end = blobs[1].index(b"\r\n", at)
    blobs[1] = blobs[1][:at] + str(int(blobs[1][at:end]) + 500).encode() + blobs[1][end:]
    data, offsets = joined(blobs[:5], gz=True)
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(data + gzip.compress(blobs[5])[:-3000])
    result = run(str(path), "--db", db_url)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"newsarchive: {path}: record 2 at offset {offsets[1]} (")
    assert lines[1].startswith(f"newsarchive: {path}: record 6 at offset {len(data)} (")
    assert "imported 4 pages from 1 file(s)" in lines[2] and "2 record(s) lost" in lines[2]
    assert lines[3] == "newsarchive: 2 record(s) not imported (lost or refused, each named above)"
    assert table_counts(db_url)["captures"] == 4

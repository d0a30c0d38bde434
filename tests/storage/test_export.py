"""Export: JSONL and CSV round-trip the records; the WARC file reads back with the exact bodies."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from storage import export, queries
from tests.support.storage_fixtures import (
    OLDER_URL,
    SEED_URL,
    T0,
    Capture,
    fill,
    reading,
    seed_v1,
    seed_v2,
    standard_captures,
)


def test_jsonl_lines_are_the_records(db_url):
    fill(db_url)
    out = io.StringIO()
    with reading(db_url) as session:
        count = export.write_jsonl(queries.iter_records(session, all_versions=True), out)
        expected = list(queries.iter_records(session, all_versions=True))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == 4 and lines == expected
    assert set(lines[0]) == set(queries.EXPORT_FIELDS)


def test_csv_rows_round_trip_to_the_records(db_url):
    fill(db_url)
    out = io.StringIO()
    with reading(db_url) as session:
        export.write_csv(queries.iter_records(session, all_versions=True), out)
        expected = list(queries.iter_records(session, all_versions=True))
    text = out.getvalue()
    assert not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [export.record_from_csv_row(row) for row in rows] == expected
    assert json.loads(rows[0]["body"]) == expected[0]["body"]


def test_warc_reads_back_with_the_exact_bodies_urls_and_dates(db_url):
    captures = [
        *standard_captures(),
        Capture(OLDER_URL, b"", T0 + timedelta(days=1), status=304),
    ]
    fill(db_url, captures)
    out = io.BytesIO()
    with reading(db_url) as session, Session(session.get_bind()) as body_session:
        count = export.write_warc(session, body_session, out, batch_size=2)
    assert count == len(captures)
    kinds, got, content_types = [], [], []
    # A record's payload must be read before the iterator moves on.
    for record in ArchiveIterator(io.BytesIO(out.getvalue())):
        kinds.append(record.rec_type)
        if record.rec_type != "response":
            continue
        got.append(
            (
                record.rec_headers.get_header("WARC-Target-URI"),
                record.rec_headers.get_header("WARC-Date"),
                record.http_headers.get_statuscode(),
                record.content_stream().read(),
            )
        )
        content_types.append(record.http_headers.get_header("Content-Type"))
    # The 304 is a revisit record (tests/cli/test_export_revisits.py), every other capture a
    # response.
    assert kinds[0] == "warcinfo" and kinds.count("response") == len(captures) - 1
    assert kinds.count("revisit") == 1
    ordered = sorted(captures[:-1], key=lambda c: c.fetched_at)
    assert got == [
        (c.url, c.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"), str(c.status), c.body) for c in ordered
    ]
    assert seed_v1() in [body for *_, body in got] and seed_v2() in [body for *_, body in got]
    assert content_types[0] == "text/html; charset=utf-8"
    # gzip per record: the file is a sequence of gzip members, each one a record.
    assert gzip.decompress(out.getvalue()).count(b"WARC/1.") == len(kinds)


def test_warc_since_keeps_later_captures_only(db_url):
    fill(db_url)
    out = io.BytesIO()
    with reading(db_url) as session, Session(session.get_bind()) as body_session:
        count = export.write_warc(session, body_session, out, since=T0 + timedelta(hours=2))
    uris = [
        r.rec_headers.get_header("WARC-Target-URI")
        for r in ArchiveIterator(io.BytesIO(out.getvalue()))
        if r.rec_type == "response"
    ]
    assert count == 2 and uris == [SEED_URL, SEED_URL]


def test_warc_passes_warcio_check_and_index(db_url, tmp_path):
    fill(db_url)
    path = tmp_path / "archive.warc.gz"
    with reading(db_url) as session, Session(session.get_bind()) as body_session:
        with path.open("wb") as out:
            export.write_warc(session, body_session, out)
    # The venv's own warcio script, whether or not the venv is on PATH.
    warcio = str(Path(sys.executable).with_name("warcio"))
    checked = subprocess.run([warcio, "check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    indexed = subprocess.run([warcio, "index", str(path)], capture_output=True, text=True)
    assert indexed.returncode == 0
    assert indexed.stdout.count('"warc-type": "response"') == 6

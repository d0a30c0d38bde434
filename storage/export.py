"""Export writers: records as JSONL or CSV, raw captures as WARC; all streamed, batch by batch."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import responses
from typing import Any, BinaryIO, TextIO

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage.ingest.write_path import load_body
from storage.models import Capture
from storage.queries import EXPORT_FIELDS

# Record fields that are lists or objects: one JSON string per CSV cell.
JSON_FIELDS = frozenset({"subheadlines", "reporters", "captions", "body"})
# CSV cells of these fields are empty when the record holds null.
NULLABLE_FIELDS = frozenset({"section", "modified_at", "dateline", "deleted_at"})
SOFTWARE = "newsarchive"


def write_jsonl(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One record per line (UTF-8, keys sorted); returns the count."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One row per version, list/object fields as JSON strings, null as an empty cell.

    UTF-8 without BOM (Excel users: import as UTF-8 via Data > From Text/CSV).
    """
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(
            {
                name: json.dumps(record[name], ensure_ascii=False)
                if name in JSON_FIELDS
                else record[name]
                for name in EXPORT_FIELDS
            }
        )
        count += 1
    return count


def record_from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row back as the record it was written from (the inverse of write_csv)."""
    record: dict[str, Any] = {}
    for name in EXPORT_FIELDS:
        cell = row[name]
        if name in JSON_FIELDS:
            record[name] = json.loads(cell)
        elif name == "version":
            record[name] = int(cell)
        elif name in NULLABLE_FIELDS and cell == "":
            record[name] = None
        else:
            record[name] = cell
    return record


def write_warc(
    session: Session,
    body_session: Session,
    out: BinaryIO,
    *,
    since: datetime | None = None,
    publishers: Collection[str] | None = None,
    batch_size: int = 200,
    on_record: Callable[[], None] | None = None,
) -> int:
    """Every capture with an HTTP response as a gzip'd WARC/1.1 record; returns the count.

    A 200 (or any status but 304) is a `response` record with the exact stored body. A 304 is a
    `revisit` record (profile server-not-modified) whose WARC-Refers-To-* name the response it
    confirms: the latest earlier 200 with a body of the same URL. When `since` leaves that
    response out, it is written too (at its own, earlier, date), so that every revisit of the
    file resolves within it and replays the page. Fetch errors have no response and are left
    out. `body_session` loads bodies apart from the streaming cursor and is emptied after each
    one, so memory stays flat. `on_record` is called after each record written (a progress bar).
    `publishers`: only captures of their sites (None: every publisher's).
    """
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    writer.write_record(
        writer.create_warcinfo_record(
            "newsarchive-export.warc.gz",
            {"software": SOFTWARE, "format": "WARC File Format 1.1"},
        )
    )
    statement = (
        select(*_COLUMNS)
        .where(Capture.status.is_not(None))
        .order_by(Capture.fetched_at, Capture.capture_id)
    )
    if since is not None:
        statement = statement.where(Capture.fetched_at >= since)
    if publishers is not None:
        statement = statement.where(Capture.publisher.in_(list(publishers)))
    # URL -> the latest 200 response written: what a later 304 of that URL confirms.
    confirmed: dict[str, _Written] = {}
    count = 0
    for row in session.execute(statement.execution_options(yield_per=batch_size)):
        if row.status == 304:
            original = confirmed.get(row.url)
            if original is None:
                original = _write_confirmed(body_session, writer, row)
                count += original is not None
            writer.write_record(_revisit_record(writer, row, original))
        else:
            record = _response_record(writer, row, _body(body_session, row))
            writer.write_record(record)
            if row.status == 200 and row.body_hash:
                confirmed[row.url] = _written(record)
        count += 1
        if on_record is not None:
            on_record()
    return count


WARC_VERSION = "WARC/1.1"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_COLUMNS = (
    Capture.capture_id,
    Capture.url,
    Capture.fetched_at,
    Capture.status,
    Capture.etag,
    Capture.last_modified,
    Capture.content_type,
    Capture.body_hash,
)


@dataclass(frozen=True, slots=True)
class _Written:
    """A response record written: what a revisit record refers to it by."""

    record_id: str
    date: str
    payload_digest: str | None


def _written(record: Any) -> _Written:
    headers = record.rec_headers
    return _Written(
        headers.get_header("WARC-Record-ID"),
        headers.get_header("WARC-Date"),
        headers.get_header("WARC-Payload-Digest"),
    )


def _body(body_session: Session, row: Any) -> bytes:
    body = load_body(body_session, row.body_hash) if row.body_hash else b""
    body_session.expunge_all()
    return body


def _write_confirmed(body_session: Session, writer: WARCWriter, revisit: Any) -> _Written | None:
    """The response a 304 confirms that the export has not written (it came before `since`):
    written now, at its own date. None when the archive holds no earlier 200 of the URL."""
    row = body_session.execute(
        select(*_COLUMNS)
        .where(
            Capture.url == revisit.url,
            Capture.status == 200,
            Capture.body_hash.is_not(None),
            tuple_(Capture.fetched_at, Capture.capture_id)
            < tuple_(revisit.fetched_at, revisit.capture_id),
        )
        .order_by(Capture.fetched_at.desc(), Capture.capture_id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    record = _response_record(writer, row, _body(body_session, row))
    writer.write_record(record)
    return _written(record)


def _http_headers(row: Any, body_length: int | None) -> StatusAndHeaders:
    headers = [
        (name, value)
        for name, value in (
            ("Content-Type", row.content_type),
            ("ETag", row.etag),
            ("Last-Modified", row.last_modified),
        )
        if value
    ]
    if body_length is not None:
        headers.append(("Content-Length", str(body_length)))
    status_line = f"{row.status} {responses.get(row.status, 'Unknown')}"
    return StatusAndHeaders(status_line, headers, protocol="HTTP/1.1")


def _warc_date(when: datetime) -> str:
    """WARC/1.1 dates carry the fraction of a second when there is one (crawl captures)."""
    when = when.astimezone(UTC)
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _response_record(writer: WARCWriter, row: Any, body: bytes):
    return writer.create_warc_record(
        row.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=_http_headers(row, len(body)),
        warc_headers_dict={"WARC-Date": _warc_date(row.fetched_at)},
    )


def _revisit_record(writer: WARCWriter, row: Any, original: _Written | None):
    """A 304 as a server-not-modified revisit: no block, and what it confirms. With no earlier
    200 in the archive, it refers only to its URL.

    The block stays empty: replay tools (pywb, wabac.js) take a revisit's own HTTP head over the
    original's, so a 304 head would replay every unchanged article as a blank 304. The record's
    profile and date say that the server answered 304 then."""
    warc_headers = {"WARC-Date": _warc_date(row.fetched_at), "WARC-Profile": NOT_MODIFIED_PROFILE}
    warc_headers["WARC-Refers-To-Target-URI"] = row.url
    if original is not None:
        warc_headers["WARC-Refers-To-Date"] = original.date
        warc_headers["WARC-Refers-To"] = original.record_id
        if original.payload_digest:
            warc_headers["WARC-Payload-Digest"] = original.payload_digest
    return writer.create_warc_record(
        row.url,
        "revisit",
        payload=io.BytesIO(b""),
        length=0,
        warc_headers_dict=warc_headers,
    )

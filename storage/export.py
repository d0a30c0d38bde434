"""Export writers: records as JSONL or CSV, raw captures as WARC; all streamed, batch by batch."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.client import responses
from typing import Any, BinaryIO, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage.archive import load_body
from storage.models import Capture
from storage.queries import EXPORT_FIELDS

# Record fields that are lists or objects: one JSON string per CSV cell.
JSON_FIELDS = frozenset({"subheadlines", "reporters", "captions", "body"})
# CSV cells of these fields are empty when the record holds null.
NULLABLE_FIELDS = frozenset({"section", "modified_at", "dateline"})
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
    batch_size: int = 200,
    on_record: Callable[[], None] | None = None,
) -> int:
    """Every capture with an HTTP response as a gzip'd WARC response record; returns the count.

    Fetch errors have no response and are left out. The HTTP head is rebuilt from the stored
    status and headers; the payload is the exact stored body. `body_session` loads bodies apart
    from the streaming cursor and is emptied after each one, so memory stays flat.
    `on_record` is called after each record written (a progress bar).
    """
    writer = WARCWriter(out, gzip=True)
    writer.write_record(
        writer.create_warcinfo_record(
            "newsarchive-export.warc.gz",
            {"software": SOFTWARE, "format": "WARC File Format 1.0"},
        )
    )
    statement = (
        select(
            Capture.capture_id,
            Capture.url,
            Capture.fetched_at,
            Capture.status,
            Capture.etag,
            Capture.last_modified,
            Capture.content_type,
            Capture.body_hash,
        )
        .where(Capture.status.is_not(None))
        .order_by(Capture.fetched_at, Capture.capture_id)
    )
    if since is not None:
        statement = statement.where(Capture.fetched_at >= since)
    count = 0
    for row in session.execute(statement.execution_options(yield_per=batch_size)):
        body = load_body(body_session, row.body_hash) if row.body_hash else b""
        body_session.expunge_all()
        writer.write_record(_response_record(writer, row, body))
        count += 1
        if on_record is not None:
            on_record()
    return count


def _response_record(writer: WARCWriter, row: Any, body: bytes):
    headers = [
        (name, value)
        for name, value in (
            ("Content-Type", row.content_type),
            ("ETag", row.etag),
            ("Last-Modified", row.last_modified),
        )
        if value
    ]
    headers.append(("Content-Length", str(len(body))))
    status_line = f"{row.status} {responses.get(row.status, 'Unknown')}"
    http_headers = StatusAndHeaders(status_line, headers, protocol="HTTP/1.1")
    fetched_at = row.fetched_at.astimezone(UTC)
    return writer.create_warc_record(
        row.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http_headers,
        warc_headers_dict={
            "WARC-Date": fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )

"""Helpers for the import tests: WARC files written with warcio, `newsarchive import` in-process,
the archive's row counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.cli import cli
from storage.db import make_engine, make_session_factory
from storage.models import Article, Body, Capture, Version

HTML_HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("ETag", '"e1"'))


def write_warc(
    path: Path, records: Iterable[tuple[str, str, bytes, int]], *, gz: bool = True,
    headers: Sequence[tuple[str, str]] = HTML_HEADERS,
) -> int:
    """A WARC with one response record per (url, WARC-Date, body, status); the count."""
    written = 0
    with open(path, "wb") as output:
        writer = WARCWriter(output, gzip=gz)
        for url, date, body, status in records:
            http_headers = StatusAndHeaders(f"{status} OK", list(headers), protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=BytesIO(body),
                # With a length warcio digests in place instead of spooling to a temp file it
                # never closes (a ResourceWarning, an error under this suite's settings).
                length=len(body),
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(record)
            written += 1
    return written


def table_counts(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Article, Version, Capture, Body)
        }
    engine.dispose()
    return counts


def run_import(*args: str) -> Result:
    return CliRunner().invoke(cli, ["import", *args])

"""WARC export of a crawl with revisits: a 304 is a revisit record naming the response it
confirms, which is in the file; the export replays and imports back whole."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import rows, run_crawl, scalar
from tests.support.processes import run_cli

PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    """A crawl, then a revisit of everything one step later: unchanged pages answer 304."""
    db_path = tmp_path_factory.mktemp("export-revisits") / "archive.sqlite3"
    with NewsisSite(seed=5, articles=24) as site:
        first = run_crawl(db_path, site)
        assert first.returncode == 0, first.stderr
        site.advance(5)
        second = run_crawl(db_path, site, "--revisit", "all")
        assert second.returncode == 0, second.stderr
    assert scalar(db_path, "SELECT count(*) FROM captures WHERE status = 304") > 0
    return db_path


def export(db_path: Path, out: Path, *args: str) -> list[dict]:
    done = run_cli("export", "--format", "warc", "-o", str(out), "--db", f"sqlite:///{db_path}",
                       *args)
    assert done.returncode == 0, done.stderr
    records = []
    with out.open("rb") as stream:
        for record in ArchiveIterator(stream):
            headers = record.rec_headers
            records.append(
                {
                    "type": record.rec_type,
                    "version": headers.protocol,
                    "id": headers.get_header("WARC-Record-ID"),
                    "uri": headers.get_header("WARC-Target-URI"),
                    "date": headers.get_header("WARC-Date"),
                    "profile": headers.get_header("WARC-Profile"),
                    "refers_to": headers.get_header("WARC-Refers-To"),
                    "refers_to_uri": headers.get_header("WARC-Refers-To-Target-URI"),
                    "refers_to_date": headers.get_header("WARC-Refers-To-Date"),
                    "payload_digest": headers.get_header("WARC-Payload-Digest"),
                    "status": record.http_headers.get_statuscode() if record.http_headers else None,
                    "payload": record.raw_stream.read(),
                }
            )
    return records


def sha1_digest(payload: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode()


def assert_revisits_resolve(records: list[dict]) -> None:
    """Each revisit names an earlier 200 response of its URL, in the file, by id, URI and date."""
    seen: dict[str, dict] = {}
    for record in records:
        if record["type"] == "response":
            seen[record["id"]] = record
        elif record["type"] == "revisit":
            assert record["version"] == "WARC/1.1" and record["profile"] == PROFILE
            # No HTTP head of its own: pywb would replay a 304 head instead of the page.
            assert record["status"] is None and record["payload"] == b""
            original = seen[record["refers_to"]]
            assert original["status"] == "200"
            assert original["uri"] == record["refers_to_uri"] == record["uri"]
            assert original["date"] == record["refers_to_date"] < record["date"]
            assert original["payload_digest"] == record["payload_digest"]


def test_304s_are_revisits_naming_the_response_they_confirm(crawled, tmp_path):
    records = export(crawled, tmp_path / "all.warc.gz")
    not_modified = scalar(crawled, "SELECT count(*) FROM captures WHERE status = 304")
    assert [r["type"] for r in records].count("revisit") == not_modified
    assert_revisits_resolve(records)
    for record in records:
        if record["type"] == "response":
            assert record["payload"], record["uri"]
            assert record["payload_digest"] == sha1_digest(record["payload"])


def test_every_url_replays_at_its_latest_capture(crawled, tmp_path):
    records = export(crawled, tmp_path / "all.warc.gz")
    by_id = {r["id"]: r for r in records}
    latest: dict[str, dict] = {}
    for record in records:
        if record["type"] in ("response", "revisit"):
            latest[record["uri"]] = record
    urls = {url for (url,) in rows(crawled, "SELECT DISTINCT url FROM captures WHERE status = 200")}
    for url in urls:
        record = latest[url]
        shown = by_id[record["refers_to"]] if record["type"] == "revisit" else record
        assert shown["payload"].endswith(b"</html>\n") or b"</html>" in shown["payload"]


def test_an_export_since_the_revisits_carries_the_responses_they_confirm(crawled, tmp_path):
    (stored,) = rows(crawled, "SELECT min(fetched_at) FROM captures WHERE status = 304")[0]
    since = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    records = export(crawled, tmp_path / "since.warc.gz", "--since", since.isoformat())
    revisits = [r for r in records if r["type"] == "revisit"]
    assert revisits
    assert_revisits_resolve(records)
    referred = [r for r in records if r["id"] in {v["refers_to"] for v in revisits}]
    # The responses confirmed were fetched before --since, and are in the file all the same.
    assert referred and all(
        datetime.fromisoformat(r["date"].replace("Z", "+00:00")) < since for r in referred
    )


def test_export_imports_back_with_its_revisits_as_not_modified(crawled, tmp_path):
    warc = tmp_path / "all.warc.gz"
    export(crawled, warc)
    copy = tmp_path / "copy.sqlite3"
    done = run_cli("import", str(warc), "--db", f"sqlite:///{copy}")
    assert done.returncode == 0, done.stdout + done.stderr
    query = "SELECT outcome, count(*) FROM captures GROUP BY outcome ORDER BY outcome"
    assert rows(copy, query) == rows(crawled, query)
    versions = "SELECT article_id, version_no, content_hash FROM versions ORDER BY 1, 2"
    assert rows(copy, versions) == rows(crawled, versions)

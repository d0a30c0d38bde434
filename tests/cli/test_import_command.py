"""`newsarchive import`: WARC and HTML files go through ingest; importing twice changes nothing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_session_factory
from storage.models import Capture
from tests.support.import_files import run_import, table_counts, write_warc
from tests.support.storage_fixtures import SEED_URL, example_page


@pytest.mark.parametrize("suffix", [".warc", ".warc.gz"])
def test_warc_import_twice_changes_nothing(db_url, archive_engine, tmp_path, suffix):
    seed, _, _ = example_page("seed-l3")
    photo, photo_url, _ = example_page("photo-item")
    edited = seed.replace("15일 업계에 따르면".encode(), "16일 업계에 따르면".encode())
    warc = tmp_path / f"pages{suffix}"
    write_warc(
        warc,
        [
            (SEED_URL, "2024-11-15T00:00:00Z", seed, 200),
            (SEED_URL, "2024-11-15T01:00:00Z", edited, 200),
            (photo_url, "2024-11-15T00:00:00Z", photo, 200),
        ],
        gz=suffix.endswith(".gz"),
    )
    first = run_import(str(warc), "--db", db_url)
    assert first.exit_code == 0, first.output
    assert "imported 3 pages" in first.output
    assert "2 new article" in first.output and "1 new version" in first.output
    after_first = table_counts(db_url)
    assert after_first["versions"] == 3
    second = run_import(str(warc), "--db", db_url)
    assert second.exit_code == 0, second.output
    assert "3 duplicate" in second.output
    assert table_counts(db_url) == after_first
    with make_session_factory(archive_engine)() as session:
        capture = session.scalars(select(Capture).order_by(Capture.fetched_at)).first()
        assert capture.fetched_at == datetime(2024, 11, 15, tzinfo=UTC)
        assert capture.etag == '"e1"'


def test_html_import_twice_changes_nothing(db_url, archive_engine, tmp_path):
    seed, _, _ = example_page("seed-l3")
    page = tmp_path / "page.html"
    page.write_bytes(seed)
    args = [
        str(page),
        "--url",
        SEED_URL,
        "--fetched-at",
        "2024-11-15T09:00:00+09:00",
        "--db",
        db_url,
    ]
    first = run_import(*args)
    assert first.exit_code == 0, first.output
    assert "1 new article" in first.output
    after_first = table_counts(db_url)
    second = run_import(*args)
    assert "1 duplicate" in second.output
    assert table_counts(db_url) == after_first


def test_html_import_without_url_is_one_clear_line(db_url, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(b"<html></html>")
    result = run_import(str(page), "--fetched-at", "2024-11-15T09:00:00+09:00", "--db", db_url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"newsarchive: {page}: an HTML file needs --url and --fetched-at"
    ]


def test_bad_date_is_one_clear_line(db_url, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(b"<html></html>")
    result = run_import(str(page), "--url", SEED_URL, "--fetched-at", "yesterday", "--db", db_url)
    assert result.exit_code == 2  # a usage error naming the option (issue 16)
    assert "'--fetched-at'" in result.output
    assert "not an ISO 8601 time: 'yesterday'" in result.output
    assert "Traceback" not in result.output


def test_missing_file_is_one_clear_line(db_url, tmp_path):
    result = run_import(str(tmp_path / "nothing.warc"), "--db", db_url)
    assert result.exit_code == 1
    assert "cannot read" in result.output and "Traceback" not in result.output


def test_unreadable_warc_is_one_clear_line(db_url, archive_engine, tmp_path):
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(gzip.compress(b"this is not a WARC record\r\n\r\n"))
    result = run_import(str(broken), "--db", db_url)
    assert result.exit_code == 1
    assert result.output.startswith(f"newsarchive: {broken}:")
    assert len(result.output.strip().splitlines()) == 1


def test_import_refuses_a_database_not_at_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('0001')")
    engine.dispose()
    page = tmp_path / "page.html"
    page.write_bytes(b"<html></html>")
    result = run_import(
        str(page), "--url", SEED_URL, "--fetched-at", "2024-11-15T09:00:00Z", "--db", url
    )
    assert result.exit_code == 1
    assert f"run `newsarchive db upgrade --db {url}`" in result.output

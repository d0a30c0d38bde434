"""`newsarchive import` in batches: more pages than a batch, and a WARC broken part-way."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

from crawler.commands.maintenance import IMPORT_BATCH
from tests.support.import_files import run_import, table_counts, write_warc
from tests.support.storage_fixtures import SEED_URL, example_page

T0 = datetime(2024, 11, 15, tzinfo=UTC)


def records(count: int) -> list[tuple[str, str, bytes, int]]:
    """`count` fetches of the seed page a minute apart, each with its own chrome, edited before
    every tenth one."""
    raw, _, _ = example_page("seed-l3")
    found = []
    for n in range(count):
        chrome = f'<span class="num">{n + 2}</span>'.encode()
        body = raw.replace(b'<span class="num">1</span>', chrome)
        if n >= 10:
            body = body.replace("15일 업계".encode(), f"{n // 10}일 업계".encode())
        when = (T0 + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        found.append((SEED_URL, when, body, 200))
    return found


def test_import_of_more_pages_than_a_batch_counts_each_once_and_twice_changes_nothing(
    db_url, archive_engine, tmp_path
):
    count = IMPORT_BATCH * 2 + 5
    warc = tmp_path / "many.warc.gz"
    write_warc(warc, records(count), gz=True)
    first = run_import(str(warc), "--db", db_url)
    assert first.exit_code == 0, first.output
    assert f"imported {count} pages" in first.output
    edits = (count - 1) // 10
    assert f"1 new article, {edits} new version, {count - 1 - edits} unchanged" in first.output
    after_first = table_counts(db_url)
    assert after_first["captures"] == count
    second = run_import(str(warc), "--db", db_url)
    assert second.exit_code == 0, second.output
    assert f"{count} duplicate" in second.output
    assert table_counts(db_url) == after_first


def test_warc_broken_part_way_keeps_the_pages_read_before_the_break(
    db_url, archive_engine, tmp_path
):
    kept = IMPORT_BATCH + 3
    broken = tmp_path / "broken.warc.gz"
    write_warc(broken, records(kept), gz=True)
    # Each record is its own gzip member: a member that is no WARC record follows the last kept.
    with broken.open("ab") as output:
        output.write(gzip.compress(b"this is not a WARC record\r\n\r\n"))
    result = run_import(str(broken), "--db", db_url)
    assert result.exit_code == 1
    assert result.output.startswith(f"newsarchive: {broken}:")
    assert table_counts(db_url)["captures"] == kept


def test_warc_cut_inside_a_record_is_one_clear_line_and_keeps_what_came_before(
    db_url, archive_engine, tmp_path
):
    whole = tmp_path / "whole.warc"
    write_warc(whole, records(3), gz=False)
    data = whole.read_bytes()
    last_record = data.rindex(b"WARC/1.")
    cut = tmp_path / "cut.warc"
    # warcio fails on this with an AttributeError of its own, not one of its I/O errors.
    cut.write_bytes(data[: last_record + 100])
    result = run_import(str(cut), "--db", db_url)
    assert result.exit_code == 1
    assert result.output.startswith(f"newsarchive: {cut}:"), result.output
    assert "Traceback" not in result.output
    assert table_counts(db_url)["captures"] == 2

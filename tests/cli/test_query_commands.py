"""The read commands through the CLI: tables for people, JSON for machines, one-line errors."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import cli
from storage.db import make_session_factory, open_archive
from storage.export import record_from_csv_row
from storage.runs import finish_run, start_run
from tests.support.storage_fixtures import (
    OLDER_ID,
    PHOTO_ID,
    SEED_ID,
    fill,
    reading,
    seed_v1,
    seed_v2,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def archive(db_url) -> str:
    fill(db_url)
    return db_url


def run(db_url: str, *args: str):
    return CliRunner().invoke(cli, [*args, "--db", db_url], catch_exceptions=False)


def test_history_table_and_json(archive):
    table = run(archive, "history", SEED_ID)
    assert table.exit_code == 0
    assert "2024-11-15 00:00 UTC  2024-11-15 01:00 UTC" in table.output
    data = json.loads(run(archive, "history", SEED_ID, "--json").output)
    assert [v["version"] for v in data["versions"]] == [1, 2]
    assert data["versions"][1]["last_seen_at"] == "2024-11-15T05:00:00+00:00"


def test_show_json_of_version_one_is_the_first_record(archive):
    data = json.loads(run(archive, "show", SEED_ID, "--version", "1", "--json").output)
    assert data["version"] == 1 and "세계적 수준의" in data["body"][3]
    readable = run(archive, "show", f"https://www.newsis.com/view/{SEED_ID}").output
    assert "[4] " in readable and "세계 최고 수준의" in readable
    # As history shows them: to the minute, UTC.
    first = run(archive, "show", SEED_ID, "--version", "1").output
    assert "(seen 2024-11-15 00:00 UTC .. 2024-11-15 01:00 UTC)" in first


def test_diff_json_lists_the_changes(archive):
    changes = json.loads(run(archive, "diff", SEED_ID, "--json").output)
    assert [(c["field"], c["index"], c["change"]) for c in changes] == [
        ("headline", None, "changed"),
        ("body", 4, "changed"),
    ]


def test_diff_highlights_words_only_with_color(archive):
    plain = run(archive, "diff", SEED_ID, "--from", "1", "--to", "2")
    assert "paragraph 4 changed:" in plain.output and "\x1b[" not in plain.output
    colored = run(archive, "diff", SEED_ID, "--color")
    assert "\x1b[32m\x1b[1m세계 최고\x1b[0m" in colored.output


def test_search_json_and_filters(archive):
    hits = json.loads(run(archive, "search", "있다.", "--json").output)
    assert [h["article_id"] for h in hits] == [SEED_ID, PHOTO_ID, OLDER_ID]
    since = json.loads(run(archive, "search", "에서", "--since", "2024-11-15", "--json").output)
    assert [h["article_id"] for h in since] == [SEED_ID]
    until = json.loads(run(archive, "search", "에서", "--until", "2024-11-14", "--json").output)
    assert [h["article_id"] for h in until] == [PHOTO_ID, OLDER_ID]
    by_section = run(archive, "search", "에서", "--section", "포토", "--json").output
    assert [h["article_id"] for h in json.loads(by_section)] == [PHOTO_ID]
    limited = run(archive, "search", "있다.", "--limit", "1", "--json").output
    assert [h["article_id"] for h in json.loads(limited)] == [SEED_ID]


@pytest.mark.parametrize("hostile", ["' OR 1=1 --", "NEAR(", "*", "%_\\", '"'])
def test_search_survives_hostile_text(archive, hostile):
    result = run(archive, "search", hostile, "--json")
    assert result.exit_code == 0
    assert isinstance(json.loads(result.output), list)


def test_unknown_article_is_one_line_and_exit_1(archive):
    for command in ("history", "show", "diff"):
        result = run(archive, command, "NISX20991231_0000000001")
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [
            "newsarchive: no article NISX20991231_0000000001 in the archive"
        ]


def test_unknown_version_is_exit_1(archive):
    result = run(archive, "show", SEED_ID, "--version", "9")
    assert result.exit_code == 1 and "no version 9" in result.output


@pytest.mark.parametrize("bad", ["2024-13-01", "yesterday", "2024-11-15T10:00"])
def test_bad_dates_are_usage_errors(archive, bad):
    result = run(archive, "search", "에서", "--since", bad)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_empty_search_is_a_usage_error(archive):
    assert run(archive, "search", "  ").exit_code == 2


def test_export_jsonl_and_csv_to_files(archive, tmp_path):
    jsonl, table = tmp_path / "out.jsonl", tmp_path / "out.csv"
    assert run(archive, "export", "--all-versions", "-o", str(jsonl)).exit_code == 0
    assert (
        run(archive, "export", "--format", "csv", "--all-versions", "-o", str(table)).exit_code == 0
    )
    records = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines()]
    with table.open(encoding="utf-8", newline="") as handle:
        rows = [record_from_csv_row(row) for row in csv.DictReader(handle)]
    assert len(records) == 4 and rows == records
    current = run(archive, "export").stdout
    assert [json.loads(line)["version"] for line in current.splitlines()] == [1, 1, 2]


def test_an_export_that_fails_half_way_leaves_the_earlier_file_whole(
    archive, tmp_path, monkeypatch
):
    from storage import export as exports

    exports_dir = tmp_path / "exports"
    exports_dir.mkdir()
    target = exports_dir / "out.jsonl"
    assert run(archive, "export", "-o", str(target)).exit_code == 0
    earlier = target.read_bytes()

    def disk_fills_up(records, out):
        out.write("{\"half\": ")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exports, "write_jsonl", disk_fills_up)
    failed = run(archive, "export", "--all-versions", "-o", str(target))
    assert failed.exit_code == 1
    assert "No space left on device" in failed.output
    assert target.read_bytes() == earlier
    assert sorted(path.name for path in exports_dir.iterdir()) == ["out.jsonl"]


def test_export_warc_to_stdout(archive):
    result = CliRunner().invoke(cli, ["export", "--format", "warc", "--db", archive])
    assert result.exit_code == 0
    bodies = [
        record.content_stream().read()
        for record in ArchiveIterator(io.BytesIO(result.stdout_bytes))
        if record.rec_type == "response"
    ]
    assert len(bodies) == 6 and seed_v1() in bodies and seed_v2() in bodies


def test_stats_json_and_table(archive):
    numbers = json.loads(run(archive, "stats", "--json").output)
    assert (numbers["articles"], numbers["versions"], numbers["captures"]) == (3, 4, 6)
    assert "compression_ratio" in numbers
    assert "new_version  1" in run(archive, "stats").output


def test_stats_table_shows_the_last_run_to_the_minute(archive):
    engine = open_archive(archive, for_writing=True)
    try:
        with make_session_factory(engine)() as session:
            run_id = start_run(session, kind="import")
            finished = finish_run(session, run_id)
            started_at, finished_at = finished.started_at, finished.finished_at
    finally:
        engine.dispose()
    minute = "%Y-%m-%d %H:%M UTC"
    line = run(archive, "stats").output.splitlines()[-1]
    assert line.startswith(
        f"last run #{run_id} (import, finished) {started_at:{minute}} .. {finished_at:{minute}}:"
    ), line


def test_commands_run_in_a_subprocess_with_the_environment_variable(archive, tmp_path):
    env = {**os.environ, "NEWSARCHIVE_DB": archive, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "search", "엔비디아", "--json"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert [h["article_id"] for h in json.loads(result.stdout)] == [SEED_ID]
    missing = subprocess.run(
        [sys.executable, "-m", "crawler", "show", "NISX20991231_0000000001"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    assert missing.returncode == 1 and b"Traceback" not in missing.stderr


def test_search_takes_several_words_and_all_must_appear(archive):
    both = json.loads(run(archive, "search", "엔비디아", "손정의", "--json").output)
    assert [h["article_id"] for h in both] == [SEED_ID]
    assert json.loads(run(archive, "search", "엔비디아", "미세먼지", "--json").output) == []
    assert "must hold every one" in run(archive, "search", "--help").output


def test_search_prints_each_headline_once(archive):
    from storage.queries import show

    with reading(archive) as session:
        records = [show(session, article) for article in (SEED_ID, PHOTO_ID, OLDER_ID)]
    # Words of the headlines (the match in the headline) and of the bodies.
    queries = [word for record in records for word in record["headline"].split()[:4]]
    queries += [
        word for record in records for text in record["body"][:1] for word in text.split()[:3]
    ]
    for query in queries:
        output = run(archive, "search", query).stdout
        for record in records:
            if record["headline"] in output:
                assert output.count(record["headline"]) == 1, (query, output)


def test_diff_of_a_one_version_article_says_so(archive):
    for article in (PHOTO_ID, OLDER_ID):
        result = run(archive, "diff", article)
        assert result.exit_code == 0
        assert result.stdout == f"{article} has one version only: nothing to compare\n"
        assert json.loads(run(archive, "diff", article, "--json").stdout) == []

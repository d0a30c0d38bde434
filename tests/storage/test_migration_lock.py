"""Migrations take turns: upgrades and first writes started together all end well."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from crawler.archiving import ingest
from storage import db
from tests.support.storage_fixtures import example_page, fetched

REPO = Path(__file__).resolve().parents[2]
# A guard against a hung command, not a timing assertion.
COMMAND_TIMEOUT = 300
PROCESSES = 4
# Each process imports everything first, then waits for this moment: they start together.
START_DELAY = 4.0
KNOWN_ID = "NISX20241115_0002960118"  # examples/seed-l3
STARTER = (
    "import sys, time\n"
    "from crawler.cli import cli\n"
    "start_at = float(sys.argv[1])\n"
    "time.sleep(max(0.0, start_at - time.time()))\n"
    "cli.main(sys.argv[2:], prog_name='newsarchive')\n"
)


def run_together(commands: list[list[str]], cwd: Path) -> list[tuple[int, str, str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NEWSARCHIVE_DB", None)
    start_at = str(time.time() + START_DELAY)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, start_at, *command],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for command in commands
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=COMMAND_TIMEOUT)
        outcomes.append((process.returncode, out, err))
    return outcomes


def counts(url: str) -> dict[str, int]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("articles", "versions", "captures", "bodies")
            }
    finally:
        engine.dispose()


def at_head(url: str) -> bool:
    engine = db.make_engine(url)
    try:
        return db.schema_state(engine) == "head"
    finally:
        engine.dispose()


def fill_behind(url: str) -> dict[str, int]:
    """An archive with rows, taken back to revision 0006 (what a newsarchive upgrade meets)."""
    engine = db.open_archive(url, for_writing=True)
    try:
        with db.make_session_factory(engine)() as session:
            for hour, stem in enumerate(("seed-l3", "older-l2", "photo-item")):
                body, page_url, _ = example_page(stem)
                ingest(session, fetched(body, page_url, datetime(2024, 11, 15, hour, tzinfo=UTC)))
    finally:
        engine.dispose()
    rows = counts(url)
    db.downgrade(url, "0006")
    return rows


@pytest.mark.parametrize("start", ["empty", "behind"])
def test_upgrades_started_together_all_succeed(start: str, db_url: str, tmp_path: Path) -> None:
    rows = fill_behind(db_url) if start == "behind" else None
    outcomes = run_together([["db", "upgrade", "--db", db_url]] * PROCESSES, tmp_path)
    assert [code for code, _, _ in outcomes] == [0] * PROCESSES, outcomes
    assert all(err == "" for _, _, err in outcomes), outcomes
    assert at_head(db_url)
    if rows is not None:
        assert counts(db_url) == rows


def test_first_writes_to_an_empty_database_together_all_succeed(
    db_url: str, tmp_path: Path
) -> None:
    pages = []
    for number, stem in enumerate(("seed-l3", "older-l2", "photo-item", "seed-l3")):
        body, _url, _ = example_page(stem)
        page = tmp_path / f"{number}-{stem}.html"
        page.write_bytes(body)
        pages.append((page, _url))
    commands = [
        ["import", str(page), "--url", page_url, "--fetched-at",
         f"2024-11-15T0{number}:00:00+09:00", "--db", db_url]
        for number, (page, page_url) in enumerate(pages)
    ]
    outcomes = run_together(commands, tmp_path)
    assert [code for code, _, _ in outcomes] == [0] * len(commands), outcomes
    assert at_head(db_url)
    found = counts(db_url)
    assert found["articles"] == 3 and found["captures"] == 4

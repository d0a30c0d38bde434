"""Stored text and names reach a terminal without their control characters; progress on a TTY."""

from __future__ import annotations

import os
import pty
import random
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from crawler.cli import cli
from storage.db import make_session_factory, open_archive
from storage.models import Article, CrawlRun, Version
from tests.support.storage_fixtures import SEED_ID, SEED_URL, fill

REPO = Path(__file__).resolve().parents[2]
# What must never reach a terminal: C0 but tab and line feed, DEL, C1, bidi controls.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SEQUENCES = [
    "\x1b[31m",
    "\x1b]0;owned\x07",
    "\x1b]8;;http://evil.example\x1b\\",
    "\x9b2J",
    "\x9d0;title\x9c",
    "\x08\x08\x08",
    "\r",
    "\x07",
    "\x00",
    "\x7f",
    "\x1bc",
    "\u202e",
    "\u2066",
    "\u200f",
    "\x0b\x0c",
]


def hostile(rng: random.Random, text: str) -> str:
    """`text` with a few control sequences put in at random places."""
    for _ in range(3):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(SEQUENCES) + text[at:]
    return text


def poison(db_url: str, seed: int) -> None:
    """Control sequences in every stored text field a command prints."""
    rng = random.Random(seed)
    engine = open_archive(db_url, for_writing=True)
    try:
        with make_session_factory(engine)() as session:
            for version in session.query(Version):
                version.headline = hostile(rng, version.headline)
                version.section = hostile(rng, version.section or "사회")
                version.dateline = hostile(rng, version.dateline or "서울")
                version.subheadlines = [hostile(rng, t) for t in version.subheadlines]
                version.body = [hostile(rng, t) for t in version.body]
                version.reporters = [
                    {**r, "name": hostile(rng, r["name"]), "title": hostile(rng, r["title"])}
                    for r in version.reporters
                ]
                version.captions = [
                    {**c, "text": hostile(rng, c["text"] or ""),
                     "image_url": hostile(rng, c["image_url"] or "")}
                    for c in version.captions
                ]
            session.execute(update(Article).values(url=Article.url + rng.choice(SEQUENCES)))
            session.add(
                CrawlRun(
                    kind=hostile(rng, "crawl")[:20],
                    outcome=hostile(rng, "finished")[:20],
                    started_at=datetime(2024, 11, 16, tzinfo=UTC),
                )
            )
            session.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("seed", range(4))
def test_no_control_character_of_stored_text_or_names_reaches_the_output(tmp_path, seed):
    db = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    fill(db)
    poison(db, seed)
    rng = random.Random(seed)
    name = hostile(rng, "페이지.html").replace("\x00", "").replace("/", "_")
    page = tmp_path / name
    page.write_text("<html><body>없음</body></html>")
    commands = [
        ["history", SEED_ID],
        ["history", SEED_ID, "--json"],
        ["show", SEED_ID],
        ["show", SEED_ID, "--version", "1"],
        ["show", SEED_ID, "--json"],
        ["diff", SEED_ID],
        ["diff", SEED_ID, "--json"],
        ["search", "있다"],
        ["search", "있다", "--json"],
        ["stats"],
        ["history", hostile(rng, "NISX20991231_0000000001").replace("\x00", "")],
        ["export", "-o", str(tmp_path / name / "out.jsonl")],
        ["import", str(tmp_path / ("missing-" + name))],
        ["import", str(page)],
        ["parse", str(tmp_path / ("missing-" + name)), "--url", SEED_URL],
        ["parse", str(page), "--url", SEED_URL],
    ]
    for args in commands:
        if args[0] not in ("parse",):
            args = [*args, "--db", db]
        result = CliRunner().invoke(cli, args)
        shown = f"{args}: exit {result.exit_code}\n{result.output!r}"
        assert result.exception is None or isinstance(result.exception, SystemExit), shown
        assert not FORBIDDEN.search(result.stdout), shown
        assert not FORBIDDEN.search(result.stderr), shown


def test_db_urls_and_error_messages_are_printable(tmp_path):
    for sequence in SEQUENCES:
        if sequence == "\x00":
            continue
        folder = tmp_path / f"dir{sequence}x".replace("/", "_")
        folder.mkdir()
        result = CliRunner().invoke(cli, ["db", "upgrade", "--db", f"sqlite:///{folder}/a.db"])
        assert result.exit_code == 0, result.output
        assert not FORBIDDEN.search(result.output), repr(result.output)
        stats = CliRunner().invoke(cli, ["stats", "--db", f"sqlite:///{folder}/none/a.db"])
        assert stats.exit_code == 1 and not FORBIDDEN.search(stats.output), repr(stats.output)


# --- progress ---------------------------------------------------------------------------------


def run_with_stderr(args: list[str], *, terminal: bool, cwd: Path) -> tuple[int, str]:
    """Run `newsarchive ARGS` with stderr on a pseudo-terminal or on a pipe; (exit, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    command = [sys.executable, "-m", "crawler", *args]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=120, check=False)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower,
                                   env=env, cwd=cwd)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        returncode = process.wait(timeout=120)
    finally:
        os.close(leader)
    return returncode, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["export", "-o", "out.jsonl"], "exporting"),
        (["export", "--format", "warc", "-o", "out.warc.gz"], "exporting"),
        (["export", "--format", "csv", "--all-versions", "-o", "out.csv"], "exporting"),
        (["reparse", "--workers", "1"], "reparsing"),
    ],
)
def test_progress_shows_on_a_terminal_and_not_on_a_pipe(tmp_path, args, label):
    db = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    fill(db)
    code, shown = run_with_stderr([*args, "--db", db], terminal=True, cwd=tmp_path)
    assert code == 0, shown
    assert label in shown and re.search(r"\d+/\d+", shown), shown
    code, piped = run_with_stderr([*args, "--db", db], terminal=False, cwd=tmp_path)
    assert code == 0, piped
    assert label not in piped and "\r" not in piped, piped


def test_the_counter_of_unknown_length_shows_only_on_a_terminal():
    import io

    from crawler.commands.terminal import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with progress(None, "backfill", stream=stream) as bar:
            for _ in range(5):
                bar.update(1)
    assert terminal.getvalue().rstrip().endswith("backfill  5")
    assert pipe.getvalue() == ""


def test_crawl_and_import_count_their_pages_on_a_terminal_only(tmp_path):
    from crawler.localsite.server import NewsisSite

    with NewsisSite(seed=5, articles=30) as site:
        crawl = ["crawl", "--base-url", site.base_url, "--fast", "--since", "2024-11-14"]
        code, shown = run_with_stderr(
            [*crawl, "--db", f"sqlite:///{tmp_path / 'tty.sqlite3'}"], terminal=True, cwd=tmp_path
        )
        assert code == 0, shown
        assert re.search(r"fetched\s+\d+", shown), shown
        code, piped = run_with_stderr(
            [*crawl, "--db", f"sqlite:///{tmp_path / 'pipe.sqlite3'}"], terminal=False,
            cwd=tmp_path,
        )
        assert code == 0, piped
        assert "fetched " not in piped and "\r" not in piped, piped
    tty_db = f"sqlite:///{tmp_path / 'tty.sqlite3'}"
    code, _ = run_with_stderr(
        ["export", "--format", "warc", "-o", "all.warc.gz", "--db", tty_db], terminal=False,
        cwd=tmp_path,
    )
    assert code == 0
    imported = f"sqlite:///{tmp_path / 'imported.sqlite3'}"
    code, shown = run_with_stderr(["import", "all.warc.gz", "--db", imported], terminal=True,
                                  cwd=tmp_path)
    assert code == 0, shown
    assert re.search(r"importing\s+\d+", shown), shown
    code, piped = run_with_stderr(["import", "all.warc.gz", "--db", imported], terminal=False,
                                  cwd=tmp_path)
    assert code == 0, piped
    assert "importing" not in piped and "\r" not in piped, piped

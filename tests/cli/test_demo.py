"""`newsarchive demo`: two crawls of the local Newsis-like and Yonhap-like sites, edits caught as
versions, deletions by their revisits, an old article's edit through the sitemap, history and
diff."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crawler.commands.demo import DEMO_APPLICATION_ID
from tests.support.crawl_support import rows, scalar

ROOT = Path(__file__).resolve().parents[2]
# A guard against a hung demo, not a timing assertion.
DEMO_TIMEOUT = 600
_ARTICLE_ID = r"NIS[XI]\d{8}_\d{10}|A[A-Z]{2}\d{17}|P[A-Z]{2}\d{17}"
_CHANGE_RE = re.compile(
    rf"^  ({_ARTICLE_ID})  (headline edited|paragraph edited|caption edited|"
    r"photo \?rnd= stamp only|touched \(수정 time only\)|deleted|old article edited|"
    r"Yonhap: paragraph edited|Yonhap: deleted)"
    r"\s+-> (\w+), (\d+) versions?$",
    re.MULTILINE,
)
_EVENT_RE = re.compile(rf"^    \S+ \S+ KST  (\w+)\s+({_ARTICLE_ID})  ", re.MULTILINE)
_COUNTS_RE = re.compile(
    r"The archive holds (\d+) articles \(newsis (\d+), yonhap (\d+)\), (\d+) versions,"
    r" (\d+) captures\."
)


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "demo", *args],
        capture_output=True, text=True, timeout=DEMO_TIMEOUT, check=False, cwd=ROOT,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    # A space in the path: the demo's suggested commands must quote it.
    db_path = tmp_path_factory.mktemp("demo archive") / "demo.sqlite3"
    result = run_demo("--db", str(db_path))
    return db_path, result


def changes(output: str) -> dict[str, tuple[str, str, int]]:
    """The demo's per-article report: change -> (article id, capture outcome, versions)."""
    return {
        change: (article_id, outcome, int(versions))
        for article_id, change, outcome, versions in _CHANGE_RE.findall(output)
    }


def test_demo_exits_zero(demo) -> None:
    _, result = demo
    assert result.returncode == 0, result.stderr


def test_demo_shows_edits_as_second_versions_and_rnd_bump_as_none(demo) -> None:
    _, result = demo
    found = changes(result.stdout)
    assert set(found) == {
        "headline edited", "paragraph edited", "caption edited", "photo ?rnd= stamp only",
        "touched (수정 time only)", "deleted", "old article edited",
        "Yonhap: paragraph edited", "Yonhap: deleted",
    }
    for edit in ("headline edited", "paragraph edited", "caption edited", "old article edited",
                 "Yonhap: paragraph edited"):
        assert found[edit][1:] == ("new_version", 2)
    assert found["Yonhap: deleted"][1:] == ("deleted", 1)
    assert found["Yonhap: deleted"][0].startswith(("A", "P"))
    assert found["photo ?rnd= stamp only"][1:] == ("unchanged", 1)
    assert found["touched (수정 time only)"][1:] == ("unchanged", 1)
    assert found["deleted"][1:] == ("deleted", 1)


def test_demo_names_the_old_article_caught_through_the_sitemap_and_the_deletion(demo) -> None:
    db_path, result = demo
    found = changes(result.stdout)
    old, deleted = found["old article edited"][0], found["deleted"][0]
    assert f"Caught through the sitemap: {old}, published " in result.stdout
    assert f"Caught by its due revisit: {deleted}, " in result.stdout
    # Old: published 8+ days before the second crawl, whose schedule did not make it due.
    [(published, next_check, started)] = rows(
        db_path,
        "SELECT a.published_at, a.next_check_at, r.started_at FROM articles a, crawl_runs r"
        " WHERE a.article_id = ? AND r.crawl_run_id = 2",
        (old,),
    )
    assert datetime.fromisoformat(started) - datetime.fromisoformat(published) > timedelta(8)
    assert datetime.fromisoformat(next_check) > datetime.fromisoformat(started)
    assert scalar(db_path, "SELECT deleted_at FROM articles WHERE article_id = ?", (deleted,))


def test_demo_lists_the_second_runs_events_as_the_archive_holds_them(demo) -> None:
    db_path, result = demo
    printed = sorted(_EVENT_RE.findall(result.stdout))
    stored = sorted(rows(db_path, "SELECT kind, article_id FROM events WHERE crawl_run_id = 2"))
    assert printed == stored
    found = changes(result.stdout)
    assert ("deleted", found["deleted"][0]) in printed
    assert ("touched", found["touched (수정 time only)"][0]) in printed
    assert ("new_version", found["old article edited"][0]) in printed
    assert ("deleted", found["Yonhap: deleted"][0]) in printed
    assert ("new_version", found["Yonhap: paragraph edited"][0]) in printed


def test_demo_ends_with_the_browser_hint(demo) -> None:
    db_path, result = demo
    last = result.stdout.rstrip().splitlines()[-1]
    hint = f"newsarchive serve --db {shlex.quote(f'sqlite:///{db_path}')}"
    assert last == f"See it in your browser: {hint}  (http://127.0.0.1:8000)"


def test_demo_history_lists_two_versions_of_the_edited_article(demo) -> None:
    _, result = demo
    article_id = changes(result.stdout)["headline edited"][0]
    history = result.stdout.split(f"History of {article_id}:", 1)[1].split("What changed", 1)[0]
    assert re.search(r"^\s+v?1\b", history, re.MULTILINE), history
    assert re.search(r"^\s+v?2\b", history, re.MULTILINE), history
    assert "(종합2보)" in history


def test_demo_diff_shows_the_headline_change(demo) -> None:
    _, result = demo
    article_id = changes(result.stdout)["headline edited"][0]
    diff = result.stdout.split(f"What changed in {article_id}:", 1)[1].split("Done in", 1)[0]
    removed = [line for line in diff.splitlines() if re.match(r"^\s*-(?!--)", line)]
    added = [line for line in diff.splitlines() if re.match(r"^\s*\+(?!\+\+)", line)]
    assert removed and added, diff
    assert any("(종합2보)" in line for line in added)
    assert not any("(종합2보)" in line for line in removed)


def test_demo_database_holds_what_the_demo_says(demo) -> None:
    db_path, result = demo
    articles, newsis, yonhap, versions, captures = map(
        int, _COUNTS_RE.search(result.stdout).groups()
    )
    assert scalar(db_path, "SELECT count(*) FROM articles") == articles == newsis + yonhap
    for publisher, count in (("newsis", newsis), ("yonhap", yonhap)):
        query = "SELECT count(*) FROM articles WHERE publisher = ?"
        assert count > 0 and scalar(db_path, query, (publisher,)) == count
    assert scalar(db_path, "SELECT count(*) FROM versions") == versions
    assert scalar(db_path, "SELECT count(*) FROM captures") == captures
    # Five edits: five articles with two versions, every other article with one.
    assert versions == articles + 5
    for article_id, _, count in changes(result.stdout).values():
        query = "SELECT count(*) FROM versions WHERE article_id = ?"
        assert scalar(db_path, query, (article_id,)) == count
    headline_id = changes(result.stdout)["headline edited"][0]
    headlines = rows(
        db_path,
        "SELECT headline FROM versions WHERE article_id = ? ORDER BY version_no",
        (headline_id,),
    )
    assert not headlines[0][0].endswith("(종합2보)")
    assert headlines[1][0].endswith("(종합2보)")


def test_every_command_the_demo_suggests_runs(demo) -> None:
    _, result = demo
    suggested = result.stdout.split("Try next:", 1)[1]
    commands = [
        shlex.split(line.split(">", 1)[0])  # `export … > articles.jsonl`: stdout is kept here
        for line in suggested.splitlines()
        if line.strip().startswith("newsarchive ")
    ]
    assert {command[1] for command in commands} == {
        "changes", "history", "show", "diff", "search", "export",
    }
    for command in commands:
        run = subprocess.run(
            [sys.executable, "-m", "crawler", *command[1:]],
            capture_output=True, text=True, timeout=DEMO_TIMEOUT, check=False, cwd=ROOT,
        )
        assert run.returncode == 0, (command, run.stderr)
        assert run.stdout.strip(), command


def test_demo_refuses_to_overwrite_a_file_that_is_not_a_demo(tmp_path: Path) -> None:
    precious = tmp_path / "mine.sqlite3"
    with sqlite3.connect(precious) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('keep me')")
    connection.close()
    before = precious.read_bytes()
    result = run_demo("--db", str(precious))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not a demo database" in result.stderr and "--fresh" in result.stderr
    assert precious.read_bytes() == before


def test_demo_replaces_its_own_earlier_file(tmp_path: Path) -> None:
    db_path = tmp_path / "demo.sqlite3"
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
        connection.execute("CREATE TABLE leftover (x INTEGER)")
    connection.close()
    result = run_demo("--db", str(db_path))
    assert result.returncode == 0, result.stderr
    tables = {row[0] for row in rows(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "leftover" not in tables
    assert "versions" in tables

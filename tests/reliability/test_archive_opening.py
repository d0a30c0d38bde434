"""Opening an archive: readers never create or change one, writers are told when they cannot."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from crawler.archiving import ingest
from storage import db
from tests.support.processes import run_cli
from tests.support.storage_fixtures import example_page, fetched

KNOWN_ID = "NISX20241115_0002960118"  # examples/seed-l3
EXAMPLES = ("seed-l3", "older-l2", "photo-item")

QUERIES = {
    "stats": ("stats",),
    "history": ("history", KNOWN_ID),
    "show": ("show", KNOWN_ID),
    "diff": ("diff", KNOWN_ID),
    "search": ("search", "엔비디아"),
    "export": ("export",),
    "db-current": ("db", "current"),
}
# Archive names a slip of the keyboard makes: other names, other folders, odd characters.
MISSING_NAMES = (
    "typo.sqlite3",
    "newsarchive.sqlite",
    "archive with spaces.sqlite3",
    "뉴스아카이브.sqlite3",
    "odd#name [1] ~.sqlite3",
    "sub/archive.sqlite3",
)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: its sha256 and modification time, to show nothing changed."""
    return {
        str(path.relative_to(root)): (
            hashlib.sha256(path.read_bytes()).digest(), path.stat().st_mtime_ns
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def build_archive(path: Path) -> None:
    engine = db.open_archive(f"sqlite:///{path}", for_writing=True)
    try:
        with db.make_session_factory(engine)() as session:
            for stem in EXAMPLES:
                body, url, _ = example_page(stem)
                ingest(session, fetched(body, url, datetime(2024, 11, 15, 1, tzinfo=UTC)))
    finally:
        engine.dispose()


# --- a missing archive ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", MISSING_NAMES)
@pytest.mark.parametrize("query", sorted(QUERIES))
def test_a_query_on_a_missing_archive_fails_naming_it_and_creates_nothing(
    query: str, name: str, tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    before = tree(tmp_path)
    result = run_cli(*QUERIES[query], "--db", f"sqlite:///{name}", cwd=tmp_path)
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert f"no archive at {name}" in result.stderr
    assert tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub"]


def test_a_query_on_the_default_archive_that_is_missing_creates_nothing(tmp_path: Path) -> None:
    result = run_cli("stats", cwd=tmp_path)
    assert result.returncode == 1
    assert f"no archive at {db.DEFAULT_DB_FILE}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_reader_never_sets_up_an_empty_sqlite_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    result = run_cli("stats", "--db", f"sqlite:///{empty}", cwd=tmp_path)
    assert result.returncode == 1
    assert "no archive tables yet" in result.stderr
    assert empty.stat().st_size == 0


# --- a read-only archive -------------------------------------------------------------------------


def test_a_reader_opens_sqlite_read_only(tmp_path: Path) -> None:
    # Root writes through file modes: what keeps a reader from writing is its read-only open.
    path = tmp_path / "archive.sqlite3"
    build_archive(path)
    engine = db.open_archive(f"sqlite:///{path}", for_writing=False)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM articles")).scalar() == 3
            with pytest.raises(OperationalError, match="readonly database"):
                connection.execute(text("DELETE FROM articles"))
    finally:
        engine.dispose()


@pytest.fixture(params=["file", "directory", "file-and-directory"])
def read_only_archive(request, tmp_path: Path) -> Iterator[Path]:
    """An archive made immutable (chattr +i): even root cannot write it, as a non-root user
    could not write a file of mode 0444 or a directory of mode 0555."""
    folder = tmp_path / "archive"
    folder.mkdir()
    path = folder / "archive.sqlite3"
    build_archive(path)
    locked = {"file": [path], "directory": [folder]}.get(request.param, [path, folder])
    done = subprocess.run(["chattr", "+i", *map(str, locked)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not available here: {done.stderr!r}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", *map(str, locked)], check=True)


def test_queries_answer_from_a_read_only_archive_and_leave_it_untouched(
    read_only_archive: Path, tmp_path: Path
) -> None:
    folder = read_only_archive.parent
    before = tree(folder)
    url = f"sqlite:///{read_only_archive}"
    stats = run_cli("stats", "--json", "--db", url, cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["articles"] == 3
    for query in sorted(QUERIES):
        result = run_cli(*QUERIES[query], "--db", url, cwd=tmp_path)
        assert result.returncode == 0, (query, result.stderr)
        assert "newsarchive:" not in result.stderr, (query, result.stderr)
    assert KNOWN_ID in run_cli("history", KNOWN_ID, "--db", url, cwd=tmp_path).stdout
    assert "(head)" in run_cli("db", "current", "--db", url, cwd=tmp_path).stdout
    after = tree(folder)
    assert after[read_only_archive.name] == before[read_only_archive.name]


def test_writing_commands_on_a_read_only_archive_say_it_is_read_only(
    read_only_archive: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{read_only_archive}"
    page = tmp_path / "page.html"
    page.write_bytes(example_page("seed-l3")[0])
    writers = {
        "import": ("import", str(page), "--url", f"https://www.newsis.com/view/{KNOWN_ID}",
                   "--fetched-at", "2024-11-16T07:00:00+09:00"),
        "db-upgrade": ("db", "upgrade"),
        "reparse": ("reparse",),
        # Its lock file sits beside the archive: the archive is named, not the lock.
        "crawl": ("crawl", "--base-url", "http://127.0.0.1:9", "--fast"),
    }
    before = tree(read_only_archive.parent)
    for name, args in writers.items():
        result = run_cli(*args, "--db", url, cwd=tmp_path)
        assert result.returncode == 1, (name, result)
        assert len(result.stderr.splitlines()) == 1, (name, result.stderr)
        assert f"{read_only_archive} is read-only" in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr
    assert tree(read_only_archive.parent)[read_only_archive.name] == before[read_only_archive.name]


# --- an empty database ---------------------------------------------------------------------------


def test_a_writing_command_sets_up_an_empty_database(db_url: str, tmp_path: Path) -> None:
    # A new PostgreSQL database, like a new SQLite file, needs no `db upgrade` first.
    page = tmp_path / "page.html"
    page.write_bytes(example_page("seed-l3")[0])
    result = run_cli(
        "import", str(page), "--url", f"https://www.newsis.com/view/{KNOWN_ID}",
        "--fetched-at", "2024-11-16T07:00:00+09:00", "--db", db_url, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "1 new article" in result.stdout
    engine = db.open_archive(db_url, for_writing=False)
    try:
        assert db.schema_state(engine) == "head"
    finally:
        engine.dispose()


def test_an_older_schema_still_needs_db_upgrade(db_url: str, tmp_path: Path) -> None:
    db.upgrade(db_url, "0006")
    result = run_cli("reparse", "--db", db_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "older schema revision" in result.stderr
    engine = db.make_engine(db_url)
    try:
        assert db.current_revision(engine) == "0006"
    finally:
        engine.dispose()

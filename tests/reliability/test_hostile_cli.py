"""Bad command-line input gets one clear line and no traceback; crawls never leave newsis.com."""

from __future__ import annotations

import gzip
import os
import re
import sqlite3
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from crawler.archiving import ingest
from crawler.localsite.server import NewsisSite
from crawler.publishers.newsis.discovery import article_id_of_link
from storage.db import make_session_factory, open_archive
from tests.support.paths import REPO_ROOT
from tests.support.processes import COMMAND_TIMEOUT, newsarchive, run_cli
from tests.support.storage_fixtures import example_page, fetched

KNOWN_ID = "NISX20241115_0002960118"  # examples/seed-l3
UNKNOWN_ID = "NISX20991231_0000000001"
# click's own usage-error frame around its single "Error: …" line (exit code 2).
CLICK_FRAME = re.compile(r"^(Usage: .*|Try '.*' for help\.|)$")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not CLICK_FRAME.match(line)]


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    shown = f"exit {result.returncode}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.returncode != 0, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.stdout == "", shown
    assert len(error_lines(result.stderr)) == 1, shown
    if result.returncode != 2:  # click's usage errors keep their frame; ours are one line
        assert len(result.stderr.splitlines()) == 1, shown


# --- a real archive and the bad files --------------------------------------------------------


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> dict[str, Any]:
    """A small archive (the example pages), plus files and paths that are bad in some way."""
    root = tmp_path_factory.mktemp("hostile_cli")
    archive = root / "archive.sqlite3"
    engine = open_archive(f"sqlite:///{archive}", for_writing=True)
    from datetime import UTC, datetime

    with make_session_factory(engine)() as session:
        for stem in ("seed-l3", "older-l2", "photo-item"):
            body, url, _ = example_page(stem)
            ingest(session, fetched(body, url, datetime(2024, 11, 15, 1, tzinfo=UTC)))
    engine.dispose()
    page = root / "seed-l3.html"
    page.write_bytes(example_page("seed-l3")[0])
    (root / "not-found.html").write_bytes(example_page("not-found")[0])
    (root / "binary.html").write_bytes(bytes(range(256)) * 64)
    (root / "corrupt.warc.gz").write_bytes(gzip.compress(b"WARC/1.0\r\nnonsense\r\n") + b"\x00junk")
    (root / "random.warc").write_bytes(os.urandom(4096))
    (root / "a-directory").mkdir()
    (root / "a-file").write_text("not a directory")
    loop = root / "loop.html"
    loop.symlink_to(loop)
    (root / "text.sqlite3").write_text("this is not a database\n" * 100)
    return {"root": root, "db": f"sqlite:///{archive}", "archive": archive}


def fill(args: tuple[str, ...], place: dict[str, Any]) -> list[str]:
    root = place["root"]
    values = {
        "{db}": place["db"],
        "{root}": str(root),
        "{page}": str(root / "seed-l3.html"),
        "{dir}": str(root / "a-directory"),
        "{file}": str(root / "a-file"),
    }
    filled = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace(key, value)
        filled.append(arg)
    return filled


URL = f"https://www.newsis.com/view/{KNOWN_ID}"

BAD_INPUTS: dict[str, tuple[str, ...]] = {
    # parse: unreadable PAGE, pages that are not articles, bad capture times
    "parse-missing-file": ("parse", "{root}/nothing-here.html", "--url", URL),
    "parse-directory-as-page": ("parse", "{dir}", "--url", URL),
    "parse-symlink-loop": ("parse", "{root}/loop.html", "--url", URL),
    "parse-unreadable-proc-file": ("parse", "/proc/self/mem", "--url", URL),
    "parse-not-an-article": ("parse", "{root}/not-found.html", "--url", URL),
    "parse-binary-file": ("parse", "{root}/binary.html", "--url", URL),
    "parse-bad-date": ("parse", "{page}", "--url", URL, "--fetched-at", "2024-13-45T00:00+09:00"),
    "parse-date-without-offset": ("parse", "{page}", "--url", URL, "--fetched-at", "2024-11-15"),
    "parse-date-words": ("parse", "{page}", "--url", URL, "--fetched-at", "yesterday"),
    # history / show / diff: ids the archive does not hold, versions it does not have
    "history-unknown-id": ("history", UNKNOWN_ID, "--db", "{db}"),
    "history-not-an-id": ("history", "nope", "--db", "{db}"),
    "history-injection-id": ("history", "x' OR '1'='1'; DROP TABLE articles; --", "--db", "{db}"),
    "history-huge-id": ("history", "N" * 20_000, "--db", "{db}"),
    "show-unknown-id": ("show", UNKNOWN_ID, "--db", "{db}"),
    "show-version-zero": ("show", KNOWN_ID, "--version", "0", "--db", "{db}"),
    "show-missing-version": ("show", KNOWN_ID, "--version", "99", "--db", "{db}"),
    "diff-unknown-id": ("diff", UNKNOWN_ID, "--db", "{db}"),
    "diff-backwards": ("diff", KNOWN_ID, "--from", "3", "--to", "1", "--db", "{db}"),
    # search / export / reparse: bad dates and limits, unwritable output
    "search-bad-since": ("search", "뉴시스", "--since", "2024-13-01", "--db", "{db}"),
    "search-bad-until": ("search", "뉴시스", "--until", "tomorrow", "--db", "{db}"),
    "search-zero-limit": ("search", "뉴시스", "--limit", "0", "--db", "{db}"),
    "search-since-after-until": (
        "search", "뉴시스", "--since", "2024-11-16", "--until", "2024-11-15", "--db", "{db}"),
    "export-bad-since": ("export", "--since", "2024-02-30", "--db", "{db}"),
    "export-to-directory": ("export", "-o", "{dir}", "--db", "{db}"),
    "export-to-missing-dir": ("export", "-o", "{root}/no/such/dir/out.jsonl", "--db", "{db}"),
    "reparse-bad-since": ("reparse", "--since", "last week", "--db", "{db}"),
    # import: files that are missing, a directory, corrupt, or lack their metadata
    "import-missing-file": ("import", "{root}/nothing.warc.gz", "--db", "{db}"),
    "import-directory": ("import", "{dir}", "--db", "{db}"),
    "import-corrupt-warc-gz": ("import", "{root}/corrupt.warc.gz", "--db", "{db}"),
    "import-random-warc": ("import", "{root}/random.warc", "--db", "{db}"),
    "import-html-without-url": ("import", "{page}", "--db", "{db}"),
    "import-html-bad-date": (
        "import", "{page}", "--url", URL, "--fetched-at", "2024-11-15T07:00", "--db", "{db}"),
    "import-html-future-date": (
        "import", "{page}", "--url", URL, "--fetched-at", "2204-11-15T07:00+09:00", "--db", "{db}"),
    # --db: unwritable path, a directory, a file that is no database, unknown schemes
    "db-under-a-file-stats": ("stats", "--db", "sqlite:///{file}/archive.sqlite3"),
    "db-under-a-file-import": (
        "import", "{page}", "--url", URL, "--fetched-at", "2024-11-15T07:00+09:00",
        "--db", "sqlite:///{file}/archive.sqlite3"),
    "db-under-a-file-upgrade": ("db", "upgrade", "--db", "sqlite:///{file}/archive.sqlite3"),
    "db-directory-stats": ("stats", "--db", "sqlite:///{dir}"),
    "db-directory-history": ("history", KNOWN_ID, "--db", "sqlite:///{dir}"),
    "db-not-a-database-stats": ("stats", "--db", "sqlite:///{root}/text.sqlite3"),
    "db-not-a-database-search": ("search", "x", "--db", "sqlite:///{root}/text.sqlite3"),
    "db-not-a-database-upgrade": ("db", "upgrade", "--db", "sqlite:///{root}/text.sqlite3"),
    "db-not-a-database-import": (
        "import", "{page}", "--url", URL, "--fetched-at", "2024-11-15T07:00+09:00",
        "--db", "sqlite:///{root}/text.sqlite3"),
    "db-unknown-scheme-stats": ("stats", "--db", "foo://bar/baz"),
    "db-driver-missing-history": ("history", KNOWN_ID, "--db", "mysql://u@127.0.0.1/x"),
    "db-not-a-url-upgrade": ("db", "upgrade", "--db", "not a url at all"),
    "db-http-url-export": ("export", "--db", "http://www.newsis.com/"),
    "db-unknown-scheme-crawl": (
        "crawl", "--db", "foo://bar", "--base-url", "http://127.0.0.1:1", "--revisit", "none"),
    # crawl: bad options
    "crawl-bad-since": ("crawl", "--db", "{db}", "--since", "2024-02-30"),
    "crawl-javascript-base-url": ("crawl", "--db", "{db}", "--base-url", "javascript:alert(1)"),
    "crawl-file-base-url": ("crawl", "--db", "{db}", "--base-url", "file:///etc/passwd"),
}

# Search text is data, never syntax: each of these finds what it finds (or nothing) and the
# archive is unchanged afterwards.
ODD_SEARCHES = (
    "'; DROP TABLE versions; --",
    "%",
    "_",
    '"',
    "NEAR(a b)",
    "a OR b AND NOT c*",
    "\\",
    "{headline}: 뉴시스 ^ -",
)


# An import that reads a file names each record it loses (one line each) and always says, on
# stdout, how many pages it stored: several lines, still no traceback.
IMPORTS_OF_DAMAGED_FILES = frozenset({"import-corrupt-warc-gz"})


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_one_clear_line_and_no_traceback(case: str, place) -> None:
    result = run_cli(*fill(BAD_INPUTS[case], place), cwd=place["root"])
    if case not in IMPORTS_OF_DAMAGED_FILES:
        assert_clean_failure(result)
        return
    shown = f"exit {result.returncode}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr, shown
    assert result.stdout.startswith("imported 0 pages") and result.stdout.count("\n") == 1, shown
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("newsarchive: ") for line in lines), shown
    assert "record 1 at offset 0" in lines[0] and "not imported" in lines[-1], shown


def test_a_file_path_for_db_is_refused_with_the_url_that_names_it(place) -> None:
    # The archive exists: a path is still not taken as one, and the error says how to name it.
    result = run_cli("history", KNOWN_ID, "--db", "archive.sqlite3", cwd=place["root"])
    assert_clean_failure(result)
    assert "sqlite:///archive.sqlite3" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("export",),
        ("export", "--format", "csv"),
        ("search", "엔비디아"),  # in seed-l3's headline
        ("history", KNOWN_ID),
        ("show", KNOWN_ID),
        ("stats",),
    ],
)
def test_output_to_a_reader_that_left_ends_quietly(command: tuple[str, ...], place) -> None:
    """`newsarchive export | head`: the pipe's reader has gone before the first write."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        result = subprocess.run(
            newsarchive(*command, "--db", place["db"]),
            stdout=writer, stderr=subprocess.PIPE, text=True, env=env, cwd=place["root"],
            timeout=COMMAND_TIMEOUT, check=False,
        )
    finally:
        os.close(writer)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""


def test_odd_search_strings_are_searched_for_not_executed(place) -> None:
    before = table_counts(place["archive"])
    for text in ODD_SEARCHES:
        result = run_cli("search", text, "--json", "--db", place["db"], cwd=place["root"])
        shown = f"{text!r}: exit {result.returncode}, stderr {result.stderr!r}"
        assert "Traceback" not in result.stdout + result.stderr, shown
        if result.returncode == 0:
            assert result.stderr == "", shown
        else:
            assert_clean_failure(result)
    assert table_counts(place["archive"]) == before


def table_counts(archive: Path) -> dict[str, int]:
    connection = sqlite3.connect(archive)
    try:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%search%'"
            )
        ]
        return {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in names}
    finally:
        connection.close()


def test_bad_inputs_cover_every_kind_the_issue_names() -> None:
    kinds = ("unknown-id", "bad-", "injection", "missing-file", "unreadable", "directory",
             "not-a-database", "unknown-scheme", "under-a-file")
    assert all(any(kind in case for case in BAD_INPUTS) for kind in kinds)
    assert len(BAD_INPUTS) + len(ODD_SEARCHES) >= 50


# --- links that leave newsis.com --------------------------------------------------------------

FAKE_IDS = [f"NISX20241115_99999999{n:02d}" for n in range(20)]


def offsite_links(trap: str) -> list[str]:
    """Feed links that name an article but lead elsewhere (trap = http://127.0.0.2:PORT)."""
    host_port = trap.removeprefix("http://")
    ids = iter(FAKE_IDS)
    return [
        f"{trap}/view/{next(ids)}",
        f"//{host_port}/view/{next(ids)}",
        f"http://www.newsis.com@{host_port}/view/{next(ids)}",
        f"http://{host_port}/view/?id={next(ids)}",
        f"{trap}/redirect?to=https://www.newsis.com/view/{next(ids)}",
        f"https://evil.example/view/{next(ids)}",
        f"https://www.newsis.com.evil.example/view/{next(ids)}",
        f"https://newsis.com.evil.example/ar_detail/view.html?ar_id={next(ids)}",
        f"javascript:location='https://www.newsis.com/view/{next(ids)}'",
        f"JavaScript:window.open('/view/{next(ids)}')",
        f"file:///view/{next(ids)}",
        f"file://www.newsis.com/view/{next(ids)}",
        f"data:text/html,<a href=https://www.newsis.com/view/{next(ids)}>x</a>",
        f"ftp://www.newsis.com/view/{next(ids)}",
        f"https://www.newsis.com/view/{next(ids)}?" + "a" * 3000,
    ]


@pytest.mark.parametrize("link", offsite_links("http://127.0.0.2:8080"))
def test_link_filter_refuses_links_that_leave_newsis(link: str) -> None:
    assert article_id_of_link(link) is None


@pytest.mark.parametrize(
    "link",
    [
        f"https://www.newsis.com/view/{KNOWN_ID}",
        f"http://newsis.com/view/?id={KNOWN_ID}&cID=10201",
        f"https://m.newsis.com/view.html?ar_id={KNOWN_ID}",
        f"/view/{KNOWN_ID}",
    ],
)
def test_link_filter_keeps_newsis_article_links(link: str) -> None:
    assert article_id_of_link(link) == KNOWN_ID


class _Trap(ThreadingHTTPServer):
    daemon_threads = True


class _TrapHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class HostileFeedSite(NewsisSite):
    """The local site, whose feeds also list offsite links and one of whose articles
    redirects to another host."""

    def __init__(self, *args: Any, trap: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trap = trap
        self.redirected_id = next(a.article_id for a in self.live_articles()
                                  if not a.is_photo_item)

    def respond(self, method: str, raw_path: str, headers: Any):
        if raw_path.startswith(f"/view/{self.redirected_id}"):
            return 301, {"Location": f"{self.trap}/view/{self.redirected_id}"}, b""
        status, answer_headers, body = super().respond(method, raw_path, headers)
        if raw_path.startswith("/RSS/") and status == 200:
            items = "".join(
                f"<item><title>offsite</title><link>{escape(link)}</link></item>\n"
                for link in offsite_links(self.trap)
            )
            body = body.replace(b"</channel>", items.encode() + b"</channel>")
        return status, answer_headers, body


def test_crawl_never_contacts_another_host(tmp_path: Path) -> None:
    trap = _Trap(("127.0.0.2", 0), _TrapHandler)
    trap.hits = []  # type: ignore[attr-defined]
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    trap_url = f"http://127.0.0.2:{trap.server_address[1]}"
    try:
        with HostileFeedSite(seed=41, articles=20, trap=trap_url) as site:
            db = tmp_path / "archive.sqlite3"
            result = run_cli(
                "crawl", "--db", f"sqlite:///{db}", "--base-url", site.base_url, "--fast"
            )
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.stderr
            paths = [path for _, path, _ in site.requests]
            live = {a.article_id for a in site.live_articles()}
            redirected = site.redirected_id
    finally:
        trap.shutdown()
        trap.server_close()
    assert trap.hits == []  # type: ignore[attr-defined]
    assert not [path for path in paths if any(fake in path for fake in FAKE_IDS)]
    fetched_ids = {m.group(0) for path in paths if (m := re.search(r"NIS[XI]\d{8}_\d{10}", path))}
    assert fetched_ids <= live
    connection = sqlite3.connect(db)
    try:
        stored = {row[0] for row in connection.execute("SELECT article_id FROM captures")}
        redirect = connection.execute(
            "SELECT outcome, fetch_error FROM captures WHERE article_id = ?", (redirected,)
        ).fetchall()
        versions = connection.execute(
            "SELECT count(*) FROM versions WHERE article_id = ?", (redirected,)
        ).fetchone()[0]
    finally:
        connection.close()
    assert stored == live
    # The article whose page redirects off the site: one failed capture saying so, no version.
    assert len(redirect) == 1 and redirect[0][0] == "failed", redirect
    assert "another site" in redirect[0][1] and versions == 0, redirect

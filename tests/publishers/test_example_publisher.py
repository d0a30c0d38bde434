"""The third-party publisher of docs/PUBLISHERS.md installs as a package and parses its pages.

It is installed with `pip install --target` into a temporary folder, seen through PYTHONPATH by
a subprocess: the test venv is left as it was. It crawls too: `newsarchive crawl --publisher
example` against a tiny local copy of its site (its feed and page).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.crawl_support import rows
from tests.support.paths import REPO_ROOT
from tests.support.static_site import StaticSite

EXAMPLE = REPO_ROOT / "docs" / "example_publisher"
URL = "https://news.example.org/articles/EX-000001"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    # Built from a copy: a build leaves build/ and *.egg-info beside the sources.
    source = tmp_path_factory.mktemp("source") / "example_publisher"
    shutil.copytree(EXAMPLE, source)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(source)],
        check=True, capture_output=True, timeout=300,
    )
    return target


def run(plugin_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
        timeout=120,
    )


def test_the_installed_example_is_found_beside_the_shipped_publishers(plugin_path) -> None:
    result = run(plugin_path, "-c", (
        "from crawler.publishers import publishers, publisher_for_url;"
        f"print(sorted(publishers()), publisher_for_url({URL!r}).name)"
    ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("] ") == ["['example', 'newsis', 'yonhap'", "example\n"]


def test_parse_picks_the_example_publisher_by_the_url(plugin_path) -> None:
    result = run(plugin_path, "-m", "crawler", "parse", str(EXAMPLE / "page.html"), "--url", URL)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["source"] == "example"
    assert record["article_id"] == "EX-000001"
    assert record["url"] == URL
    assert record["headline"] == "Harbour reopens after the storm"
    assert record["published_at"] == "2024-11-15T09:30:00+09:00"
    assert record["section"] == "Local"
    assert record["body"] == [
        "The harbour reopened on Friday morning.", "Ferries run to the usual timetable."
    ]


def test_parse_refuses_the_example_host_when_the_plug_in_is_not_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "parse", str(EXAMPLE / "page.html"), "--url", URL],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert result.returncode == 2
    assert "not an article URL of an installed publisher's site" in result.stderr


def test_the_example_publisher_crawls_from_its_feed(plugin_path, tmp_path) -> None:
    # Its site: the feed of docs/example_publisher and the page it links to.
    page = (EXAMPLE / "page.html").read_bytes()
    pages = {
        "/feeds/latest.xml": (200, "application/rss+xml", (EXAMPLE / "feed.xml").read_bytes()),
        "/articles/EX-000001": (200, "text/html; charset=utf-8", page),
    }
    db_path = tmp_path / "archive.sqlite3"
    with StaticSite(pages) as site:
        result = run(
            plugin_path, "-m", "crawler", "crawl", "--db", f"sqlite:///{db_path}", "--fast",
            "--publisher", "example", "--base-url", f"example={site.base_url}", "--json",
        )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["new_article"] == 1
    assert summary["publishers"]["example"]["new_article"] == 1
    assert "/articles/EX-000001" in site.requests
    assert rows(db_path, "SELECT publisher, article_id, url FROM articles") == [
        ("example", "EX-000001", URL)
    ]
    exported = run(plugin_path, "-m", "crawler", "export", "--db", f"sqlite:///{db_path}",
                   "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    record = json.loads(exported.stdout)
    assert (record["source"], record["headline"]) == ("example", "Harbour reopens after the storm")


def test_scrapy_crawl_knows_the_example_spider(plugin_path) -> None:
    result = run(plugin_path, "-m", "scrapy", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["example", "newsis", "yonhap"]

"""`scrapy crawl newsis` (Scrapy's own command line): -O gives the archived records, -a base_url
is obeyed, unknown or bad -a arguments are refused, a failed run exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import CRAWL_TIMEOUT, article_fetches, scalar
from tests.support.paths import REPO_ROOT

FAST = (
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS=8", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
)
# Nothing listens there: a crawl that fetched from the setting instead of -a would get nothing.
UNUSED_BASE_URL = "http://127.0.0.1:9"


def scrapy_crawl(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl newsis …` from the repository root (where scrapy.cfg is), in a subprocess."""
    env = {
        **os.environ,
        "NEWSARCHIVE_DB": f"sqlite:///{db_path}",
        "NEWSARCHIVE_BASE_URL": UNUSED_BASE_URL,
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "newsis", *FAST, *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT,
        check=False,
    )


def newsarchive_export(db_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "export", "--db", f"sqlite:///{db_path}"],
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def feed_crawl(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("scrapy-cli")
    db_path, feed_path = folder / "archive.sqlite3", folder / "records.jsonl"
    with NewsisSite(seed=61, articles=40) as site:
        result = scrapy_crawl(db_path, "-O", str(feed_path), "-a", f"base_url={site.base_url}")
        yield site, db_path, feed_path, result


def test_feed_export_writes_the_records_newsarchive_export_gives(feed_crawl) -> None:
    site, db_path, feed_path, result = feed_crawl
    assert result.returncode == 0, result.stderr[-3000:]
    assert "is not JSON serializable" not in result.stderr
    lines = feed_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(site.live_articles())
    assert sorted(lines) == sorted(newsarchive_export(db_path).splitlines())


def test_feed_export_crawl_archives_every_article_from_the_base_url_argument(feed_crawl) -> None:
    site, db_path, _, _ = feed_crawl
    live = {a.article_id for a in site.live_articles()}
    assert set(article_fetches(site)) == live
    assert scalar(db_path, "SELECT count(*) FROM captures WHERE outcome = 'new_article'") == len(
        live
    )
    assert scalar(db_path, "SELECT outcome FROM crawl_runs") == "finished"


@pytest.mark.parametrize(
    "argument",
    ["bogus=1", "base-url=http://127.0.0.1:1", "BASE_URL=http://127.0.0.1:1", "baseurl=x",
     "since_=2024-01-01", "revisits=all", "name=other", "_job=1"],
)
def test_unknown_spider_argument_is_refused_before_anything_is_fetched(
    tmp_path: Path, argument: str
) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=62, articles=5) as site:
        result = scrapy_crawl(db_path, "-a", f"base_url={site.base_url}", "-a", argument)
        assert site.requests == []
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"unknown argument(s) for the newsis spider: {argument.split('=')[0]}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_path.exists()


@pytest.mark.parametrize(
    "argument",
    ["base_url=ftp://127.0.0.1", "base_url=127.0.0.1:8000", "base_url=http://",
     "base_url=http://127.0.0.1:1/?page=2", "base_url=javascript:alert(1)",
     "revisit=sometimes", "since=yesterday", "since=2024-13-01"],
)
def test_bad_spider_argument_value_is_refused_before_anything_is_fetched(
    tmp_path: Path, argument: str
) -> None:
    db_path = tmp_path / "archive.sqlite3"
    result = scrapy_crawl(db_path, "-a", argument)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: spider newsis:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_path.exists()


def test_run_that_robots_txt_forbids_entirely_exits_one(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=63, articles=5) as site:
        site.robots_txt = b"User-agent: *\nDisallow: /\n"
        result = scrapy_crawl(db_path, "-a", f"base_url={site.base_url}")
    assert result.returncode == 1, result.stderr[-2000:]
    summary = f"robots.txt of 127.0.0.1:{site.port} forbids every page we asked for"
    assert summary in result.stderr, result.stderr[-3000:]
    assert scalar(db_path, "SELECT outcome FROM crawl_runs") == "failed"

"""robots.txt: a crawl it forbids entirely fails with a summary saying so; partial refusals are
counted in the summary; no page it forbids is fetched, however many requests start at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import article_fetches, rows, run_crawl, scalar

MANY_AT_ONCE = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "CONCURRENT_REQUESTS=16")
FEEDS = 16
FORBID_ALL = [
    b"User-agent: *\nDisallow: /\n",
    b"User-agent: newsarchive\nDisallow: /\n",
    b"User-agent: *\nDisallow: /RSS/\nDisallow: /view/\n",
    b"User-agent: *\nDisallow: /R\nDisallow: /v\n",
]


def fetched_paths(site: NewsisSite) -> list[str]:
    with site._lock:
        return [path for _, path, _ in site.requests if path != "/robots.txt"]


@pytest.mark.parametrize("robots", FORBID_ALL)
def test_crawl_robots_txt_forbids_entirely_fails_and_fetches_nothing(
    tmp_path: Path, robots: bytes
) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=71, articles=20) as site:
        site.robots_txt = robots
        result = run_crawl(db_path, site, *MANY_AT_ONCE)
        assert fetched_paths(site) == []
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stdout.strip().endswith(
        f"robots.txt of 127.0.0.1:{site.port} forbids every page we asked for:"
        f" {FEEDS} requests refused"
    ), result.stdout
    assert rows(db_path, "SELECT outcome FROM crawl_runs") == [("failed",)]


def test_crawl_whose_articles_robots_txt_forbids_fails(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=72, articles=20) as site:
        site.robots_txt = b"User-agent: *\nDisallow: /view/\n"
        result = run_crawl(db_path, site, *MANY_AT_ONCE)
        assert article_fetches(site) == {}
        live = len(site.live_articles())
    assert result.returncode == 1, result.stderr[-2000:]
    assert (
        f"robots.txt of 127.0.0.1:{site.port} forbids every article page we asked for:"
        f" {live} requests refused"
    ) in result.stdout
    assert scalar(db_path, "SELECT count(*) FROM captures") == 0


@pytest.mark.parametrize("forbidden_count", [1, 3, 7])
def test_partial_robots_refusals_are_counted_in_the_summary(
    tmp_path: Path, forbidden_count: int
) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=73, articles=20) as site:
        live = [a.article_id for a in site.live_articles()]
        forbidden = live[:: len(live) // forbidden_count][:forbidden_count]
        site.robots_txt = b"User-agent: *\n" + b"".join(
            f"Disallow: /view/{article_id}\n".encode() for article_id in forbidden
        )
        result = run_crawl(db_path, site, *MANY_AT_ONCE)
        fetched = set(article_fetches(site))
    assert result.returncode == 0, result.stderr[-2000:]
    assert fetched == set(live) - set(forbidden)
    match = re.search(r"robots\.txt of \S+ refused (\d+) of our requests$", result.stdout.strip())
    assert match and int(match.group(1)) == forbidden_count, result.stdout
    assert f" {len(live) - forbidden_count} new articles," in result.stdout
    assert rows(db_path, "SELECT outcome FROM crawl_runs") == [("finished",)]

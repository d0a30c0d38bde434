"""Helpers for the crawl tests: run `newsarchive crawl` in a subprocess, read the archive back."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from crawler.localsite.server import NewsisSite
from tests.support.processes import newsarchive

# A guard against a hung crawl, not a timing assertion.
CRAWL_TIMEOUT = 300
_VIEW_PATH = re.compile(r"^/view/(NIS[XI]\d{8}_\d{10})$")


def crawl_args(db_url: str, site: NewsisSite, *extra: str) -> list[str]:
    """`newsarchive crawl` of the local site into `db_url`, at test speed."""
    return newsarchive("crawl", "--db", db_url, "--base-url", site.base_url, "--fast", *extra)


def crawl_command(db_path: Path, site: NewsisSite, *args: str) -> list[str]:
    return crawl_args(f"sqlite:///{db_path}", site, *args)


def run_crawl(db_path: Path, site: NewsisSite, *args: str) -> subprocess.CompletedProcess[str]:
    """One crawl run to its end, in a subprocess (Twisted's reactor cannot restart in-process)."""
    return subprocess.run(
        crawl_command(db_path, site, *args),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )


def start_crawl(db_path: Path, site: NewsisSite, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        crawl_command(db_path, site, *args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def scalar(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return rows(db_path, sql, params)[0][0]


def article_fetches(site: NewsisSite) -> Counter[str]:
    """How many times each article page was requested from the site."""
    with site._lock:
        logged = list(site.requests)
    return Counter(
        match.group(1) for _, path, _ in logged if (match := _VIEW_PATH.match(path))
    )


def article_statuses(site: NewsisSite, article_id: str) -> list[int]:
    with site._lock:
        return [status for _, path, status in site.requests if path == f"/view/{article_id}"]


def clear_requests(site: NewsisSite) -> None:
    with site._lock:
        site.requests.clear()
        site.faults_fired.clear()


def feed_listings(site: NewsisSite) -> dict[str, list[str]]:
    """Each feed's slug with the article ids its current XML lists."""
    from crawler.localsite.server import FEED_SIZE, FEEDS

    live = site.live_articles()
    return {
        slug: [a.article_id for a in live if wanted(a)][:FEED_SIZE]
        for slug, (_, wanted) in FEEDS.items()
    }


def feeds_of(site: NewsisSite, article_id: str) -> list[str]:
    """The feeds whose current XML lists this article."""
    return [slug for slug, listed in feed_listings(site).items() if article_id in listed]


def feed_article_ids(site: NewsisSite) -> set[str]:
    """The articles a crawl discovers: those listed in at least one of the feeds."""
    return {article_id for listed in feed_listings(site).values() for article_id in listed}

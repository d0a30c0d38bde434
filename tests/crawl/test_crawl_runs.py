"""Cron safety: the run lock, a killed run and the next one, failed runs, the drift check."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from crawler.drift import DRIFT_EXIT_CODE
from crawler.localsite.server import NewsisSite
from crawler.runlock import LOCKED_EXIT_CODE
from tests.crawl.test_drift_faults import redesign
from tests.support.crawl_support import (
    CRAWL_TIMEOUT,
    article_fetches,
    rows,
    run_crawl,
    scalar,
    start_crawl,
)
from tests.support.processes import wait_until

ONE_AT_A_TIME = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")


def stored_captures(db_path: Path) -> int:
    try:
        return scalar(db_path, "SELECT count(*) FROM captures")
    except sqlite3.OperationalError:  # the crawl has not created the schema yet
        return 0


def test_second_concurrent_run_exits_at_once_with_the_lock_code(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    # Enough articles that the first run outlasts the second's start-up (~3 s) however fast
    # ingest is: 40 pages were stored in ~3.7 s once delta compression got cheap.
    with NewsisSite(seed=41, articles=200) as site:
        # Slow answers, one at a time, keep the first run going while the second one starts.
        site.set_faults(latency=0.3)
        first = start_crawl(db_path, site, *ONE_AT_A_TIME)
        try:
            wait_until(lambda: sum(article_fetches(site).values()) >= 1, "the first run fetching")
            second = run_crawl(db_path, site)
        finally:
            first.send_signal(signal.SIGTERM)
            first.communicate(timeout=CRAWL_TIMEOUT)
        assert second.returncode == LOCKED_EXIT_CODE, (second.stdout, second.stderr)
        assert second.stdout == ""
        assert "another crawl" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1, second.stderr
        # The refused run opened no crawl run of its own.
        assert scalar(db_path, "SELECT count(*) FROM crawl_runs") == 1


def test_killed_run_then_next_run_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=42, articles=60) as site:
        site.set_faults(latency=0.2)
        crawl = start_crawl(db_path, site, *ONE_AT_A_TIME)
        try:
            wait_until(lambda: stored_captures(db_path) >= 10, "ten pages stored")
        finally:
            crawl.send_signal(signal.SIGKILL)
            crawl.communicate(timeout=CRAWL_TIMEOUT)
        kept = scalar(db_path, "SELECT count(*) FROM captures")
        live = {a.article_id for a in site.live_articles()}
        assert kept < len(live), "the kill should come before the end of the run"
        assert rows(db_path, "SELECT outcome FROM crawl_runs") == [("running",)]

        site.clear_faults()
        result = run_crawl(db_path, site)
        assert result.returncode == 0, result.stderr
        assert rows(db_path, "SELECT outcome FROM crawl_runs ORDER BY crawl_run_id") == [
            ("interrupted",), ("finished",),
        ]
        archived = {row[0] for row in rows(db_path, "SELECT article_id FROM articles")}
        assert archived == live
        # Every article once: one capture, one version, whichever run stored it.
        assert scalar(db_path, "SELECT count(*) FROM captures") == len(live)
        assert scalar(db_path, "SELECT count(*) FROM versions") == len(live)
        assert f" {len(live) - kept} new articles," in result.stdout


def test_run_that_reads_no_feed_fails_with_exit_code_one(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=43, articles=10) as site:
        # The sitemaps too: they alone would find the articles.
        down = ("/RSS/*", "/sitemap*", "/newsis_news_google.xml")
        site.set_faults(rules=[{"path": path, "fault": "503"} for path in down])
        result = run_crawl(db_path, site)
    assert result.returncode == 1
    assert result.stdout.startswith("crawl run 1 failed: 0 new articles,")
    assert rows(db_path, "SELECT outcome, note FROM crawl_runs")[0][0] == "failed"


def test_run_whose_feeds_fail_but_whose_sitemaps_work_finishes(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=43, articles=10) as site:
        site.set_faults(rules=[{"path": "/RSS/*", "fault": "503"}])
        result = run_crawl(db_path, site)
        live = {a.article_id for a in site.live_articles()}
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith(f"crawl run 1 finished: {len(live)} new articles,")
    assert {row[0] for row in rows(db_path, "SELECT article_id FROM articles")} == live


def test_parse_failure_jump_warns_and_exits_with_the_drift_code(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=44, articles=30) as site:
        assert run_crawl(db_path, site).returncode == 0
        new = site.advance(180)
        assert len(new) >= 10
        # A redesign: every page comes whole, the parser refuses every one (issue 15: bodies
        # cut short are a network fault, not drift; tests/crawl/test_drift_faults.py).
        redesign(site)
        result = run_crawl(db_path, site)
    assert result.returncode == DRIFT_EXIT_CODE, result.stderr
    assert "layout drift?" in result.stderr
    assert f" {len(new)} failed " in result.stdout
    [(note,)] = rows(db_path, "SELECT note FROM crawl_runs WHERE crawl_run_id = 2")
    assert "layout drift?" in note


def test_clean_run_after_clean_runs_raises_no_drift(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=45, articles=30) as site:
        assert run_crawl(db_path, site).returncode == 0
        site.advance(180)
        result = run_crawl(db_path, site, "--json")
    assert result.returncode == 0, result.stderr
    assert '"is_drift": false' in result.stdout


def test_a_crawl_keeps_no_more_requests_in_flight_than_its_per_site_limit() -> None:
    # Scrapy 2.19 alone lets a burst past CONCURRENT_REQUESTS_PER_DOMAIN; a crawl fetches one
    # site, so that limit is made its total too (crawler.crawl_run.limit_to_one_site).
    from crawler.crawl_run import crawl_settings

    fast = crawl_settings("sqlite://", fast=True, overrides={"CONCURRENT_REQUESTS_PER_DOMAIN": 1})
    polite = crawl_settings("sqlite://")
    assert fast.getint("CONCURRENT_REQUESTS") == 1
    assert polite.getint("CONCURRENT_REQUESTS") == polite.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    assert polite.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2

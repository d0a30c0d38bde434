"""Faults: 5xx, 429, resets and truncated bodies are retried, then kept as failed captures;
an archive that refuses pages stops the crawl."""

from __future__ import annotations

import sqlite3

import pytest

from crawler.localsite.server import NewsisSite
from crawler.pipelines import STORE_FAILURES_TO_STOP
from storage.db import upgrade
from tests.support.crawl_support import article_fetches, rows, run_crawl, scalar

# crawler/settings.py: RETRY_TIMES = 3 and NEWSARCHIVE_RETRY_AFTER_TIMES = 3 (+ the first try).
TRIES = 4


@pytest.fixture(scope="module")
def faulty_crawl(tmp_path_factory: pytest.TempPathFactory):
    db_path = tmp_path_factory.mktemp("faults") / "archive.sqlite3"
    with NewsisSite(seed=31, articles=30) as site:
        ids = [a.article_id for a in site.live_articles() if not a.is_photo_item]
        transient = {"503": ids[0], "reset": ids[1], "429": ids[2], "truncate": ids[3]}
        lasting = {"503": ids[4], "reset": ids[5], "429": ids[6], "truncate": ids[7]}
        rules = [
            {"path": f"/view/{article_id}", "fault": fault, "times": 2}
            for fault, article_id in transient.items()
        ] + [
            {"path": f"/view/{article_id}", "fault": fault, "times": None}
            for fault, article_id in lasting.items()
        ]
        site.set_faults(rules=rules, retry_after=1)
        result = run_crawl(db_path, site)
        yield site, db_path, result, transient, lasting


def captures_of(db_path, article_id: str) -> list[tuple]:
    return rows(
        db_path,
        "SELECT status, outcome, fetch_error, parse_error FROM captures WHERE article_id = ?",
        (article_id,),
    )


def test_run_with_faults_still_finishes(faulty_crawl) -> None:
    _, _, result, _, lasting = faulty_crawl
    assert result.returncode == 0, result.stderr
    assert f" {len(lasting)} failed " in result.stdout


@pytest.mark.parametrize("fault", ["503", "reset", "429", "truncate"])
def test_transient_fault_is_retried_until_the_page_comes(faulty_crawl, fault: str) -> None:
    site, db_path, _, transient, _ = faulty_crawl
    article_id = transient[fault]
    assert article_fetches(site)[article_id] == 3
    assert captures_of(db_path, article_id) == [(200, "new_article", None, None)]


@pytest.mark.parametrize("fault", ["503", "reset", "429", "truncate"])
def test_lasting_fault_is_retried_then_kept_as_a_failed_capture(faulty_crawl, fault: str) -> None:
    site, db_path, _, _, lasting = faulty_crawl
    article_id = lasting[fault]
    if fault == "reset":
        # Twisted's connection pool itself resends once a request whose reused keep-alive
        # connection was reset, so each of our tries may reach the site twice.
        assert TRIES <= article_fetches(site)[article_id] <= 2 * TRIES
    else:
        assert article_fetches(site)[article_id] == TRIES
    [(status, outcome, fetch_error, parse_error)] = captures_of(db_path, article_id)
    assert outcome == "failed"
    assert fetch_error or parse_error
    if fault in ("503", "429"):
        assert status == int(fault)
    assert scalar(db_path, "SELECT count(*) FROM versions WHERE article_id = ?", (article_id,)) == 0


# --- an archive that stops taking pages --------------------------------------------------------


def test_crawl_stops_once_the_archive_refuses_a_batch_worth_of_pages_in_a_row(tmp_path) -> None:
    """Disk full, database down: every page fails to store. The crawl must stop after
    STORE_FAILURES_TO_STOP of them instead of fetching the whole site for nothing."""
    db_path = tmp_path / "archive.sqlite3"
    upgrade(f"sqlite:///{db_path}")
    # The archive refuses every capture, as a full disk would (crawl_runs still takes its row).
    _execute(
        db_path,
        "CREATE TRIGGER refuse_captures BEFORE INSERT ON captures "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    # Enough articles that the pages fetched before the first refusals come back (the writer
    # starts, Scrapy fills its queue of responses meanwhile: ~300 under load) are few of them.
    with NewsisSite(seed=32, articles=1500) as site:
        refused = run_crawl(db_path, site, "--since", "2024-10-01")
        fetched = sum(article_fetches(site).values())
        listed = len(site.live_articles())
        _execute(db_path, "DROP TRIGGER refuse_captures")
        rerun = run_crawl(db_path, site, "--revisit", "none")
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert f"{STORE_FAILURES_TO_STOP} pages in a row could not be stored" in refused.stdout
    assert "Traceback" not in refused.stderr, refused.stderr[-3000:]
    # Stopped early: most of the site's articles were never asked for.
    assert fetched < listed / 2, (fetched, listed)
    assert scalar(db_path, "SELECT outcome FROM crawl_runs WHERE crawl_run_id = 1") == "failed"
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert scalar(db_path, "SELECT count(*) FROM captures WHERE crawl_run_id = 2") > 0


def _execute(db_path, sql: str) -> None:
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        connection.execute(sql)
        connection.commit()
    finally:
        connection.close()

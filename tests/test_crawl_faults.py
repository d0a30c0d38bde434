"""Faults: 5xx, 429, resets and truncated bodies are retried, then kept as failed captures."""

from __future__ import annotations

import pytest

from tests.crawl_support import article_fetches, rows, run_crawl, scalar
from tests.site.server import NewsisSite

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

"""Changes a plain crawl must see: deletions, sitemap-only articles, late edits by <lastmod>,
failed fetches never taken for deletions, and the revisit budget."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import article_fetches, clear_requests, rows, run_crawl

# One deleted article per answer Newsis gives: 302 to /error/ (four: the duplicate filter once
# kept all but one from being fetched), the older design's 200 error page, 404 and 410.
GONE_ANSWERS = ("302", "302", "302", "302", "200", "404", "410")


def set_next_check(db_path: Path, when: dict[str, datetime | None]) -> None:
    with closing(sqlite3.connect(db_path)) as connection, connection:
        for article_id, moment in when.items():
            value = None if moment is None else moment.replace(tzinfo=None).isoformat(sep=" ")
            connection.execute(
                "UPDATE articles SET next_check_at = ? WHERE article_id = ?", (value, article_id)
            )


def run_captures(db_path: Path) -> dict[str, tuple[int | None, str]]:
    """The last run's captures: article id -> (status, outcome)."""
    return {
        article_id: (status, outcome) for article_id, status, outcome in rows(
            db_path,
            "SELECT article_id, status, outcome FROM captures WHERE crawl_run_id ="
            " (SELECT max(crawl_run_id) FROM crawl_runs)",
        )
    }


@pytest.fixture(scope="module")
def changes(tmp_path_factory: pytest.TempPathFactory):
    """Three plain crawls of a site on the real clock: the first archives it; before the second
    seven articles are deleted, two fail (503, 429) and an aged article is edited; before the
    third every archived article is made due, with a budget of three."""
    db_path = tmp_path_factory.mktemp("changes") / "archive.sqlite3"
    with NewsisSite(seed=81, articles=40, clock="real", aged=6, sitemap_only=2) as site:
        first = run_crawl(db_path, site)
        sitemap_only = [a.article_id for a in site.live_articles() if a.sitemap_only]
        now = datetime.now(UTC)
        aged = [a for a in site.live_articles() if now - a.published_at > timedelta(days=8)]
        edited = aged[0].article_id
        fresh = [a.article_id for a in site.listed_articles() if a.article_id != edited]
        deleted, failing = fresh[: len(GONE_ANSWERS)], fresh[len(GONE_ANSWERS):][:2]
        # Due by the schedule: the deleted and failing ones; never again: the aged one, so only
        # the sitemap's <lastmod> can bring it back.
        past = now - timedelta(minutes=1)
        set_next_check(db_path, {i: past for i in deleted + failing} | {edited: None})
        # The site's times are whole seconds: its edit must come after the first crawl's fetch.
        time.sleep(1)
        site.catch_up()
        for article_id, answer in zip(deleted, GONE_ANSWERS, strict=True):
            site.delete_article(article_id, answer)
        site.edit_article(edited, "paragraph")
        site.set_faults(rules=[
            {"path": f"/view/{failing[0]}", "fault": "503", "times": None},
            {"path": f"/view/{failing[1]}", "fault": "429", "times": None, "retry_after": 0},
        ])
        clear_requests(site)
        second = run_crawl(db_path, site)
        second_requests = list(site.requests)
        second_captures = run_captures(db_path)
        site.clear_faults()
        archived = [row[0] for row in rows(db_path, "SELECT article_id FROM articles")]
        overdue = {i: past - timedelta(hours=n) for n, i in enumerate(sorted(archived))}
        set_next_check(db_path, overdue)
        clear_requests(site)
        third = run_crawl(db_path, site, "--revisit-budget", "3")
        third_fetches = set(article_fetches(site))
        yield {
            "first": first, "second": second, "third": third, "db": db_path,
            "deleted": deleted, "failing": failing, "edited": edited,
            "sitemap_only": sitemap_only, "second_requests": second_requests,
            "second_captures": second_captures, "archived": archived, "overdue": overdue,
            "third_fetches": third_fetches,
        }


def test_crawls_finish(changes) -> None:
    for name in ("first", "second", "third"):
        assert changes[name].returncode == 0, (name, changes[name].stderr[-3000:])


def test_first_crawl_reads_the_sitemaps_and_archives_sitemap_only_articles(changes) -> None:
    archived = set(changes["archived"])
    assert changes["sitemap_only"]
    assert set(changes["sitemap_only"]) <= archived


def test_every_deletion_of_a_run_is_fetched_and_kept_as_a_gone_capture(changes) -> None:
    captures = changes["second_captures"]
    statuses = sorted(captures[i][0] for i in changes["deleted"])
    assert statuses == [200, 302, 302, 302, 302, 404, 410]
    # The 302 is the evidence: the error page is not fetched once per deletion (or at all).
    assert not [path for _, path, _ in changes["second_requests"] if path.startswith("/error")]


def test_failed_fetches_are_kept_as_failed_never_as_deletions(changes) -> None:
    captures = changes["second_captures"]
    assert sorted(captures[i][0] for i in changes["failing"]) == [429, 503]
    assert all(captures[i][1] == "failed" for i in changes["failing"])


def test_an_aged_articles_edit_is_caught_by_a_plain_crawl_through_lastmod(changes) -> None:
    db_path, edited = changes["db"], changes["edited"]
    assert changes["second_captures"][edited] == (200, "new_version")
    versions = rows(db_path, "SELECT count(*) FROM versions WHERE article_id = ?", (edited,))
    assert versions == [(2,)]


def test_the_budget_bounds_revisits_to_the_longest_overdue(changes) -> None:
    overdue = changes["overdue"]
    longest = sorted(overdue, key=overdue.get)[:3]
    assert changes["third_fetches"] & set(changes["archived"]) == set(longest)

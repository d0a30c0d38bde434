"""Crawls of the local site's two publishers, Newsis and Yonhap, in one run each: the first
archives both publishers' articles with their exact records; after edits and takedowns on both
sites, the second records the new versions and deletions of both (SQLite; PostgreSQL too)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import CRAWL_TIMEOUT, rows
from tests.support.processes import newsarchive
from tests.support.scaleout_support import pg_rows
from tests.support.storage_fixtures import POSTGRES_ENV_VAR, throwaway_postgres_database

PUBLISHERS = ("newsis", "yonhap")


def crawl(db_url: str, site: NewsisSite, *args: str) -> dict:
    """One `newsarchive crawl` of both sides of the site; its JSON summary."""
    result = subprocess.run(
        newsarchive("crawl", "--db", db_url, "--fast", "--json", "--base-url", site.base_url,
                    "--base-url", f"yonhap={site.yonhap.base_url}", *args),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def exported(db_url: str) -> dict[str, dict]:
    result = subprocess.run(
        newsarchive("export", "--db", db_url, "--format", "jsonl"),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=True,
    )
    return {r["article_id"]: r for r in map(json.loads, result.stdout.splitlines())}


def change_both(site: NewsisSite) -> dict[str, tuple[str, str]]:
    """On each side, one article edited and one taken down: {publisher: (edited, deleted)}."""
    time.sleep(1)  # the site's times are whole seconds: its changes come after the fetch
    changed = {}
    for publisher in PUBLISHERS:
        edited, deleted = (a.article_id for a in site.live_articles(publisher)[:2])
        site.edit_article(edited, "headline")
        site.delete_article(deleted)
        changed[publisher] = (edited, deleted)
    return changed


def expected_records(site: NewsisSite) -> dict[str, dict[str, dict]]:
    """Each publisher's live articles with the records they must give, as the site is now."""
    return {
        publisher: {a.article_id: site.expected_record(a.article_id)
                    for a in site.live_articles(publisher)}
        for publisher in PUBLISHERS
    }


def check_first_crawl(expected: dict[str, dict[str, dict]], summary: dict,
                      archived: dict[str, str], records: dict[str, dict]) -> None:
    for publisher, wanted in expected.items():
        assert summary["publishers"][publisher]["new_article"] == len(wanted)
        assert {i for i, p in archived.items() if p == publisher} == set(wanted)
        for article_id, record in wanted.items():
            got = records[article_id]
            assert got["source"] == publisher
            assert {key: got.get(key) for key in record} == record, article_id


def check_second_crawl(summary: dict, events: list[tuple[str, str]],
                       changed: dict[str, tuple[str, str]]) -> None:
    for publisher, (edited, deleted) in changed.items():
        part = summary["publishers"][publisher]
        assert part["new_version"] == 1, (publisher, part)
        assert part["new_article"] == 0, (publisher, part)
        assert (edited, "new_version") in events
        assert (deleted, "deleted") in events
    assert summary["deleted"] == len(changed)


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory: pytest.TempPathFactory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('both') / 'archive.sqlite3'}"
    with NewsisSite(seed=29, articles=25, yonhap_articles=25) as site:
        expected = expected_records(site)
        first = crawl(db_url, site)
        first_rows = dict(rows(Path(db_url[len("sqlite:///"):]),
                               "SELECT article_id, publisher FROM articles"))
        first_records = exported(db_url)
        changed = change_both(site)
        second = crawl(db_url, site, "--revisit", "all")
        yield expected, db_url, first, first_rows, first_records, changed, second


def test_one_crawl_archives_both_publishers_with_their_records(two_crawls) -> None:
    expected, _, first, archived, records, _, _ = two_crawls
    assert first["outcome"] == "finished"
    check_first_crawl(expected, first, archived, records)


def test_a_second_crawl_records_edits_and_takedowns_on_both(two_crawls) -> None:
    _, db_url, _, _, _, changed, second = two_crawls
    events = rows(Path(db_url[len("sqlite:///"):]),
                  "SELECT article_id, kind FROM events WHERE kind <> 'new_article'")
    check_second_crawl(second, events, changed)


@pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV_VAR), reason=f"{POSTGRES_ENV_VAR} not set (CI sets it)"
)
def test_both_publishers_crawl_into_postgresql() -> None:
    for db_url in throwaway_postgres_database(os.environ[POSTGRES_ENV_VAR]):
        with NewsisSite(seed=31, articles=10, yonhap_articles=10) as site:
            expected = expected_records(site)
            first = crawl(db_url, site)
            archived = dict(pg_rows(db_url, "SELECT article_id, publisher FROM articles"))
            check_first_crawl(expected, first, archived, exported(db_url))
            changed = change_both(site)
            second = crawl(db_url, site, "--revisit", "all")
            events = pg_rows(
                db_url, "SELECT article_id, kind FROM events WHERE kind <> 'new_article'"
            )
            check_second_crawl(second, events, changed)

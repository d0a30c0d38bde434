"""A first crawl of the local site: every article archived once, under its canonical URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import article_fetches, feeds_of, rows, run_crawl, scalar

SUMMARY_RE = re.compile(
    r"^crawl run (\d+) finished: (\d+) new articles, (\d+) new versions, (\d+) unchanged, "
    r"(\d+) not modified, (\d+) failed \(\d+ fetches in [\d.]+ s\)$"
)


@pytest.fixture(scope="module")
def first_crawl(tmp_path_factory: pytest.TempPathFactory):
    db_path = tmp_path_factory.mktemp("crawl") / "archive.sqlite3"
    with NewsisSite(seed=11, articles=80) as site:
        result = run_crawl(db_path, site)
        yield site, db_path, result


def test_first_crawl_exits_zero_with_one_summary_line(first_crawl) -> None:
    site, _, result = first_crawl
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    match = SUMMARY_RE.match(lines[0])
    assert match, lines[0]
    assert int(match.group(2)) == len(site.live_articles())
    assert match.group(3, 4, 5, 6) == ("0", "0", "0", "0")


def test_first_crawl_archives_every_article_once(first_crawl) -> None:
    site, db_path, _ = first_crawl
    live = {a.article_id for a in site.live_articles()}
    archived = {row[0] for row in rows(db_path, "SELECT article_id FROM articles")}
    assert archived == live
    assert scalar(db_path, "SELECT count(*) FROM versions") == len(live)
    assert scalar(db_path, "SELECT count(*) FROM captures") == len(live)
    assert set(article_fetches(site).values()) == {1}


def test_article_listed_in_several_feeds_is_fetched_once(first_crawl) -> None:
    site, _, _ = first_crawl
    shared = [a.article_id for a in site.live_articles() if len(feeds_of(site, a.article_id)) >= 3]
    assert shared, "the site should list some articles in three feeds or more"
    fetches = article_fetches(site)
    assert {fetches[article_id] for article_id in shared} == {1}


def test_records_and_captures_keep_canonical_newsis_urls(first_crawl) -> None:
    _, db_path, _ = first_crawl
    query = "SELECT url FROM captures UNION SELECT url FROM articles"
    urls = [row[0] for row in rows(db_path, query)]
    assert urls
    assert all(re.fullmatch(r"https://www\.newsis\.com/view/NIS[XI]\d{8}_\d{10}", u) for u in urls)


def test_crawl_run_row_holds_the_summary(first_crawl) -> None:
    site, db_path, result = first_crawl
    run_id = int(SUMMARY_RE.match(result.stdout.strip()).group(1))
    outcome, new_articles, failed, finished_at = rows(
        db_path,
        "SELECT outcome, new_article_count, failed_count, finished_at FROM crawl_runs"
        " WHERE crawl_run_id = ?",
        (run_id,),
    )[0]
    assert (outcome, new_articles, failed) == ("finished", len(site.live_articles()), 0)
    assert finished_at is not None


def test_crawl_reads_robots_txt_before_any_article(first_crawl) -> None:
    site, _, _ = first_crawl
    paths = [path for _, path, _ in site.requests]
    assert "/robots.txt" in paths
    assert paths.index("/robots.txt") < min(
        i for i, path in enumerate(paths) if path.startswith("/view/")
    )


def test_second_run_without_revisits_fetches_no_archived_article(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=12, articles=30) as site:
        assert run_crawl(db_path, site).returncode == 0
        site.requests.clear()
        result = run_crawl(db_path, site, "--revisit", "none")
        assert result.returncode == 0, result.stderr
        assert article_fetches(site) == {}
        assert " 0 new articles," in result.stdout

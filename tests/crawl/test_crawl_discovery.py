"""Discovery: which links name articles, --since backfill, Retry-After, plain `scrapy crawl`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from crawler.middlewares import retry_after_seconds
from crawler.publishers.newsis.answers import looks_like_captcha
from crawler.publishers.newsis.discovery import article_id_of_link, registration_date
from tests.support.crawl_support import (
    CRAWL_TIMEOUT,
    article_fetches,
    feeds_of,
    rows,
    run_crawl,
    scalar,
)

ARTICLE = "NISX20241115_0002960118"


@pytest.mark.parametrize(
    "link",
    [
        f"https://www.newsis.com/view/{ARTICLE}",
        f"http://newsis.com/view/?id={ARTICLE}&cID=10301&pID=10300",
        f"https://mobile.newsis.com/view.html?ar_id={ARTICLE}",
        f"/view/{ARTICLE}",
        f"  https://nwww.newsis.com/view/{ARTICLE}\n",
    ],
)
def test_newsis_article_links_give_their_id(link: str) -> None:
    assert article_id_of_link(link) == ARTICLE


@pytest.mark.parametrize(
    "link",
    [
        f"https://evil.example/view/{ARTICLE}",
        f"https://www.newsis.com.evil.example/view/{ARTICLE}",
        f"javascript:location='/view/{ARTICLE}'",
        f"file:///etc/passwd?/view/{ARTICLE}",
        f"data:text/html,/view/{ARTICLE}",
        f"https://www.newsis.com/view/{ARTICLE}?" + "a" * 5000,
        "https://www.newsis.com/politic/list/?cid=10300",
        "",
        None,
    ],
)
def test_links_that_leave_newsis_or_name_no_article_are_ignored(link: str | None) -> None:
    assert article_id_of_link(link) is None


def test_registration_date_comes_from_the_id() -> None:
    assert registration_date(ARTICLE).isoformat() == "2024-11-15"


def test_bot_check_pages_are_told_from_articles() -> None:
    assert looks_like_captcha(b'<html><div class="g-recaptcha" data-sitekey="x"></div></html>')
    article = "<html><article>정부, CAPTCHA 도입 검토</article></html>".encode()
    assert not looks_like_captcha(article)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", 30.0, now) == 7.0
    assert retry_after_seconds("Fri, 15 Nov 2024 00:00:20 GMT", 30.0, now) == 20.0
    assert retry_after_seconds("soon", 30.0, now) == 30.0
    assert retry_after_seconds(None, 30.0, now) == 30.0


def test_since_backfills_from_the_lists_down_to_the_date(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=51, articles=700) as site:
        live = site.live_articles()
        since = "2024-11-13"
        wanted = {a.article_id for a in live if str(registration_date(a.article_id)) >= since}
        # The feeds (50 items each) do not reach back that far: only the lists do.
        assert any(not feeds_of(site, article_id) for article_id in wanted)
        result = run_crawl(db_path, site, "--since", since)
        assert result.returncode == 0, result.stderr
        archived = {row[0] for row in rows(db_path, "SELECT article_id FROM articles")}
        assert wanted <= archived
        realnews_pages = [path for _, path, _ in site.requests if path.startswith("/realnews/")]
    # Paging stopped once a page held only older articles.
    assert len(realnews_pages) <= len(wanted) // 20 + 2


def test_plain_scrapy_crawl_archives_and_keeps_its_own_run(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    repo = Path(__file__).resolve().parents[2]
    with NewsisSite(seed=52, articles=20) as site:
        env = {
            **os.environ,
            "NEWSARCHIVE_DB": f"sqlite:///{db_path}",
            "NEWSARCHIVE_BASE_URL": site.base_url,
        }
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "newsis",
             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
            cwd=repo, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
        )
        assert result.returncode == 0, result.stderr
        assert set(article_fetches(site).values()) == {1}
        assert scalar(db_path, "SELECT count(*) FROM articles") == len(site.live_articles())
    assert rows(db_path, "SELECT outcome, new_article_count FROM crawl_runs") == [
        ("finished", len(site.live_articles()))
    ]

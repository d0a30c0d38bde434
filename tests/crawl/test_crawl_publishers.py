"""One crawl run of two publishers: Newsis from the local site, Yonhap from a copy of its
example pages; each publisher's articles, revisits and judgement kept apart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import CRAWL_TIMEOUT, rows, scalar
from tests.support.paths import REPO_ROOT
from tests.support.processes import newsarchive
from tests.support.static_site import StaticSite, rss

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "yonhap" / "examples"
# The Yonhap example pages that give a record, by the id their URL names.
YONHAP_PAGES = {
    "AKR20260716091200003": "y3-article",
    "AKR20221118004500071": "y2-article",
    "PYH20260716112400013": "photo-item",
}


def yonhap_site() -> StaticSite:
    """Yonhap's latest-news feed listing the example pages, and the pages themselves."""
    links = [f"https://www.yna.co.kr/view/{article_id}?input=1195m" for article_id in YONHAP_PAGES]
    pages = {"/rss/news.xml": (200, "application/rss+xml", rss(links))}
    for article_id, name in YONHAP_PAGES.items():
        body = (EXAMPLES / f"{name}.html").read_bytes()
        pages[f"/view/{article_id}"] = (200, "text/html; charset=utf-8", body)
    return StaticSite(pages)


def crawl(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        newsarchive("crawl", "--db", f"sqlite:///{db_path}", "--fast", "--json", *args),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(scope="module")
def two_publishers(tmp_path_factory: pytest.TempPathFactory):
    db_path = tmp_path_factory.mktemp("crawl") / "archive.sqlite3"
    with NewsisSite(seed=19, articles=30) as newsis, yonhap_site() as yonhap:
        result = crawl(db_path, "--base-url", newsis.base_url,
                       "--base-url", f"yonhap={yonhap.base_url}")
        yield newsis, yonhap, db_path, result


def test_one_run_archives_both_publishers(two_publishers) -> None:
    newsis, _, db_path, result = two_publishers
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    live = {a.article_id for a in newsis.live_articles()}
    assert summary["outcome"] == "finished"
    assert summary["new_article"] == len(live) + len(YONHAP_PAGES)
    assert summary["publishers"]["newsis"]["new_article"] == len(live)
    assert summary["publishers"]["yonhap"]["new_article"] == len(YONHAP_PAGES)
    assert scalar(db_path, "SELECT count(*) FROM crawl_runs") == 1
    archived = dict(rows(db_path, "SELECT article_id, publisher FROM articles"))
    assert archived == {**dict.fromkeys(live, "newsis"), **dict.fromkeys(YONHAP_PAGES, "yonhap")}
    captured = dict(rows(db_path, "SELECT article_id, publisher FROM captures"))
    assert captured == archived


def test_yonhap_records_are_the_examples(two_publishers) -> None:
    _, _, db_path, _ = two_publishers
    exported = subprocess.run(
        newsarchive("export", "--db", f"sqlite:///{db_path}", "--format", "jsonl"),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=True,
    )
    records = {r["article_id"]: r for r in map(json.loads, exported.stdout.splitlines())}
    for article_id, name in YONHAP_PAGES.items():
        expected = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
        got = records[article_id]
        for key, value in expected.items():
            if key not in ("parser_version", "content_hash"):
                assert got[key] == value, (article_id, key)
        assert got["source"] == "yonhap"


def test_a_newsis_crawl_never_revisits_yonhap_articles(two_publishers) -> None:
    newsis, yonhap, db_path, _ = two_publishers
    before = scalar(db_path, "SELECT count(*) FROM captures WHERE publisher = 'yonhap'")
    yonhap.requests.clear()
    result = crawl(db_path, "--base-url", newsis.base_url, "--revisit", "all")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert list(summary["publishers"]) == ["newsis"]
    assert summary["unchanged"] + summary["not_modified"] == len(newsis.live_articles())
    assert scalar(db_path, "SELECT count(*) FROM captures WHERE publisher = 'yonhap'") == before
    asked = [path for _, path, _ in newsis.requests]
    assert not [path for path in asked if "AKR" in path or "PYH" in path]
    assert yonhap.requests == []


def test_a_publisher_whose_site_is_down_fails_the_run_by_name(tmp_path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=5, articles=10) as newsis:
        result = crawl(db_path, "--base-url", newsis.base_url,
                       "--base-url", f"yonhap={closed_port_url()}")
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "failed"
    assert summary["note"].startswith("yonhap: no feed, sitemap or list page could be read")
    assert summary["publishers"]["yonhap"]["outcome"] == "failed"
    assert summary["publishers"]["newsis"]["outcome"] == "finished"
    assert summary["publishers"]["newsis"]["new_article"] == len(newsis.live_articles())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--publisher", "nosuch"), "no publisher named 'nosuch' in --publisher (installed:"),
        (("--base-url", "nosuch=http://127.0.0.1:9"), "no publisher named 'nosuch' in --base-url"),
        (("--base-url", "http://127.0.0.1:9", "--publisher", "yonhap"),
         "no --base-url for yonhap while newsis have one: add --base-url yonhap=URL"),
        (("--base-url", "ftp://x"), "the base URL must be http(s)://host[:port]"),
    ],
)
def test_bad_publisher_choices_are_usage_errors(tmp_path, args, message) -> None:
    result = crawl(tmp_path / "archive.sqlite3", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "archive.sqlite3").exists()


def test_each_publisher_crawler_gets_the_whole_per_site_limit() -> None:
    # Scrapy's download slots (delay, concurrency) live in each crawler's own downloader: one
    # crawler per publisher gives each host its own slot, and each its own total (not a share).
    from scrapy.crawler import Crawler

    from crawler.crawl_run import crawl_settings
    from crawler.spiders.registered import spider_for

    settings = crawl_settings(
        "sqlite://", fast=True, overrides={"CONCURRENT_REQUESTS_PER_DOMAIN": 3}
    )
    crawlers = [Crawler(spider_for(name), settings) for name in ("newsis", "yonhap")]
    assert crawlers[0].settings is not crawlers[1].settings
    for crawler in crawlers:
        assert crawler.settings.getint("CONCURRENT_REQUESTS") == 3
        assert crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 3


def test_scrapy_crawl_yonhap_obeys_its_base_url(tmp_path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    # A bare NEWSARCHIVE_BASE_URL is newsis's: -a base_url says where Yonhap is.
    env = {**os.environ, "NEWSARCHIVE_DB": f"sqlite:///{db_path}",
           "NEWSARCHIVE_BASE_URL": closed_port_url()}
    with yonhap_site() as yonhap:
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "yonhap", "-a", f"base_url={yonhap.base_url}",
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    archived = dict(rows(db_path, "SELECT article_id, publisher FROM articles"))
    assert archived == dict.fromkeys(YONHAP_PAGES, "yonhap")

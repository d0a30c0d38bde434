"""One crawl run in this process: its settings, the run lock, Scrapy (one crawler per publisher
crawled), its bookkeeping."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler.crawl_targets import crawl_targets
from crawler.drift import DRIFT_EXIT_CODE
from crawler.notify import notify_run
from crawler.origins import base_urls_setting, parse_base_urls
from crawler.run_summary import CrawlSummary, begin_run, end_run, judge_publishers, judge_run
from crawler.runlock import LOCKED_EXIT_CODE, RunLockBusy, run_lock
from crawler.spiders.registered import spider_for
from crawler.writer_process import close_unclosed
from storage.db import check_sqlite_file, make_session_factory, open_archive

__all__ = ["DRIFT_EXIT_CODE", "LOCKED_EXIT_CODE", "RunLockBusy", "run_crawl"]

# Politeness off, for tests and benchmarks against a local site only (`newsarchive crawl --fast`).
FAST_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_TIMEOUT": 10,
    "NEWSARCHIVE_RETRY_AFTER_DEFAULT": 0.5,
    "NEWSARCHIVE_RETRY_AFTER_MAX": 2.0,
}


def crawl_settings(
    db_url: str, base_url: str | None = None, fast: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """The settings of a crawl; `base_url` is NEWSARCHIVE_BASE_URL's text: `[NAME=]URL` entries
    (a bare URL is newsis's), each spider taking its publisher's (crawler.origins.base_url_for)."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if fast:
        settings.update(FAST_SETTINGS, priority="cmdline")
    if base_url:
        entries = base_urls_setting(parse_base_urls(base_url.split()))
        settings.set("NEWSARCHIVE_BASE_URL", entries, priority="cmdline")
    settings.set("NEWSARCHIVE_DB", db_url, priority="cmdline")
    settings.update(overrides or {}, priority="cmdline")
    limit_to_one_site(settings)
    return settings


def limit_to_one_site(settings: Settings) -> None:
    """Make the per-site request limit the whole limit of one crawler: it fetches from one site.

    Set as the total too, because Scrapy 2.19 lets a burst past the per-site one: with no
    download delay the downloader starts every request queued for a site before the first counts
    as in flight (measured: 16 in flight with CONCURRENT_REQUESTS_PER_DOMAIN=1 under --fast).

    A run of several publishers is one crawler each (add_crawlers): each has its own downloader,
    so its own total and its own slots (delay, throttle) for its host. Two publishers' hosts
    never share a slot, and each gets the per-site limit, not a share of it.
    """
    per_site = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    if 0 < per_site < settings.getint("CONCURRENT_REQUESTS"):
        settings.set("CONCURRENT_REQUESTS", per_site, priority="cmdline")


def add_crawlers(
    process: CrawlerProcess, targets: Mapping[str, str], arguments: dict[str, Any],
    on_fetch: Callable[[], None] | None = None,
) -> dict[str, Crawler]:
    """One crawler per publisher in `targets` (name -> base URL), each set going with the
    spider `arguments`; they run together once the process starts."""
    crawlers: dict[str, Crawler] = {}
    for name, base_url in targets.items():
        crawler = process.create_crawler(spider_for(name))
        if on_fetch is not None:
            crawler.signals.connect(
                lambda **_: on_fetch(), signal=signals.response_received, weak=False
            )
        process.crawl(crawler, base_url=base_url, **arguments)
        crawlers[name] = crawler
    return crawlers


def judge_crawlers(
    crawlers: Mapping[str, Crawler], targets: Mapping[str, str]
) -> dict[str, tuple[str, str | None]]:
    """Each publisher's outcome and note, from its own crawler's stats and the origin it was
    fetched from (named in the note when it could not be reached)."""
    return {
        name: judge_run(crawler.stats.get_stats(), targets[name])
        for name, crawler in crawlers.items()
    }


def run_crawl(
    db_url: str,
    *,
    publishers: Iterable[str] = (),
    base_urls: Mapping[str, str] | None = None,
    since: date | None = None,
    revisit: str = "due",
    revisit_budget: int | None = None,
    fast: bool = False,
    overrides: dict[str, Any] | None = None,
    on_fetch: Callable[[], None] | None = None,
    notify_url: str | None = None,
) -> CrawlSummary:
    """Crawl once under the run lock and return the summary (RunLockBusy if a crawl is running).

    `publishers` and `base_urls` choose what is crawled from where (crawler.crawl_targets; by
    default every installed publisher from its real site), all in one run (one crawl_runs row,
    one lock), one crawler each in one Scrapy process, their pages stored by one writer
    (crawler.pipelines.shared_writer). `on_fetch` is called after every response received (a
    progress counter). With `notify_url`, the run's events are POSTed there once the run is
    closed (crawler.notify), still under the lock: two runs never send the same events.

    Each page is stored by its own ingest transaction as it arrives, so a run killed at any
    point leaves whole captures behind; the next run marks it interrupted and goes on.
    """
    targets = crawl_targets(publishers, base_urls)
    settings = crawl_settings(db_url, None, fast, overrides)
    # Before the lock, whose file sits beside the archive: a read-only archive is named as such.
    check_sqlite_file(db_url, for_writing=True)
    with run_lock(db_url):
        engine = open_archive(db_url, for_writing=True)
        sessions = make_session_factory(engine)
        try:
            with sessions() as session:
                crawl_run_id = begin_run(session)
            settings.set("NEWSARCHIVE_CRAWL_RUN_ID", crawl_run_id, priority="cmdline")
            started = time.monotonic()
            process = CrawlerProcess(settings)
            arguments: dict[str, Any] = {"since": since, "revisit": revisit}
            if revisit_budget is not None:
                arguments["revisit_budget"] = revisit_budget
            crawlers = add_crawlers(process, targets, arguments, on_fetch)
            judged: dict[str, tuple[str, str | None]] = {}
            try:
                process.start()
                judged = judge_crawlers(crawlers, targets)
                outcome, note = judge_publishers(judged)
            except Exception as error:  # the crawl itself broke: record it, then say so
                outcome, note = "failed", f"crawl raised {type(error).__name__}: {error}"
            finally:
                close_unclosed()
            with sessions() as session:
                summary = end_run(
                    session, crawl_run_id, outcome, note, time.monotonic() - started, judged
                )
            if notify_url:
                summary.notify_note = notify_run(sessions, crawl_run_id, notify_url)
            return summary
        finally:
            engine.dispose()

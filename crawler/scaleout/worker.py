"""The worker runner: `newsarchive worker` fetches from the shared queue, stores into the archive.

One round = one `newsarchive schedule` (from cron, crawler.scaleout.rounds) = one crawl_runs row
of kind "round" per publisher lane; it queues the feeds, the backfill's first list pages and the
due revisits. A worker (`newsarchive worker`) runs one worker crawler per chosen publisher in one
process, each on its publisher's lane of the shared queue, and ingests into the shared
PostgreSQL archive; ingest is one transaction per capture and serialises concurrent ingests of
one article itself (row lock on the article, retry on a unique-key collision).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess

from crawler.crawl_run import crawl_settings, limit_to_one_site
from crawler.publishers import publisher_named
from crawler.run_summary import WorkerSummary, outcome_counts
from crawler.scaleout.leased_scheduler import DROPPED_STAT
from crawler.scaleout.leases import new_worker_id
from crawler.scaleout.shared_queue import connect
from crawler.scaleout.worker_spider import worker_spider_for
from crawler.writer_process import close_unclosed
from storage.db import open_archive


def worker_settings(
    redis_url: str,
    db_url: str,
    *,
    prefix: str,
    base_url: str | None = None,
    fast: bool = False,
    overrides: dict[str, Any] | None = None,
):
    settings = crawl_settings(db_url, base_url, fast)
    settings.update(
        {
            "SCHEDULER": "crawler.scaleout.leased_scheduler.LeasedScheduler",
            "REDIS_URL": redis_url,
            "NEWSARCHIVE_REDIS_PREFIX": prefix,
            "ITEM_PIPELINES": {"crawler.scaleout.worker_pipeline.WorkerIngestPipeline": 300},
        },
        priority="cmdline",
    )
    settings.update(overrides or {}, priority="cmdline")
    limit_to_one_site(settings)
    return settings


def run_worker(
    redis_url: str,
    db_url: str,
    *,
    prefix: str,
    base_urls: Mapping[str, str | None],
    idle_exit: float | None = None,
    fast: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, WorkerSummary]:
    """Fetch from the lane of each publisher `base_urls` names (its name -> the base URL to
    fetch from; None: the publisher's own site) until stopped, or idle for `idle_exit`
    seconds; the summary of each lane's crawler, by publisher."""
    connect(redis_url)  # a clear error now rather than a traceback from inside Scrapy
    open_archive(db_url, for_writing=True).dispose()
    overrides = dict(overrides or {})
    # One worker id for the process: its lanes' leases are told apart by their keys.
    overrides.setdefault("NEWSARCHIVE_WORKER_ID", new_worker_id())
    started = time.monotonic()
    process = CrawlerProcess(
        worker_settings(redis_url, db_url, prefix=prefix, fast=fast, overrides=overrides)
    )
    crawlers: dict[str, Crawler] = {}
    for name in sorted(base_urls):
        publisher = publisher_named(name)
        settings = worker_settings(
            redis_url, db_url, prefix=prefix,
            base_url=f"{name}={base_urls[name] or publisher.canonical_origin}", fast=fast,
            overrides=overrides,
        )
        # Each lane's crawler has its own settings: the site it fetches from is its own. The
        # first installs the reactor, as the process's own create_crawler would.
        crawlers[name] = Crawler(worker_spider_for(publisher), settings,
                                 init_reactor=not crawlers)
        process.crawl(crawlers[name], idle_exit=idle_exit)
    try:
        process.start()
    finally:
        close_unclosed()  # a second Ctrl-C stops Scrapy without closing the pipeline's writer
    return {
        name: _summary(crawler, overrides["NEWSARCHIVE_WORKER_ID"], time.monotonic() - started)
        for name, crawler in crawlers.items()
    }


def _summary(crawler: Crawler, worker_id: str, seconds: float) -> WorkerSummary:
    stats = crawler.stats.get_stats()
    return WorkerSummary(
        worker_id,
        # None: a second Ctrl-C or signal stopped Scrapy at once, without closing the spider.
        str(stats.get("finish_reason") or "forced shutdown"),
        outcome_counts(stats),
        seconds,
        int(stats.get(DROPPED_STAT, 0)),
    )

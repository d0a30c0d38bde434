"""The worker runner: `newsarchive worker` fetches from the shared queue, stores into the archive.

One round = one `newsarchive schedule` (from cron, crawler.scaleout.rounds) = one crawl_runs row
of kind "round"; it queues the feeds, the backfill's first list pages and the due revisits. Workers
(`newsarchive worker`) run the newsis spider on the shared queue and ingest into the shared
PostgreSQL archive; ingest is one transaction per capture and serialises concurrent ingests of
one article itself (row lock on the article, retry on a unique-key collision).
"""

from __future__ import annotations

import time
from typing import Any

from scrapy.crawler import CrawlerProcess

from crawler.crawl_run import crawl_settings, limit_to_one_site
from crawler.run_summary import WorkerSummary, outcome_counts
from crawler.scaleout.leased_scheduler import DROPPED_STAT
from crawler.scaleout.leases import LeaseBook
from crawler.scaleout.shared_queue import connect
from crawler.scaleout.worker_spider import NewsisWorkerSpider
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
    base_url: str | None = None,
    idle_exit: float | None = None,
    fast: bool = False,
    overrides: dict[str, Any] | None = None,
) -> WorkerSummary:
    """Fetch from the shared queue until stopped (or idle for `idle_exit` seconds)."""
    connect(redis_url)  # a clear error now rather than a traceback from inside Scrapy
    open_archive(db_url, for_writing=True).dispose()
    settings = worker_settings(
        redis_url, db_url, prefix=prefix, base_url=base_url, fast=fast, overrides=overrides
    )
    started = time.monotonic()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsisWorkerSpider)
    process.crawl(crawler, idle_exit=idle_exit)
    try:
        process.start()
    finally:
        close_unclosed()  # a second Ctrl-C stops Scrapy without closing the pipeline's writer
    stats = crawler.stats.get_stats()
    worker_id = LeaseBook.of(crawler).worker_id
    return WorkerSummary(
        worker_id,
        # None: a second Ctrl-C or signal stopped Scrapy at once, without closing the spider.
        str(stats.get("finish_reason") or "forced shutdown"),
        outcome_counts(stats),
        time.monotonic() - started,
        int(stats.get(DROPPED_STAT, 0)),
    )

"""Scale-out workers: they fetch from the shared scrapy-redis queue and store into the archive.

One round = one `newsarchive schedule` (from cron, crawler.scaleout.rounds) = one crawl_runs row
of kind "round"; it queues the feeds, the backfill's first list pages and the due revisits. Workers
(`newsarchive worker`) run the newsis spider on the shared queue and ingest into the shared
PostgreSQL archive; ingest is one transaction per capture and serialises concurrent ingests of
one article itself (row lock on the article, retry on a unique-key collision).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.crawl_run import crawl_settings, limit_to_one_site
from crawler.db_thread import ArchiveThread
from crawler.pipelines import store_counted
from crawler.run_summary import WorkerSummary, outcome_counts
from crawler.scaleout.leased_scheduler import (
    DROPPED_STAT,
    LEASE_META,
    LeaseBook,
    connect,
    current_round,
    leased_count,
    reclaim_dead,
)
from crawler.spiders.newsis import (
    NewsisSpider,
)
from crawler.writer_process import IngestProcess, close_unclosed
from storage.db import open_archive
from storage.fetched_page import FetchedPage

logger = logging.getLogger(__name__)

# How often a worker beats and looks for dead workers' requests, as a share of the TTL.
_BEATS_PER_TTL = 4
# How often an idle worker looks at the queue for work pushed by others.
_WAKE_INTERVAL = 0.5


# --- the worker's spider and pipeline ----------------------------------------------------------


class NewsisWorkerSpider(NewsisSpider):
    """The newsis spider fed from the shared queue: it plans nothing itself.

    Feeds, list pages and revisits come from the scheduling job; what a feed or list page
    yields goes back on the queue (through the shared filter), so any worker may fetch it.
    Archived articles found in a feed are left to the job's revisit plan (revisit="none").
    """

    name = "newsis-worker"

    def __init__(self, idle_exit: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("revisit", "none")
        super().__init__(**kwargs)
        self.idle_exit = idle_exit
        self._idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.leases = LeaseBook.of(crawler)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        # Nothing of our own: every request comes off the shared queue.
        return
        yield

    # --- leases ----------------------------------------------------------------------------

    def _opened(self) -> None:
        interval = self.leases.ttl / _BEATS_PER_TTL
        self._beat = task.LoopingCall(self._beat_and_reclaim)
        self._beat.start(interval, now=True)
        self._wake = task.LoopingCall(self._wake_engine)
        self._wake.start(_WAKE_INTERVAL, now=False)

    def _wake_engine(self) -> None:
        # An idle engine asks the scheduler again only on its 5 s heartbeat; work pushed by
        # other workers meanwhile would wait. Scrapy has no public "poll now" call (scrapy-redis
        # uses engine.crawl, which would re-push and re-filter the request), so the engine's
        # own next-call is scheduled: a no-op when one is already pending. With --idle-exit it
        # is scheduled on an empty queue too: an idle engine then signals spider_idle now, not
        # on its heartbeat, and the worker stops within this interval of its idle time, not 5 s.
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is None:
            return
        if self.idle_exit is not None or self.leases.client.zcard(self.leases.keys.queue):
            slot.nextcall.schedule()

    def _beat_and_reclaim(self) -> None:
        try:
            self.leases.beat()
            reclaim_dead(self.leases.client, self.leases.keys)
        except Exception:  # Redis away for a moment: the next beat tries again
            logger.exception("Heartbeat to Redis failed")

    def _closed(self) -> None:
        for call in (getattr(self, "_beat", None), getattr(self, "_wake", None)):
            if call is not None and call.running:
                call.stop()

    def _idle(self) -> None:
        """Keep waiting for work; with --idle-exit, stop once nothing was queued or leased
        anywhere for that long (a leased request may still yield more work)."""
        if self.idle_exit is None:
            raise DontCloseSpider
        client, keys = self.leases.client, self.leases.keys
        if client.zcard(keys.queue) or leased_count(client, keys):
            self._idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.idle_exit:
            raise DontCloseSpider

    async def _children(self, response: Response, output: AsyncIterator[Any]):
        token = response.request.meta.get(LEASE_META)
        async for out in output:
            yield self.leases.child(token, out) if isinstance(out, scrapy.Request) else out
        self.leases.parent_done(token)

    # --- discovery ---------------------------------------------------------------------------

    async def parse_feed(self, response: Response, slug: str) -> AsyncIterator[Any]:
        async for out in self._children(response, super().parse_feed(response, slug)):
            yield out

    async def parse_list(
        self, response: Response, path_template: str, page: int, since: str
    ) -> AsyncIterator[Any]:
        async for out in self._children(
            response, super().parse_list(response, path_template, page, since)
        ):
            yield out

    def discovery_failed(self, failure: Failure) -> None:
        super().discovery_failed(failure)
        # Retried already; the next round reads the feeds again.
        self.leases.ack(failure.request.meta.get(LEASE_META))

    # --- article fetches ---------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[FetchedPage]:
        yield from self._leased(response.request, super().parse_article(response))

    def article_failed(self, failure: Failure) -> Iterable[FetchedPage]:
        yield from self._leased(failure.request, super().article_failed(failure))

    def _leased(self, request: scrapy.Request, pages: Iterable[FetchedPage]):
        token = request.meta.get(LEASE_META)
        handed = False
        for page in pages:
            if token is not None:
                page.extra[LEASE_META] = token  # the pipeline finishes the lease after ingest
            handed = True
            yield page
        if not handed:  # refused by robots.txt or the offsite filter: nothing to store
            self.leases.ack(token)


@dataclass(frozen=True, slots=True)
class LeaseRelease:
    """Finishes leases in the writer process, right after their pages are committed.

    Receipts are the leased requests' data, the fields of this worker's `taken` hash."""

    redis_url: str
    taken_key: str

    def __call__(self, receipts: list[bytes]) -> None:
        client = _writer_redis.get(self.redis_url)
        if client is None:
            client = _writer_redis[self.redis_url] = connect(self.redis_url)
        client.hdel(self.taken_key, *receipts)


# The writer process's Redis connection (one per URL), made on its first release.
_writer_redis: dict[str, Any] = {}


class WorkerArchivePipeline:
    """ArchivePipeline's ingest, for workers: no run lock (many workers share the archive), the
    captures counted into the current round, and the request's lease finished after commit."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive = ArchiveThread.of(crawler)
        self.leases = LeaseBook.of(crawler)
        self.writer: IngestProcess | None = None
        self._round: int | None = None
        self._round_read_at = float("-inf")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerArchivePipeline:
        return cls(crawler)

    def _current_round(self) -> int | None:
        now = time.monotonic()
        if now - self._round_read_at >= 1.0:
            self._round = current_round(self.leases.client, self.leases.keys)
            self._round_read_at = now
        return self._round

    async def open_spider(self) -> None:
        # Started with the worker, not on its first page: a worker waits on the queue ready to
        # store, and the first pages of a round do not wait for a writer process to start.
        release = LeaseRelease(self.crawler.settings.get("REDIS_URL"), self.leases.taken_key)
        self.writer = IngestProcess(self.archive.db_url, after_commit=release)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        token = item.extra.pop(LEASE_META, None)
        assert self.writer is not None  # opened with the spider
        receipt = self.leases.data_of(token)
        if await store_counted(self.crawler, self.writer, item, self._current_round(), receipt):
            self.leases.ack(token)
        # Else the lease stays: the request goes back on the queue when this worker stops.
        return item

    async def close_spider(self) -> None:
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
        self.archive.close()


# --- worker runner -----------------------------------------------------------------------------


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
            "ITEM_PIPELINES": {"crawler.scaleout.worker.WorkerArchivePipeline": 300},
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

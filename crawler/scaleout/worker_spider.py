"""The worker's spiders: a publisher's spider fed from its lane of the shared queue, its requests
leased; one class per publisher (`worker_spider_for`)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from functools import cache
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.publishers import Publisher
from crawler.scaleout.leases import LEASE_META, LeaseBook
from crawler.scaleout.shared_queue import leased_count, reclaim_dead
from crawler.spiders.publisher import PublisherSpider, expected_answers
from storage.fetched_page import FetchedPage

logger = logging.getLogger(__name__)

# How often a worker beats and looks for dead workers' requests, as a share of the TTL.
_BEATS_PER_TTL = 4
# How often an idle worker looks at the queue for work pushed by others.
_WAKE_INTERVAL = 0.5


class WorkerSpider(PublisherSpider):
    """A publisher's spider fed from its lane of the shared queue: it plans nothing itself.

    Feeds, list pages and revisits come from the scheduling job; what a feed or list page
    yields goes back on the queue (through the shared filter), so any worker may fetch it.
    Archived articles found in a feed are left to the job's revisit plan (revisit="none").
    Its publisher (the class's `publisher`, set by worker_spider_for) names its lane and what
    its queue entries may be.
    """

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


@cache
def worker_spider_for(publisher: Publisher) -> type[WorkerSpider]:
    """The worker spider class of `publisher` (one per publisher and process)."""
    return type(
        f"{publisher.name.title().replace('-', '').replace('_', '')}WorkerSpider",
        (WorkerSpider,),
        {
            "name": f"{publisher.name}-worker",
            "publisher": publisher,
            "handle_httpstatus_list": expected_answers(publisher),
            "__module__": __name__,
        },
    )

"""scrapy-redis for Scrapy >= 2.19: its scheduler, queue and dupefilter, leased and warning-free.

What differs from scrapy-redis 0.9.1 (its issue #305 / PR #316 list the deprecated calls):
- stats are counted without the deprecated `spider=` argument; the dupefilter is built here, not
  through `from_spider`; filtered requests are logged without `BaseDupeFilter.log`;
- we never use RedisSpider (its start_requests is deprecated, and its start URLs bypass the
  dupefilter anyway): the scheduling job pushes whole serialised requests onto the queue;
- a popped request is *leased*, not gone: scrapy-redis pops destructively, so a worker killed
  with requests in flight would lose them while their fingerprints stay in the filter. Here the
  pop moves the request into the worker's `taken` hash in the same Lua call; the worker removes
  it when the request is finished (its page ingested, or its child requests on the queue) and
  keeps an `alive` key with a short TTL. Any worker, and the scheduling job, puts the taken
  requests of a worker whose `alive` key expired back on the queue;
- the duplicate filter is per round (`seen:<round>`): the scheduling job starts a round, and a
  URL fetched in the last round (a failed article, a feed) may be fetched again in the next;
- entries are JSON (crawler.scaleout.queue_codec), never pickles: an entry that is not a
  request of ours is dropped and counted, and retries and redirects stay with the worker that
  leased them.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import time
from collections.abc import Callable

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.scaleout.leases import LEASE_META, PARENT_META, LeaseBook
from crawler.scaleout.queue_codec import BadEntry, decode, encode
from crawler.scaleout.shared_queue import RedisKeys, current_round

logger = logging.getLogger(__name__)

# Workers cache the round id this long: one GET per request would double Redis round trips.
ROUND_CACHE_SECONDS = 1.0
# Bad entries one pop skips at most: a flooded queue must not keep the reactor from its heartbeat.
MAX_BAD_ENTRIES_PER_POP = 100
# Bad entries logged one by one; after that one line every this many (the count is in the stats).
LOGGED_BAD_ENTRIES = 10
LOG_BAD_ENTRIES_EVERY = 1000
DROPPED_STAT = "newsarchive/queue/dropped"


class LeasedPriorityQueue(PriorityQueue):
    """scrapy-redis' priority queue (a sorted set of JSON entries), with leased pops; an entry
    that is not a request of ours is dropped (its lease finished) and passed to `on_bad`."""

    def __init__(
        self, server, spider: Spider, key: str, book: LeaseBook,
        on_bad: Callable[[BadEntry, bytes], None],
    ):
        # The serializer is never used (the two methods below replace it); json, not pickle,
        # so that no inherited path can ever unpickle an entry.
        super().__init__(server, spider, key, serializer=json)
        self.book = book
        self.on_bad = on_bad

    def _encode_request(self, request: Request) -> bytes:
        return encode(request, self.spider)

    def _decode_request(self, encoded_request: bytes) -> Request:
        return decode(encoded_request, self.spider)

    def push(self, request: Request) -> None:
        """Push a fresh request; BadEntry, with nothing pushed, if it is not one of ours."""
        self.server.zadd(self.key, {self._encode_request(request): -request.priority})

    def pop(self, timeout: int = 0) -> Request | None:
        for _ in range(MAX_BAD_ENTRIES_PER_POP):
            leased = self.book.pop()
            if leased is None:
                return None
            data, token = leased
            try:
                request = self._decode_request(data)
            except BadEntry as error:
                self.book.ack(token)  # dropped for good: nobody is to fetch it
                self.on_bad(error, data)
                continue
            request.meta[LEASE_META] = token
            return request
        return None


class RoundDupeFilter(RFPDupeFilter):
    """The shared filter of the current round (`seen:<round>`), read from Redis."""

    def __init__(self, server, keys: RedisKeys, debug: bool = False) -> None:
        super().__init__(server, key=keys.seen("none"), debug=debug)
        self.keys = keys
        self._round_read_at = float("-inf")

    def _refresh_key(self) -> None:
        now = time.monotonic()
        if now - self._round_read_at >= ROUND_CACHE_SECONDS:
            round_id = current_round(self.server, self.keys)
            self.key = self.keys.seen(round_id if round_id is not None else "none")
            self._round_read_at = now

    def request_seen(self, request: Request) -> bool:
        self._refresh_key()
        return super().request_seen(request)

    def close(self, reason: str = "") -> None:
        # The filter belongs to the round, not to this worker: other workers go on using it.
        pass

    def log_filtered(self, request: Request) -> None:
        if self.debug:
            logger.debug("Filtered duplicate request: %s", request)


class LeasedScheduler(Scheduler):
    """scrapy-redis' Scheduler with a leased queue and the round filter; always persistent.

    Fresh requests go to the shared queue. A retry or a redirect of a leased request stays in
    this worker (its lease stays open until it is finished): the queue never carries mid-flight
    state, and if the worker dies, the leased original is fetched again from the start.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeasedScheduler:
        book = LeaseBook.of(crawler)
        settings = crawler.settings
        instance = cls(
            server=book.client,
            persist=True,  # the queue is shared: one worker stopping must not flush it
            queue_key=book.keys.queue,
            dupefilter=RoundDupeFilter(
                book.client, book.keys, settings.getbool("DUPEFILTER_DEBUG")
            ),
        )
        instance.stats = crawler.stats
        instance.book = book
        instance.follow_ups = []
        instance._follow_up_no = itertools.count()
        return instance

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.book.beat()
        self.queue = LeasedPriorityQueue(
            self.server, spider, self.queue_key, self.book, self.drop_bad_entry
        )

    def close(self, reason: str) -> None:
        self.follow_ups.clear()  # their leased originals go back below
        returned = self.book.give_back()
        if returned:
            logger.info("Put %d unfinished request(s) back on the queue", returned)
        self.server.delete(self.book.keys.alive(self.book.worker_id))

    def __len__(self) -> int:
        return len(self.follow_ups) + len(self.queue)

    def drop_bad_entry(self, error: BadEntry, data: bytes) -> None:
        """Count (and log, within reason) an entry that is not a request of ours."""
        if self.stats:
            self.stats.inc_value(DROPPED_STAT)
            self.stats.inc_value(f"{DROPPED_STAT}/{error.reason}")
        dropped = self.stats.get_value(DROPPED_STAT, 0) if self.stats else 0
        if dropped <= LOGGED_BAD_ENTRIES or dropped % LOG_BAD_ENTRIES_EVERY == 0:
            logger.warning(
                "Dropped a queue entry that is not a request of ours (%s; %d so far): %r",
                error, dropped, data[:120],
            )

    def enqueue_request(self, request: Request) -> bool:
        parent = request.meta.pop(PARENT_META, None)
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log_filtered(request)
                if self.stats:
                    self.stats.inc_value("scheduler/filtered/redis")
                # A filtered retry or redirect: the lease it carries is finished all the same.
                self.book.ack(request.meta.pop(LEASE_META, None))
                return False
            if LEASE_META in request.meta:
                heapq.heappush(
                    self.follow_ups, (-request.priority, next(self._follow_up_no), request)
                )
                if self.stats:
                    self.stats.inc_value("scheduler/enqueued/follow_up")
                return True
            try:
                self.queue.push(request)
            except BadEntry as error:
                logger.error("Not queued, not a request the workers accept (%s): %s",
                             error, request)
                if self.stats:
                    self.stats.inc_value("newsarchive/queue/not_pushed")
                return False
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            return True
        finally:
            self.book.child_scheduled(parent)

    def next_request(self) -> Request | None:
        if self.follow_ups:
            return heapq.heappop(self.follow_ups)[2]
        request = self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.follow_ups) or len(self.queue) > 0

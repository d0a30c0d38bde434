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

import hashlib
import heapq
import itertools
import json
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.scaleout.queue_codec import BadEntry, decode, encode
from storage.db_url import credentials_problem, redact_url

logger = logging.getLogger(__name__)

REDIS_ENV_VAR = "NEWSARCHIVE_REDIS"
DEFAULT_PREFIX = "newsarchive"
# A worker whose heartbeat is older than this is dead: its leased requests go back on the queue.
# Long enough that a busy worker (ingest runs off the reactor) always beats it, short enough
# that a killed worker's requests wait well under a minute.
DEFAULT_WORKER_TTL = 30.0
# The last round's fingerprints stay this long, for workers that still hold the old round id.
OLD_ROUND_FILTER_TTL = 3600
# Meta keys: the lease a request came from, and the lease of the response that yielded it.
LEASE_META = "newsarchive_lease"
PARENT_META = "newsarchive_parent"
# Workers cache the round id this long: one GET per request would double Redis round trips.
ROUND_CACHE_SECONDS = 1.0
# Bad entries one pop skips at most: a flooded queue must not keep the reactor from its heartbeat.
MAX_BAD_ENTRIES_PER_POP = 100
# Bad entries logged one by one; after that one line every this many (the count is in the stats).
LOGGED_BAD_ENTRIES = 10
LOG_BAD_ENTRIES_EVERY = 1000
DROPPED_STAT = "newsarchive/queue/dropped"

# Pop the best-priority request and lease it to one worker, in one atomic step.
_POP_LUA = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
redis.call('HSET', KEYS[2], item[1], item[2])
return item
"""
# Put every request a (dead or stopping) worker holds back on the queue, at its priority.
# Anyone may write to Redis: a `taken` key that is not a hash, or a score that is not a number,
# is junk to delete, not an error that stops every reclaim after it.
_RECLAIM_LUA = """
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then redis.call('DEL', KEYS[1]) return 0 end
local all = redis.call('HGETALL', KEYS[1])
local moved = 0
for i = 1, #all, 2 do
  local score = tonumber(all[i + 1])
  if score then redis.call('ZADD', KEYS[2], score, all[i]) moved = moved + 1 end
end
redis.call('DEL', KEYS[1])
return moved
"""


def redact_redis_url(url: str) -> str:
    """The Redis URL with any password replaced by *** (redis://:secret@host → redis://:***@host)."""
    return redact_url(url)


def connect(url: str) -> redis.Redis:
    """A client on `url` that has answered a PING; ConnectionError (URL redacted) if it cannot."""
    problem = credentials_problem(url)
    if problem is not None:
        # redis-py would read part of the password as the host and print it in its error.
        raise ConnectionError(f"not a Redis URL: {redact_url(url)!r}: {problem}")
    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        client.ping()
    except (redis.RedisError, ValueError) as error:
        raise ConnectionError(f"cannot reach Redis at {redact_redis_url(url)}: {error}") from None
    return client


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Every key of one deployment, under one prefix (tests use a unique prefix each)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def queue(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def round(self) -> str:
        return f"{self.prefix}:round"

    @property
    def schedule_lock(self) -> str:
        return f"{self.prefix}:schedule-lock"

    def seen(self, round_id: int | str) -> str:
        return f"{self.prefix}:seen:{round_id}"

    def taken(self, worker_id: str) -> str:
        return f"{self.prefix}:taken:{worker_id}"

    def alive(self, worker_id: str) -> str:
        return f"{self.prefix}:alive:{worker_id}"

    def taken_keys(self, client: redis.Redis) -> Iterator[tuple[str, str]]:
        """(worker id, key) of every worker holding leased requests."""
        pattern = self.taken("*")
        for key in client.scan_iter(match=pattern, count=500):
            key = key.decode() if isinstance(key, bytes) else key
            yield key.rsplit(":", 1)[1], key


def fingerprint(request: Request) -> str:
    """The request's fingerprint in the shared filter (scrapy-redis' own: method, canonical URL,
    body), so the scheduling job and the workers agree without a crawler."""
    return RFPDupeFilter.request_fingerprint(None, request)  # type: ignore[arg-type]


def reclaim_dead(client: redis.Redis, keys: RedisKeys) -> int:
    """Put the leased requests of every worker that stopped beating back on the queue."""
    returned = 0
    for worker_id, key in list(keys.taken_keys(client)):
        if not client.exists(keys.alive(worker_id)):
            moved = int(client.eval(_RECLAIM_LUA, 2, key, keys.queue))
            if moved:
                logger.warning("Put %d request(s) of dead worker %s back on the queue", moved,
                               worker_id)
            returned += moved
    return returned


def leased_count(client: redis.Redis, keys: RedisKeys) -> int:
    return sum(_hash_len(client, key) for _, key in keys.taken_keys(client))


def _hash_len(client: redis.Redis, key: str) -> int:
    try:
        return int(client.hlen(key))
    except redis.ResponseError:  # not a hash: junk someone wrote, which reclaim_dead deletes
        return 0


def current_round(client: redis.Redis, keys: RedisKeys) -> int | None:
    """The current round's crawl_runs id; None when there is none, or it is not a number."""
    value = client.get(keys.round)
    if not value:
        return None
    try:
        round_id = int(value)
    except ValueError:
        logger.warning("Ignored the round key %s: %r is not a round id", keys.round, value[:40])
        return None
    return round_id if round_id > 0 else None


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaseBook:
    """This worker's leases: which request holds which, and when each is finished.

    A request is finished when its page was ingested (the pipeline says so), or, for a feed or
    a list page, when its callback ended and every request it yielded went through the
    scheduler (pushed to Redis, or filtered as a duplicate).
    """

    def __init__(self, client: redis.Redis, keys: RedisKeys, worker_id: str, ttl: float) -> None:
        self.client = client
        self.keys = keys
        self.worker_id = worker_id
        self.ttl = ttl
        self.taken_key = keys.taken(worker_id)
        self._data: dict[str, bytes] = {}
        self._open_children: Counter[str] = Counter()
        self._parents_done: set[str] = set()

    @classmethod
    def of(cls, crawler: Crawler) -> LeaseBook:
        book = getattr(crawler, "_newsarchive_leases", None)
        if book is None:
            settings = crawler.settings
            book = cls(
                connect(settings.get("REDIS_URL")),
                RedisKeys(settings.get("NEWSARCHIVE_REDIS_PREFIX") or DEFAULT_PREFIX),
                settings.get("NEWSARCHIVE_WORKER_ID") or new_worker_id(),
                settings.getfloat("NEWSARCHIVE_WORKER_TTL", DEFAULT_WORKER_TTL),
            )
            crawler._newsarchive_leases = book
        return book

    def __len__(self) -> int:
        return len(self._data)

    def beat(self) -> None:
        self.client.set(self.keys.alive(self.worker_id), str(time.time()), px=int(self.ttl * 1000))

    def pop(self) -> tuple[bytes, str] | None:
        """The next request's data, leased to this worker, and its lease token."""
        item = self.client.eval(_POP_LUA, 2, self.keys.queue, self.taken_key)
        if not item:
            return None
        data = item[0]
        token = hashlib.sha1(data).hexdigest()
        self._data[token] = data
        return data, token

    def data_of(self, token: str | None) -> bytes | None:
        """The leased request's data (its field in the `taken` hash), while the lease is open."""
        return None if token is None else self._data.get(token)

    def ack(self, token: str | None) -> None:
        """The leased request is finished: it will not be fetched again for this lease."""
        if token is None:
            return
        data = self._data.pop(token, None)
        self._open_children.pop(token, None)
        self._parents_done.discard(token)
        if data is not None:
            self.client.hdel(self.taken_key, data)

    def child(self, parent: str | None, request: Request) -> Request:
        if parent is not None:
            request.meta[PARENT_META] = parent
            self._open_children[parent] += 1
        return request

    def child_scheduled(self, parent: str | None) -> None:
        if parent is None:
            return
        self._open_children[parent] -= 1
        if self._open_children[parent] <= 0 and parent in self._parents_done:
            self.ack(parent)

    def parent_done(self, token: str | None) -> None:
        if token is None:
            return
        if self._open_children[token] <= 0:
            self.ack(token)
        else:
            self._parents_done.add(token)

    def give_back(self) -> int:
        """On a clean stop: every unfinished request goes back on the queue at once."""
        self._data.clear()
        return int(self.client.eval(_RECLAIM_LUA, 2, self.taken_key, self.keys.queue))


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


def queued_entries(client: redis.Redis, keys: RedisKeys) -> Iterator[tuple[str, bytes]]:
    """(key, entry) of every request on the queue or leased by a worker, as stored."""
    for data in client.zscan_iter(keys.queue, count=1000):
        yield keys.queue, data[0]
    for _, key in list(keys.taken_keys(client)):
        try:
            for data in client.hscan_iter(key, count=1000):
                yield key, data[0]
        except redis.ResponseError:  # not a hash: junk, deleted by the next reclaim
            continue


def push_request(client: redis.Redis, keys: RedisKeys, request: Request, spider: Spider) -> None:
    client.zadd(keys.queue, {encode(request, spider): -request.priority})

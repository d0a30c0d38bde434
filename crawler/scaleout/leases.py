"""A worker's leases: a popped request stays in Redis, as this worker's, until it is finished."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections import Counter

import redis
from scrapy import Request
from scrapy.crawler import Crawler

from crawler.publishers import publisher_of_spider
from crawler.scaleout.shared_queue import (
    DEFAULT_PREFIX,
    RedisKeys,
    connect,
    lane_keys,
    requeue_leases,
)

# A worker whose heartbeat is older than this is dead: its leased requests go back on the queue.
# Long enough that a busy worker (ingest runs off the reactor) always beats it, short enough
# that a killed worker's requests wait well under a minute.
DEFAULT_WORKER_TTL = 30.0
# Meta keys: the lease a request came from, and the lease of the response that yielded it.
LEASE_META = "newsarchive_lease"
PARENT_META = "newsarchive_parent"
# Pop the best-priority request and lease it to one worker, in one atomic step.
_POP_LUA = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
redis.call('HSET', KEYS[2], item[1], item[2])
return item
"""
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
        """The crawler's book, on the lane of its spider's publisher."""
        book = getattr(crawler, "_newsarchive_leases", None)
        if book is None:
            settings = crawler.settings
            book = cls(
                connect(settings.get("REDIS_URL")),
                lane_keys(
                    settings.get("NEWSARCHIVE_REDIS_PREFIX") or DEFAULT_PREFIX,
                    publisher_of_spider(crawler.spidercls).name,
                ),
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
        return requeue_leases(self.client, self.keys, self.taken_key)

"""What scale-out keeps in Redis: its keys, the shared queue, the round, dead workers' leases."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from scrapy import Request, Spider
from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.scaleout.queue_codec import encode
from storage.db_url import credentials_problem, redact_url

logger = logging.getLogger(__name__)

REDIS_ENV_VAR = "NEWSARCHIVE_REDIS"
DEFAULT_PREFIX = "newsarchive"
# The last round's fingerprints stay this long, for workers that still hold the old round id.
OLD_ROUND_FILTER_TTL = 3600
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
        raise ConnectionError(f"cannot reach Redis at {redact_url(url)}: {error}") from None
    return client


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Every key of one lane, under one prefix (tests use a unique deployment prefix each).

    Each publisher is a lane of its own under the deployment's prefix (`lane_keys`): its own
    queue, round, filters, leases and schedule lock, so a worker crawler of one publisher never
    pops another's requests. Keys under the plain prefix are those of a deployment from before
    publishers had lanes (docs/DEPLOYMENT.md)."""

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


def lane_keys(prefix: str, publisher_name: str) -> RedisKeys:
    """The keys of one publisher's lane under a deployment's prefix."""
    return RedisKeys(f"{prefix}:{publisher_name}")


def fingerprint(request: Request) -> str:
    """The request's fingerprint in the shared filter (scrapy-redis' own: method, canonical URL,
    body), so the scheduling job and the workers agree without a crawler."""
    return RFPDupeFilter.request_fingerprint(None, request)  # type: ignore[arg-type]


def requeue_leases(client: redis.Redis, keys: RedisKeys, taken_key: str) -> int:
    """Put every request a worker's `taken` hash holds back on the queue; how many."""
    return int(client.eval(_RECLAIM_LUA, 2, taken_key, keys.queue))


def reclaim_dead(client: redis.Redis, keys: RedisKeys) -> int:
    """Put the leased requests of every worker that stopped beating back on the queue."""
    returned = 0
    for worker_id, key in list(keys.taken_keys(client)):
        if not client.exists(keys.alive(worker_id)):
            moved = requeue_leases(client, keys, key)
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

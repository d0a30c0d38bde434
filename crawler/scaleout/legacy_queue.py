"""The queue of a deployment from before publishers had lanes: its keys are under the plain prefix.

Nothing of it is lost: the first per-publisher rounds move its requests into their publishers'
lanes (each lane takes the entries that decode as its publisher's, at their priority; they are
carried over as any queued request is) and close its last round. docs/DEPLOYMENT.md.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis
from sqlalchemy.orm import Session

from crawler.run_summary import ROUND_KIND, end_run
from crawler.scaleout.queue_codec import BadEntry, decode
from crawler.scaleout.shared_queue import (
    OLD_ROUND_FILTER_TTL,
    RedisKeys,
    current_round,
    reclaim_dead,
)
from crawler.scaleout.worker_spider import WorkerSpider
from storage.models import CrawlRun

logger = logging.getLogger(__name__)


def adopt_legacy_requests(
    client: redis.Redis, legacy: RedisKeys, lane: RedisKeys, spider: WorkerSpider
) -> int:
    """Move the plain prefix's queued requests of the lane's publisher into its lane; how many.
    Leases of the old workers that stopped go back on the plain queue first; entries of no
    publisher chosen here stay for a later round (a junk one stays too: it never runs)."""
    reclaim_dead(client, legacy)
    moved = 0
    for data, score in list(client.zscan_iter(legacy.queue, count=1000)):
        try:
            decode(data, spider)
        except BadEntry:
            continue
        if client.zrem(legacy.queue, data):
            client.zadd(lane.queue, {data: score}, nx=True)
            moved += 1
    if moved:
        logger.info("Moved %d request(s) of the %s lane from the plain prefix's queue", moved,
                    spider.publisher.name)
    return moved


def close_legacy_round(client: redis.Redis, legacy: RedisKeys, session: Session) -> str | None:
    """Close the last round of the plain prefix, if it is still running; its summary line."""
    round_id = current_round(client, legacy)
    # Taken once: a job planning other lanes meanwhile does not close it twice.
    if round_id is None or not client.delete(legacy.round):
        return None
    client.expire(legacy.seen(round_id), OLD_ROUND_FILTER_TTL)
    run = session.get(CrawlRun, round_id)
    if run is None or run.kind != ROUND_KIND or run.outcome != "running" or run.note:
        return None  # not a round before lanes (those were opened without a note)
    seconds = max(0.0, (datetime.now(UTC) - run.started_at).total_seconds())
    note = "its queued requests carried into the per-publisher lanes"
    return end_run(session, round_id, "finished", note, seconds).line()

"""The scheduling job of scale-out: one `newsarchive schedule` starts a round and queues its work,
for each chosen publisher in its own lane (crawler.scaleout.shared_queue.lane_keys).

Per lane, it closes the lane's previous round (a crawl_runs row of kind "round"), puts dead
workers' requests back on the lane's queue, seeds the new round's filter with what is still
queued (carried over, not queued twice), then queues the publisher's feeds, the backfill's first
list pages and its due revisits (at most the revisit budget, the longest overdue first).
Sitemaps are left to the single crawl (docs/DEPLOYMENT.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import scrapy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db_thread import KnownArticle, most_overdue, revisit_batch
from crawler.publishers import Publisher, publisher_named
from crawler.run_summary import ROUND_KIND, end_run
from crawler.runlock import RunLockBusy, redis_lock
from crawler.scaleout.legacy_queue import adopt_legacy_requests, close_legacy_round
from crawler.scaleout.queue_codec import BadEntry, decode
from crawler.scaleout.shared_queue import (
    OLD_ROUND_FILTER_TTL,
    RedisKeys,
    connect,
    current_round,
    fingerprint,
    lane_keys,
    leased_count,
    push_request,
    queued_entries,
    reclaim_dead,
)
from crawler.scaleout.worker_spider import WorkerSpider, worker_spider_for
from crawler.spiders.newsis import DEFAULT_REVISIT_BUDGET
from storage.db import make_session_factory, open_archive
from storage.models import Capture, CrawlRun
from storage.runs import start_run

logger = logging.getLogger(__name__)

_REVISIT_BATCH = 500


class ScheduleBusy(RunLockBusy):
    """Another scheduling job is running on a lane of this Redis prefix."""


# The scheduling job's lock lives this long unless renewed: a killed job blocks cron this long.
SCHEDULE_LOCK_TTL = 20.0


@dataclass
class RoundPlan:
    publisher: str
    round_id: int
    feeds: int = 0
    list_pages: int = 0
    revisits: int = 0
    carried_over: int = 0  # requests still queued or leased from earlier rounds
    recovered: int = 0  # requests of dead workers put back on the queue
    dropped: int = 0  # queue entries that were not requests of ours, removed
    previous: str | None = None  # the previous round's summary line

    def line(self) -> str:
        return (
            f"{self.publisher}: round {self.round_id} queued: {self.feeds} feeds, "
            f"{self.list_pages} list pages, {self.revisits} revisits "
            f"({self.carried_over} requests carried over, "
            f"{self.recovered} recovered from dead workers, "
            f"{self.dropped} bad queue entries dropped)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id, "feeds": self.feeds, "list_pages": self.list_pages,
            "revisits": self.revisits, "carried_over": self.carried_over,
            "recovered": self.recovered, "dropped": self.dropped, "previous": self.previous,
        }


def round_request_builder(publisher: Publisher, base_url: str) -> WorkerSpider:
    # The worker spider makes the requests, so callbacks serialise by their worker-side names.
    spider = worker_spider_for(publisher)()
    spider.base_url = base_url
    return spider


def lane_note(publisher: Publisher) -> str:
    """The note a lane's round row starts with: which publisher's round it is."""
    return f"publisher {publisher.name}"


def schedule_rounds(
    redis_url: str,
    db_url: str,
    *,
    prefix: str,
    base_urls: Mapping[str, str],
    since: date | None = None,
    revisit: str = "due",
    lock_ttl: float = SCHEDULE_LOCK_TTL,
    revisit_budget: int = DEFAULT_REVISIT_BUDGET,
) -> list[RoundPlan]:
    """Start a round in the lane of each publisher `base_urls` names (its name -> the base URL
    its requests go to) and queue its work; return what was queued, lane by lane. Safe to run
    from cron: ScheduleBusy, with nothing planned, when a lane's lock is held.

    Requests still queued from the last round of a lane are carried into its new one, not
    queued twice.
    """
    client = connect(redis_url)
    lanes = [(publisher_named(name), base_urls[name]) for name in sorted(base_urls)]
    with ExitStack() as locks:
        # Every lane's lock before any work, each freed on every way out (a failure included):
        # cron's next run must not find one held.
        for publisher, _ in lanes:
            busy = ScheduleBusy(
                f"another scheduling job is running on the {publisher.name} lane of this"
                " Redis prefix"
            )
            locks.enter_context(
                redis_lock(client, lane_keys(prefix, publisher.name).schedule_lock, lock_ttl,
                           busy)
            )
        engine = open_archive(db_url, for_writing=True)
        try:
            sessions = make_session_factory(engine)
            legacy = RedisKeys(prefix)  # a deployment's keys from before lanes
            with sessions() as session:
                closed = close_legacy_round(client, legacy, session)
            if closed:
                logger.warning("Closed the last round from before lanes: %s", closed)
            return [
                _plan_round(client, legacy, lane_keys(prefix, publisher.name), sessions,
                            round_request_builder(publisher, base_url), since, revisit,
                            revisit_budget)
                for publisher, base_url in lanes
            ]
        finally:
            engine.dispose()


def _plan_round(
    client, legacy: RedisKeys, keys: RedisKeys, sessions, spider: WorkerSpider,
    since: date | None, revisit: str, revisit_budget: int,
) -> RoundPlan:
    publisher = spider.publisher
    recovered = reclaim_dead(client, keys)
    # Carried over as the lane's own queued requests are.
    adopt_legacy_requests(client, legacy, keys, spider)
    with sessions() as session:
        previous_id = current_round(client, keys)
        carried = client.zcard(keys.queue) + leased_count(client, keys)
        previous_line = _close_round(session, publisher, previous_id, carried)
        round_id = start_run(session, kind=ROUND_KIND, note=lane_note(publisher))
    seen = keys.seen(round_id)
    carried_over, dropped = _seed_filter(client, keys, seen, spider)
    plan = RoundPlan(publisher.name, round_id, carried_over=carried_over, recovered=recovered,
                     dropped=dropped, previous=previous_line)
    # Workers switch to the new filter within a second (they cache the round id that long).
    client.set(keys.round, round_id)
    if previous_id is not None:
        client.expire(keys.seen(previous_id), OLD_ROUND_FILTER_TTL)

    def queue(request: scrapy.Request, *, planned: bool = False) -> bool:
        if not client.sadd(seen, fingerprint(request)):
            return False  # already queued (or leased) from an earlier round
        if planned:
            # A planned revisit passes any filter; its fingerprint is in this round's
            # filter, so the same article found in a feed meanwhile is not fetched twice.
            request = request.replace(dont_filter=True)
        push_request(client, keys, request, spider)
        return True

    # Sitemaps stay with the single crawl: their <lastmod> revisits need the archive's last
    # check at fetch time, which workers (revisit="none") do not look up.
    for request in spider.discovery_requests(since, sitemaps=False):
        if request.callback == spider.parse_feed:
            plan.feeds += queue(request)
        else:
            plan.list_pages += queue(request)
    for article in _round_revisits(sessions, publisher, revisit, revisit_budget):
        request = spider.article_request(article.article_id, article, "revisit")
        plan.revisits += queue(request, planned=True)
    return plan


def _round_revisits(
    sessions, publisher: Publisher, revisit: str, budget: int
) -> Iterator[KnownArticle]:
    """The publisher's articles to fetch again. due: at most `budget`, the longest overdue
    first; all: every one; none: none."""
    if revisit == "due":
        with sessions() as session:
            yield from most_overdue(session, datetime.now(UTC), budget, publisher.name)
        return
    after_id = ""
    while revisit == "all":
        with sessions() as session:
            known = revisit_batch(session, None, after_id, _REVISIT_BATCH, publisher.name)
        if not known:
            return
        after_id = known[-1].article_id
        yield from known


def _close_round(
    session: Session, publisher: Publisher, round_id: int | None, carried: int
) -> str | None:
    """Close the lane's last round, if its round key names a running round of the lane; its
    summary line."""
    if round_id is None:
        return None
    run = session.get(CrawlRun, round_id)
    tag = lane_note(publisher)
    if (
        run is None or run.kind != ROUND_KIND or run.outcome != "running"
        or run.note != tag
    ):
        # The key is anyone's to write: it must not close a crawl, another lane's round, or a
        # round twice.
        logger.warning("The %s round key names no running round of its lane (%s); not closing"
                       " it", publisher.name, round_id)
        return None
    carried_note = f"{carried} request(s) carried into the next round" if carried else None
    note = "; ".join(filter(None, [tag, carried_note]))
    seconds = _round_seconds(session, run, carried)
    return end_run(session, round_id, "finished", note, seconds).line()


def _round_seconds(session: Session, run: CrawlRun, carried: int) -> float:
    """How long the round ran: from its start to its last capture, or to now while requests
    of it are still waiting (or none of it was ever stored)."""
    last = session.scalar(
        select(func.max(Capture.fetched_at)).where(Capture.crawl_run_id == run.crawl_run_id)
    )
    end = datetime.now(UTC) if carried or last is None else last
    return max(0.0, (end - run.started_at).total_seconds())


def _seed_filter(
    client, keys: RedisKeys, seen: str, spider: WorkerSpider
) -> tuple[int, int]:
    """Put what is still queued or leased into the round's filter, so it is not queued twice.

    Returns (requests carried over, bad entries dropped). A queued entry that is not a request
    of the lane's publisher is removed; one a live worker holds is left to that worker, which
    drops it.
    """
    carried_over = dropped = 0
    batch: list[str] = []
    for key, data in queued_entries(client, keys):
        try:
            request = decode(data, spider)
        except BadEntry as error:
            if key == keys.queue:
                dropped += client.zrem(keys.queue, data)
                logger.warning("Dropped a queue entry that is not a request of ours (%s): %r",
                               error, data[:120])
            continue
        batch.append(fingerprint(request))
        carried_over += 1
        if len(batch) >= 1000:
            client.sadd(seen, *batch)
            batch.clear()
    if batch:
        client.sadd(seen, *batch)
    return carried_over, dropped

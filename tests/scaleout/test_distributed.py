"""Scale-out against real Redis, real PostgreSQL and the local site: schedule + worker processes."""

from __future__ import annotations

import os
import re
import signal
import time

import redis
from scrapy import Request

from crawler.localsite.server import NewsisSite
from crawler.scaleout.leases import LeaseBook
from crawler.scaleout.shared_queue import reclaim_dead
from crawler.scaleout.worker import worker_settings
from storage.db_url import redact_url as redact_redis_url
from tests.support.crawl_support import (
    CRAWL_TIMEOUT,
    article_fetches,
    clear_requests,
)
from tests.support.processes import finish_within, wait_until
from tests.support.scaleout_support import (
    PG_VERSIONS_SQL,
    finish,
    needs_both,
    needs_redis,
    newsis_keys,
    pg_rows,
    reference_versions,
    schedule,
    start_worker,
    warnings_in,
)


def test_worker_keeps_no_more_requests_in_flight_than_its_per_site_limit() -> None:
    # Scrapy 2.19 alone lets a burst past CONCURRENT_REQUESTS_PER_DOMAIN (16 in flight were
    # measured with a limit of 1); a worker fetches one site, so the limit is its total too.
    fast = worker_settings("redis://unused", "sqlite://", prefix="p", fast=True,
                           overrides={"CONCURRENT_REQUESTS_PER_DOMAIN": "1"})
    polite = worker_settings("redis://unused", "sqlite://", prefix="p")
    tighter_total = worker_settings("redis://unused", "sqlite://", prefix="p",
                                    overrides={"CONCURRENT_REQUESTS": "1"})
    assert fast.getint("CONCURRENT_REQUESTS") == 1
    assert polite.getint("CONCURRENT_REQUESTS") == polite.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    assert tighter_total.getint("CONCURRENT_REQUESTS") == 1


# --- Redis only --------------------------------------------------------------------------------


def test_redis_url_password_is_redacted() -> None:
    assert redact_redis_url("redis://:s3cret@queue:6379/0") == "redis://:***@queue:6379/0"
    assert redact_redis_url("rediss://user:pw@h/1") == "rediss://user:***@h/1"
    assert redact_redis_url("redis://queue:6379/0") == "redis://queue:6379/0"


@needs_redis
def test_dead_workers_leased_requests_go_back_on_the_queue(redis_url, prefix) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    client.zadd(keys.queue, {b"first": -5, b"second": 0})
    dead = LeaseBook(client, keys, "dead", ttl=60)
    live = LeaseBook(client, keys, "live", ttl=60)
    live.beat()
    data, _ = dead.pop()
    assert data == b"first" and client.zcard(keys.queue) == 1
    live.pop()
    assert client.zcard(keys.queue) == 0

    assert reclaim_dead(client, keys) == 1  # "dead" never beat; "live" keeps its lease
    assert client.zrange(keys.queue, 0, -1, withscores=True) == [(b"first", -5.0)]
    assert client.hlen(keys.taken("live")) == 1


@needs_redis
def test_finished_lease_is_not_given_back(redis_url, prefix) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    client.zadd(keys.queue, {b"one": 0, b"two": 0})
    book = LeaseBook(client, keys, "w", ttl=60)
    _, token_one = book.pop()
    book.pop()
    book.ack(token_one)
    assert book.give_back() == 1
    assert client.zrange(keys.queue, 0, -1) == [b"two"]


@needs_redis
def test_parent_lease_waits_for_every_child_to_be_scheduled(redis_url, prefix) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    client.zadd(keys.queue, {b"feed": 0})
    book = LeaseBook(client, keys, "w", ttl=60)
    _, token = book.pop()
    children = [book.child(token, Request(f"http://site/view/{n}")) for n in range(2)]
    book.parent_done(token)
    book.child_scheduled(children[0].meta.pop("newsarchive_parent"))
    assert client.hlen(keys.taken("w")) == 1
    book.child_scheduled(children[1].meta.pop("newsarchive_parent"))
    assert client.hlen(keys.taken("w")) == 0


# --- Redis + PostgreSQL + the local site -------------------------------------------------------


@needs_both
def test_three_workers_archive_every_article_once_as_one_crawl_does(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    with NewsisSite(seed=21, articles=90) as site:
        expected = reference_versions(site, tmp_path)
        plan = schedule(redis_url, pg_url, prefix, site)
        assert "16 feeds" in plan.stdout
        workers = [start_worker(redis_url, pg_url, prefix, site, f"w{n}") for n in range(3)]
        results = [finish(worker) for worker in workers]
        fetches = article_fetches(site)

    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert "stopped (finished)" in out
        assert warnings_in(err) == []
    assert pg_rows(pg_url, PG_VERSIONS_SQL) == expected
    assert len(expected) == len(site.live_articles())
    assert set(fetches.values()) == {1}  # no article fetched by two workers
    # The workers' own counts add up to the archive's.
    counted = sum(
        int(re.search(r"^newsis: worker \S+ stopped \(\w+\): (\d+) new articles", out).group(1))
        for _, out, _ in results
    )
    assert counted == len(expected)


@needs_both
def test_killed_worker_loses_nothing_and_duplicates_nothing(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    with NewsisSite(seed=22, articles=120) as site:
        expected = reference_versions(site, tmp_path)
        # Slow pages and two requests at a time per worker: the run lasts long enough to kill
        # one worker with requests in flight.
        site.set_faults(latency=0.2)
        schedule(redis_url, pg_url, prefix, site)
        slow = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        victim = start_worker(redis_url, pg_url, prefix, site, "victim", *slow)
        client = redis.Redis.from_url(redis_url)
        keys = newsis_keys(prefix)
        wait_until(
            lambda: pg_rows(pg_url, "SELECT count(*) FROM captures")[0][0] >= 5
            and client.hlen(keys.taken("victim")) > 0,
            "the victim worker holds leased requests after some ingests",
        )
        others = [start_worker(redis_url, pg_url, prefix, site, f"w{n}", *slow) for n in range(2)]
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=CRAWL_TIMEOUT)
        results = [finish(worker) for worker in others]
        fetches = article_fetches(site)

    for code, _, err in results:
        assert code == 0, err[-3000:]
    assert "request(s) of dead worker victim back on the queue" in "".join(
        err for _, _, err in results
    )
    assert not client.exists(keys.taken("victim"))
    assert pg_rows(pg_url, PG_VERSIONS_SQL) == expected
    captures = pg_rows(pg_url, "SELECT count(*), count(DISTINCT article_id) FROM captures")[0]
    # An article can be fetched twice only if the victim died between committing its page and
    # finishing the lease (one Redis call): at most the one page it was storing.
    assert captures[1] == len(expected)
    assert captures[0] - captures[1] <= 1
    # Pages the victim had fetched but not stored yet were fetched again by the others: the
    # site saw them twice, the archive once.
    assert set(fetches) == {article_id for article_id, _, _ in expected}


@needs_both
def test_worker_stopped_by_two_ctrl_c_ends_at_once_and_its_requests_are_fetched_by_another(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    """A second Ctrl-C stops Scrapy without closing the spider (no pipeline close): the worker
    must still end promptly, storing what its writer holds, and say how it stopped."""
    with NewsisSite(seed=23, articles=120) as site:
        expected = reference_versions(site, tmp_path)
        site.set_faults(latency=0.2)
        schedule(redis_url, pg_url, prefix, site)
        slow = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        stopped = start_worker(redis_url, pg_url, prefix, site, "stopped", *slow, own_group=True)
        wait_until(
            lambda: pg_rows(pg_url, "SELECT count(*) FROM captures")[0][0] >= 5,
            "the worker's first ingests",
        )
        os.killpg(stopped.pid, signal.SIGINT)
        time.sleep(0.05)  # two signals, not one (pending signals of a kind merge)
        os.killpg(stopped.pid, signal.SIGINT)
        code, out, err = finish_within(stopped, seconds=60)
        assert code == 1, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        assert "stopped (forced shutdown)" in out, out
        # What it had leased and not finished goes back once its heartbeat expires (3 s here).
        other = start_worker(redis_url, pg_url, prefix, site, "other", *slow)
        other_code, _, other_err = finish(other)
    assert other_code == 0, other_err[-3000:]
    assert pg_rows(pg_url, PG_VERSIONS_SQL) == expected


@needs_both
def test_planned_revisits_pass_the_filter_and_feeds_do_not_refetch_them(
    redis_url, prefix, pg_url
) -> None:
    with NewsisSite(seed=23, articles=40) as site:
        schedule(redis_url, pg_url, prefix, site)
        assert finish(start_worker(redis_url, pg_url, prefix, site, "w1"))[0] == 0
        live = site.live_articles()
        edited = site.edit_article(live[-1].article_id).article_id
        clear_requests(site)

        plan = schedule(redis_url, pg_url, prefix, site, "--revisit", "all")
        assert f"{len(live)} revisits" in plan.stdout
        workers = [start_worker(redis_url, pg_url, prefix, site, f"w{n}") for n in range(2)]
        assert all(finish(worker)[0] == 0 for worker in workers)
        fetches = article_fetches(site)

    # Every article once in round 2, though the feeds list most of them too.
    assert fetches == {a.article_id: 1 for a in live}
    outcomes = dict(pg_rows(
        pg_url,
        "SELECT outcome, count(*) FROM captures WHERE crawl_run_id = 2 GROUP BY outcome",
    ))
    assert outcomes.get("new_version") == 1
    assert pg_rows(
        pg_url, f"SELECT max(version_no) FROM versions WHERE article_id = '{edited}'"
    ) == [(2,)]
    runs = pg_rows(pg_url, "SELECT crawl_run_id, kind, outcome FROM crawl_runs ORDER BY 1")
    assert runs == [(1, "round", "finished"), (2, "round", "running")]

"""The shared queue is data, never code: pickles never run, bad entries are dropped and counted."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest
import redis

from crawler.localsite.server import NewsisSite
from crawler.publishers.newsis import NEWSIS
from crawler.scaleout.queue_codec import BadEntry, decode, encode
from crawler.scaleout.rounds import round_request_builder
from tests.support.crawl_support import CRAWL_TIMEOUT
from tests.support.processes import wait_until
from tests.support.queue_entries import (
    encoded,
    malformed_entries,
    mutated_one_way,
    pickled_traces,
    valid_entries,
)
from tests.support.scaleout_support import (
    PG_VERSIONS_SQL,
    _command,
    finish,
    needs_both,
    newsis_keys,
    pg_rows,
    reference_versions,
    start_worker,
)

BASE_URL = "http://127.0.0.1:8123"
OTHER_ORIGIN = "http://127.0.0.1:8124"


def _dropped_by_worker(out: str) -> int:
    return int(re.search(r"; (\d+) bad queue entries dropped", out).group(1))


def _dropped_by_schedule(out: str) -> int:
    return int(re.search(r", (\d+) bad queue entries dropped\)", out).group(1))


# --- the codec alone ---------------------------------------------------------------------------


def test_every_kind_of_request_we_push_decodes_to_the_same_request() -> None:
    spider = round_request_builder(NEWSIS, BASE_URL)
    rng = random.Random(7)
    for _ in range(50):
        for entry in valid_entries(BASE_URL, rng):
            request = decode(encoded(entry), spider)
            assert request.url == entry["url"]
            assert request.callback.__name__ == entry["callback"]
            assert encode(request, spider) == encoded(entry)


def test_an_entry_with_any_one_thing_wrong_is_a_bad_entry() -> None:
    spider = round_request_builder(NEWSIS, BASE_URL)
    cases = mutated_one_way(BASE_URL, OTHER_ORIGIN)
    assert len(cases) > 60
    for name, data in cases:
        with pytest.raises(BadEntry):
            decode(data, spider)
            pytest.fail(f"{name} decoded: {data!r}")


def test_random_bytes_and_junk_are_bad_entries_never_another_error() -> None:
    spider = round_request_builder(NEWSIS, BASE_URL)
    rng = random.Random(11)
    junk = malformed_entries(rng, BASE_URL, OTHER_ORIGIN, 500)
    junk += [rng.randbytes(rng.randrange(0, 300)) for _ in range(300)]
    for data in junk:
        with pytest.raises(BadEntry):
            decode(data, spider)


def test_pickles_are_bad_entries_and_never_run(tmp_path: Path) -> None:
    spider = round_request_builder(NEWSIS, BASE_URL)
    trace = tmp_path / "ran"
    for data in pickled_traces(trace):
        with pytest.raises(BadEntry):
            decode(data, spider)
    assert not trace.exists()


# --- real Redis, PostgreSQL, the local site, schedule and worker processes ---------------------


def _schedule(redis_url, db_url, prefix, site) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command("schedule", redis_url, db_url, prefix, site),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )


@needs_both
def test_schedule_with_pickles_and_junk_queued_neither_crashes_nor_runs_them(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    trace = tmp_path / "ran"
    with NewsisSite(seed=61, articles=10) as site, NewsisSite(seed=62, articles=3) as other:
        bad = pickled_traces(trace) + malformed_entries(
            random.Random(61), site.base_url, other.base_url, 80
        )
        client.zadd(keys.queue, dict.fromkeys(bad[: len(bad) // 2], 0))
        # The rest in the lease of a worker that died: the job puts it back, then drops it.
        client.hset(keys.taken("dead"), mapping=dict.fromkeys(bad[len(bad) // 2 :], 0))
        result = _schedule(redis_url, pg_url, prefix, site)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _dropped_by_schedule(result.stdout) == len(bad)
    assert not trace.exists()
    assert set(client.zrange(keys.queue, 0, -1)).isdisjoint(bad)
    assert client.zcard(keys.queue) == 16  # the round's feeds, nothing else


@needs_both
def test_workers_drop_and_count_bad_entries_queued_during_a_round_and_archive_the_rest(
    redis_url, prefix, pg_url, tmp_path
) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = newsis_keys(prefix)
    trace, late_trace = tmp_path / "ran", tmp_path / "ran-late"
    rng = random.Random(63)
    with NewsisSite(seed=63, articles=60) as site, NewsisSite(seed=64, articles=3) as other:
        expected = reference_versions(site, tmp_path)
        before = malformed_entries(rng, site.base_url, other.base_url, 40) + pickled_traces(trace)
        client.zadd(keys.queue, dict.fromkeys(before, -50))
        plan = _schedule(redis_url, pg_url, prefix, site)
        assert plan.returncode == 0, plan.stderr
        site.set_faults(latency=0.3)  # a round long enough to push into
        slow = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        workers = [start_worker(redis_url, pg_url, prefix, site, f"w{n}", *slow) for n in range(2)]
        wait_until(lambda: pg_rows(pg_url, "SELECT count(*) FROM captures")[0][0] >= 3,
                   "the round's first captures")
        during = malformed_entries(rng, site.base_url, other.base_url, 60)
        during = [data for data in during if data not in before] + pickled_traces(late_trace)
        # Ahead of the articles, so the workers meet them while the round goes on.
        client.zadd(keys.queue, dict.fromkeys(during, -50))
        results = [finish(worker) for worker in workers]
        other_requests = list(other.requests)

    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert "stopped (finished)" in out
        assert "Traceback" not in err, err[-3000:]
    assert not trace.exists() and not late_trace.exists()
    assert other_requests == []  # no entry made a worker fetch another origin
    assert _dropped_by_schedule(plan.stdout) == len(before)
    assert sum(_dropped_by_worker(out) for _, out, _ in results) == len(during)
    assert client.zcard(keys.queue) == 0
    assert pg_rows(pg_url, PG_VERSIONS_SQL) == expected

"""Scale-out: pages/min of 1 and of 3 workers on one queue, the local site answering after 50 ms.

Needs PostgreSQL and Redis (NEWSARCHIVE_TEST_POSTGRES, NEWSARCHIVE_TEST_REDIS, as .ci/run sets).
Politeness is off (--fast), but each worker keeps one request in flight per site
(CONCURRENT_REQUESTS_PER_DOMAIN=1): that models the point of scaling out, a worker bounded by
its own latency budget rather than by CPU. The time is from the workers' start until every
article has a capture (idle-exit waiting is not counted).

    .venv/bin/python -m bench.bench_scaleout [--articles 400] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from sqlalchemy import create_engine, text

from storage.db import upgrade
from tests.site.server import NewsisSite
from tests.storage_fixtures import _postgres_database


def _count(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM captures")).scalar_one()
    finally:
        engine.dispose()


SEED = 5


@contextmanager
def local_site(articles: int, latency: float) -> Iterator[str]:
    """`python -m tests.site` in its own process (its page rendering must not share the
    benchmark's GIL), answering every page after `latency` seconds; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.site", "--articles", str(articles), "--seed", str(SEED)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        request = urllib.request.Request(
            f"{base_url}/_control/faults", data=json.dumps({"latency": latency}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(workers: int, articles: int, latency: float, redis_url: str, pg_server: str) -> float:
    """Pages per minute of `workers` workers on a fresh archive and queue."""
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(redis_url)
    for db_url in _postgres_database(pg_server):
        upgrade(db_url)
        with local_site(articles, latency) as base_url:
            base = [sys.executable, "-m", "crawler"]
            common = ["--redis", redis_url, "--db", db_url, "--key-prefix", prefix,
                      "--base-url", base_url]
            subprocess.run([*base, "schedule", *common], check=True, capture_output=True)
            wanted = len(NewsisSite(seed=SEED, articles=articles).live_articles())
            started = time.monotonic()
            procs = [
                subprocess.Popen(
                    [*base, "worker", *common, "--fast", "--idle-exit", "1",
                     "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            while _count(db_url) < wanted:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            for proc in procs:
                proc.wait(timeout=120)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    # Feeds and robots.txt are fetched too, but the figure counts article pages only.
    return wanted / elapsed * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    redis_url = os.environ.get("NEWSARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/15")
    pg_server = os.environ.get(
        "NEWSARCHIVE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
         if line.startswith("model name")),
        platform.processor(),
    )
    print(f"machine: {os.cpu_count()} CPUs (nproc), {cpu}, Python {platform.python_version()}")
    print(f"site: {args.articles} articles, {args.latency * 1000:.0f} ms per page")
    one = run(1, args.articles, args.latency, redis_url, pg_server)
    print(f"1 worker:  {one:8.0f} pages/min")
    three = run(3, args.articles, args.latency, redis_url, pg_server)
    print(f"3 workers: {three:8.0f} pages/min")
    print(f"ratio 3/1: {three / one:.2f}x (goal: at least 2.5x)")


if __name__ == "__main__":
    main()

"""Benchmark: pages/min of 1 and of 3 scale-out workers on one queue, pages answered after 50 ms.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_scaleout.py [--articles 400] [--latency 0.05]
[--in-flight 2] [--pairs 2] [--write]`. Needs PostgreSQL and Redis (NEWSARCHIVE_TEST_POSTGRES,
NEWSARCHIVE_TEST_REDIS, as .ci/run sets them); --write replaces "## Scale-out (issue 5)" in
bench/RESULTS.md.

Both configurations are measured the same way, 1 then 3 workers, `--pairs` times:
- the local site runs in its own process and answers every page after `--latency` seconds;
  each run gets a fresh PostgreSQL archive and Redis prefix;
- workers run as deployed: started first and waiting on the empty queue (their start-up is
  reported apart); then one round is scheduled: 16 feeds, which list every live article;
- pages/min = article pages archived / time from the round being queued to the last page
  committed (polled every 20 ms); feeds and robots.txt are fetched but not counted;
- every worker: `--fast` (no delay, no AutoThrottle) and at most `--in-flight` requests in
  flight, set by CONCURRENT_REQUESTS as well as CONCURRENT_REQUESTS_PER_DOMAIN: in Scrapy 2.19
  the per-domain limit alone lets a burst through (the downloader starts every queued request
  of a slot before the first one counts as transferring), so a worker had up to 16 in flight;
- CPU seconds per page of each component over the same window, from /proc: the workers (with
  any process they started), the site, the PostgreSQL backends of this archive, Redis (the
  whole server), and the machine's busy CPU (other programs included).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.common import machine, write_section  # noqa: E402
from bench.proc_cpu import CpuMeter, pids_named, with_descendants  # noqa: E402
from crawler.distributed import schedule_round  # noqa: E402
from crawler.redis_compat import RedisKeys  # noqa: E402
from storage.db import upgrade  # noqa: E402
from tests.site.server import NewsisSite  # noqa: E402
from tests.storage_fixtures import _postgres_database  # noqa: E402

SECTION = "## Scale-out (issue 5)"
GOAL = 2.5
SEED = 5
START_TIMEOUT = 180.0
ROUND_TIMEOUT = 600.0
COMPONENTS = ("workers", "site", "postgres", "redis")
# Busy CPU of everything else on the machine over the round (other programs): not ours, but
# it shows how much of the machine the round really had.
OTHERS = "others"


@dataclass
class Run:
    workers: int
    pages: int
    seconds: float  # round queued -> last page committed
    start_up: float  # workers started -> every worker waiting on the queue
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the round
    machine_busy: float = 0.0  # share of all CPUs busy over the round (anything running)
    duplicates: int = 0

    @property
    def per_minute(self) -> float:
        return self.pages / self.seconds * 60

    def cpu_ms_per_page(self, component: str) -> float:
        return self.cpu.get(component, 0.0) / self.pages * 1000


@contextmanager
def local_site(articles: int, latency: float) -> Iterator[tuple[str, int]]:
    """`python -m tests.site` in its own process (its page rendering must not share the
    benchmark's GIL), answering every page after `latency` seconds; yields (base URL, pid)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.site", "--articles", str(articles), "--seed", str(SEED)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        request = urllib.request.Request(
            f"{base_url}/_control/faults", data=json.dumps({"latency": latency}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def worker_command(redis_url: str, db_url: str, prefix: str, base_url: str, worker_id: str,
                   in_flight: int) -> list[str]:
    return [
        sys.executable, "-m", "crawler", "worker", "--redis", redis_url, "--db", db_url,
        "--key-prefix", prefix, "--base-url", base_url, "--fast",
        "-s", f"CONCURRENT_REQUESTS={in_flight}",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={in_flight}",
        "-s", f"NEWSARCHIVE_WORKER_ID={worker_id}",
    ]


def wait_for(condition, what: str, timeout: float, every: float = 0.02) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)
    return time.monotonic()


def run(workers: int, articles: int, latency: float, in_flight: int, redis_url: str,
        pg_server: str) -> Run:
    """One round of `workers` workers on a fresh archive and queue."""
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    keys = RedisKeys(prefix)
    client = redis.Redis.from_url(redis_url)
    wanted = len(NewsisSite(seed=SEED, articles=articles).live_articles())
    databases = _postgres_database(pg_server)
    db_url = next(databases)
    try:
        upgrade(db_url)
        engine = create_engine(db_url)
        try:
            with local_site(articles, latency) as (base_url, site_pid), engine.connect() as db:
                return _round(workers, wanted, in_flight, redis_url, db_url, prefix, keys,
                              client, base_url, site_pid, db, engine)
        finally:
            engine.dispose()
    finally:
        databases.close()
        stale = list(client.scan_iter(match=f"{prefix}:*"))
        if stale:
            client.delete(*stale)


def _round(workers, wanted, in_flight, redis_url, db_url, prefix, keys, client, base_url,
           site_pid, db, engine) -> Run:
    ids = [f"bench-w{n}" for n in range(workers)]
    launched = time.monotonic()
    procs = [
        subprocess.Popen(
            worker_command(redis_url, db_url, prefix, base_url, worker_id, in_flight),
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for worker_id in ids
    ]
    try:
        ready = wait_for(
            lambda: all(client.exists(keys.alive(w)) for w in ids)
            or any(p.poll() is not None for p in procs),
            "the workers to start", START_TIMEOUT,
        )
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker exited at start: " + procs[0].stderr.read()[-2000:])
        database = db.execute(text("SELECT current_database()")).scalar_one()
        poll_pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.commit()
        redis_pids = pids_named("redis-server")
        meter_db = engine.connect()  # the meter samples on its own thread: its own connection

        def groups() -> dict[str, list[int]]:
            # The backends serving the workers (and the meter's own, a few queries a second);
            # the benchmark's polling backend is left out.
            backends = meter_db.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> :poll"),
                {"name": database, "poll": poll_pid},
            ).scalars().all()
            meter_db.commit()
            return {"workers": list(with_descendants(p.pid for p in procs)), "site": [site_pid],
                    "postgres": list(backends), "redis": redis_pids}

        meter = CpuMeter(groups)
        meter.start()
        schedule_round(redis_url, db_url, prefix=prefix, base_url=base_url, revisit="none")
        queued = time.monotonic()

        def archived() -> bool:
            count = db.execute(text("SELECT count(*) FROM captures")).scalar_one()
            db.commit()
            return count >= wanted

        done = wait_for(archived, "every article to be archived", ROUND_TIMEOUT)
        cpu = meter.stop()
        meter_db.close()
        busy, total = meter.machine
        cpu["others"] = max(0.0, busy - sum(cpu.values()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # a clean stop: leases go back, writer drains
        for proc in procs:
            try:
                proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    pages, distinct = db.execute(
        text("SELECT count(*), count(DISTINCT article_id) FROM captures")
    ).one()
    return Run(workers, pages, done - queued, ready - launched, cpu,
               busy / total if total else 0.0, pages - distinct)


def report(runs: list[tuple[Run, Run]], args: argparse.Namespace) -> str:
    ones = [one for one, _ in runs]
    threes = [three for _, three in runs]
    ratios = [three.per_minute / one.per_minute for one, three in runs]
    ratio = statistics.median(ratios)
    lines = [
        SECTION, "",
        f"Machine: {machine()}. Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"`bench/bench_scaleout.py --articles {args.articles} --latency {args.latency}"
        f" --in-flight {args.in_flight} --pairs {args.pairs}`: the site answers every page after"
        f" {args.latency * 1000:.0f} ms; every worker `--fast` with at most {args.in_flight}"
        f" request(s) in flight (CONCURRENT_REQUESTS = CONCURRENT_REQUESTS_PER_DOMAIN ="
        f" {args.in_flight}); workers started before the round; pages/min = article pages /"
        " (round queued → last page committed). CPU from /proc over the same window.",
        "",
        "| workers | pages | s | pages/min | start-up s | CPU ms/page: workers | site | PostgreSQL"
        " | Redis | machine busy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for one, three in runs:
        for r in (one, three):
            lines.append(
                f"| {r.workers} | {r.pages} | {r.seconds:.1f} | {r.per_minute:.0f} |"
                f" {r.start_up:.1f} | "
                + " | ".join(f"{r.cpu_ms_per_page(c):.1f}" for c in COMPONENTS)
                + f" | {r.machine_busy:.0%} ({r.cpu_ms_per_page(OTHERS):.0f} ms/page elsewhere) |"
            )
    cpu_per_page = statistics.median(
        sum(r.cpu_ms_per_page(c) for c in COMPONENTS) for r in threes
    )
    cores = os.cpu_count() or 1
    ceiling = cores / (cpu_per_page / 1000) * 60
    one_pm = statistics.median(r.per_minute for r in ones)
    duplicates = sum(r.duplicates for r in ones + threes)
    lines += [
        "",
        f"- ratio 3/1: **{ratio:.2f}x** (pairs: {', '.join(f'{r:.2f}' for r in ratios)};"
        f" goal: at least {GOAL}x) — {'met' if ratio >= GOAL else '**not met**'}.",
        f"- CPU per page with 3 workers, all components: {cpu_per_page:.1f} ms: {cores} CPUs"
        f" can archive at most {ceiling:.0f} pages/min however many workers run; the goal"
        f" needs {GOAL * one_pm:.0f} ({GOAL}x one worker's {one_pm:.0f}).",
        f"- pages archived twice: {duplicates}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--in-flight", type=int, default=2,
                        help="requests in flight per worker (the polite default is 2)")
    parser.add_argument("--pairs", type=int, default=2, help="1-worker + 3-worker runs")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    redis_url = os.environ.get("NEWSARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/15")
    pg_server = os.environ.get(
        "NEWSARCHIVE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    print(f"machine: {machine()}")
    print(f"site: {args.articles} articles, {args.latency * 1000:.0f} ms per page;"
          f" every worker: --fast, {args.in_flight} request(s) in flight")
    runs = []
    for _ in range(args.pairs):
        pair = []
        for workers in (1, 3):
            r = run(workers, args.articles, args.latency, args.in_flight, redis_url, pg_server)
            cpu = ", ".join(f"{c} {r.cpu_ms_per_page(c):.1f}" for c in COMPONENTS)
            print(f"{workers} worker(s): {r.per_minute:6.0f} pages/min ({r.pages} pages in"
                  f" {r.seconds:.1f} s; start-up {r.start_up:.1f} s; CPU ms/page: {cpu};"
                  f" machine busy {r.machine_busy:.0%}, other programs"
                  f" {r.cpu.get(OTHERS, 0.0) / r.seconds:.2f} CPUs)", flush=True)
            pair.append(r)
        runs.append((pair[0], pair[1]))
    text_report = report(runs, args)
    print("\n".join(line for line in text_report.splitlines() if line.startswith("- ")))
    if args.write:
        write_section(text_report)


if __name__ == "__main__":
    main()

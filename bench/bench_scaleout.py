"""Benchmark: pages/min of 1 and of 3 scale-out workers on one queue, pages answered after 50 ms.

Run: `PYTHONPATH=. .venv/bin/python -m bench.bench_scaleout [--articles 400] [--latency 0.05]
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
- CPU seconds per page of each component over the same window, from /proc: the workers' Scrapy
  processes, the writer processes they start (parse + store), the site, the PostgreSQL
  backends of this archive, Redis (the whole server), and the machine's busy CPU (other
  programs included).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from bench.common import local_site, machine, write_section
from bench.proc_cpu import CpuMeter, cpu_seconds, pids_named, with_descendants
from crawler.localsite.server import NewsisSite
from crawler.scaleout.rounds import schedule_rounds
from crawler.scaleout.shared_queue import lane_keys
from storage.db import upgrade
from tests.support.storage_fixtures import throwaway_postgres_database

REPO = Path(__file__).resolve().parent.parent

SECTION = "## Scale-out (issue 5)"
GOAL = 2.5
SEED = 5
START_TIMEOUT = 180.0
ROUND_TIMEOUT = 600.0
# "workers" are the Scrapy processes, "writers" the processes they start to parse and store.
COMPONENTS = ("workers", "writers", "site", "postgres", "redis")
# Busy CPU of everything else on the machine over the round (other programs): not ours, but
# it shows how much of the machine the round really had.
OTHERS = "others"


@dataclass
class Run:
    workers: int
    pages: int
    seconds: float  # round queued -> last page committed
    start_up: float  # workers started -> every worker (and its writer) idle on the queue
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the round
    duplicates: int = 0

    @property
    def per_minute(self) -> float:
        return self.pages / self.seconds * 60

    def cpu_ms_per_page(self, component: str) -> float:
        return self.cpu.get(component, 0.0) / self.pages * 1000


def worker_command(redis_url: str, db_url: str, prefix: str, base_url: str, worker_id: str,
                   in_flight: int) -> list[str]:
    return [
        sys.executable, "-m", "crawler", "worker", "--redis", redis_url, "--db", db_url,
        "--key-prefix", prefix, "--publisher", "newsis", "--base-url", base_url, "--fast",
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


def wait_until_quiet(pids: list[int], timeout: float = START_TIMEOUT) -> float:
    """When the processes (and theirs: the writer processes) have finished starting: less
    than 5% of a CPU each over half a second (a worker waiting on the queue polls it twice a
    second; its writer process imports storage after the worker says it is up)."""
    started = time.monotonic()
    before = None
    while time.monotonic() - started < timeout:
        used = sum(cpu_seconds(pid) or 0.0 for pid in with_descendants(pids))
        if before is not None and used - before < 0.025 * len(pids):
            return time.monotonic()
        before = used
        time.sleep(0.5)
    raise SystemExit("the workers never went quiet after starting")


def run(workers: int, articles: int, latency: float, in_flight: int, redis_url: str,
        pg_server: str) -> Run:
    """One round of `workers` workers on a fresh archive and queue."""
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    keys = lane_keys(prefix, "newsis")
    client = redis.Redis.from_url(redis_url)
    wanted = len(NewsisSite(seed=SEED, articles=articles).live_articles())
    databases = throwaway_postgres_database(pg_server)
    db_url = next(databases)
    try:
        upgrade(db_url)
        engine = create_engine(db_url)
        try:
            site = local_site(articles, SEED, latency)
            with site as (base_url, site_pid), engine.connect() as db:
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
        ready = wait_until_quiet([p.pid for p in procs])
        database = db.execute(text("SELECT current_database()")).scalar_one()
        poll_pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.commit()
        meter_db = engine.connect()  # the meter samples on its own thread: its own connection
        meter = CpuMeter(cpu_groups(meter_db, database, poll_pid, procs, site_pid))
        meter.start()
        schedule_rounds(redis_url, db_url, prefix=prefix, base_urls={"newsis": base_url},
                        revisit="none")
        queued = time.monotonic()

        def archived() -> bool:
            count = db.execute(text("SELECT count(*) FROM captures")).scalar_one()
            db.commit()
            return count >= wanted

        done = wait_for(archived, "every article to be archived", ROUND_TIMEOUT)
        cpu = meter.stop()
        meter_db.close()
        busy, _ = meter.machine
        cpu[OTHERS] = max(0.0, busy - sum(cpu.values()))
    finally:
        stop_workers(procs)
    pages, distinct = db.execute(
        text("SELECT count(*), count(DISTINCT article_id) FROM captures")
    ).one()
    return Run(workers, pages, done - queued, ready - launched, cpu, pages - distinct)


def cpu_groups(meter_db, database: str, poll_pid: int, procs: list[subprocess.Popen],
               site_pid: int) -> Callable[[], dict[str, list[int]]]:
    """The processes the meter samples, by component, looked up afresh at each sample."""
    redis_pids = pids_named("redis-server")

    def groups() -> dict[str, list[int]]:
        # The backends serving the workers (and the meter's own, a few queries a second);
        # the benchmark's polling backend is left out.
        backends = meter_db.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> :poll"),
            {"name": database, "poll": poll_pid},
        ).scalars().all()
        meter_db.commit()
        scrapy_pids = [p.pid for p in procs]
        writers = with_descendants(scrapy_pids) - set(scrapy_pids)
        return {"workers": scrapy_pids, "writers": list(writers), "site": [site_pid],
                "postgres": list(backends), "redis": redis_pids}

    return groups


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # a clean stop: leases go back, writer drains
    for proc in procs:
        try:
            proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def cpus_used(r: Run) -> float:
    """CPUs the round's own processes kept busy, on average."""
    return sum(r.cpu.get(c, 0.0) for c in COMPONENTS) / r.seconds


def report_part(in_flight: int, runs: list[tuple[Run, Run]], latency: float) -> list[str]:
    ratios = [three.per_minute / one.per_minute for one, three in runs]
    ratio = statistics.median(ratios)
    lines = [
        f"### {in_flight} request(s) in flight per worker", "",
        "| workers | pages | s | pages/min | start-up s | CPU ms/page: Scrapy | writer | site"
        " | PostgreSQL | Redis | CPUs used by the round | by other programs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for one, three in runs:
        for r in (one, three):
            lines.append(
                f"| {r.workers} | {r.pages} | {r.seconds:.1f} | {r.per_minute:.0f} |"
                f" {r.start_up:.1f} | "
                + " | ".join(f"{r.cpu_ms_per_page(c):.1f}" for c in COMPONENTS)
                + f" | {cpus_used(r):.2f} | {r.cpu.get(OTHERS, 0.0) / r.seconds:.2f} |"
            )
    ms_per_page = statistics.median(
        sum(r.cpu_ms_per_page(c) for c in COMPONENTS) for pair in runs for r in pair
    )
    cores = os.cpu_count() or 1
    latency_bound = in_flight / latency * 60
    goal = GOAL * latency_bound
    duplicates = sum(r.duplicates for pair in runs for r in pair)
    lines += [
        "",
        f"- ratio 3/1: **{ratio:.2f}x** (pairs: {', '.join(f'{r:.2f}' for r in ratios)};"
        f" goal: at least {GOAL}x) — {'met' if ratio >= GOAL else '**not met**'}.",
        f"- One worker can fetch at most {latency_bound:.0f} pages/min ({in_flight} in flight,"
        f" {latency * 1000:.0f} ms each). {GOAL}x that is {goal:.0f} pages/min, which at"
        f" {ms_per_page:.1f} CPU ms per page (all components, median) takes"
        f" {goal / 60 * ms_per_page / 1000:.2f} CPUs; the {cores} CPUs archive at most"
        f" {cores / ms_per_page * 1000 * 60:.0f} pages/min however many workers run.",
        f"- pages archived twice: {duplicates}.",
    ]
    return lines


def report(parts: dict[int, list[tuple[Run, Run]]], args: argparse.Namespace) -> str:
    lines = [
        SECTION, "",
        f"Machine: {machine()}. Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"`bench/bench_scaleout.py --articles {args.articles} --latency {args.latency}"
        f" --in-flight {' '.join(map(str, args.in_flight))} --pairs {args.pairs}`: the site"
        f" answers every page after {args.latency * 1000:.0f} ms; every worker `--fast` with at"
        " most N requests in flight (CONCURRENT_REQUESTS = CONCURRENT_REQUESTS_PER_DOMAIN = N),"
        " the same for 1 and 3 workers; workers started before the round (start-up shown"
        " apart); pages/min = article pages / (round queued → last page committed). CPU from"
        " /proc over the same window; \"other programs\" is the rest of the machine's busy CPU"
        " (other benchmarks and tests sharing it).",
        "",
    ]
    for in_flight, runs in parts.items():
        lines += [*report_part(in_flight, runs, args.latency), ""]
    return "\n".join(map(wrapped, lines)).rstrip("\n") + "\n"


def wrapped(line: str) -> str:
    """A prose line or bullet wrapped at 100 columns, as the rest of RESULTS.md; tables stay."""
    if line.startswith("|") or len(line) <= 100:
        return line
    indent = "  " if line.startswith("- ") else ""
    return textwrap.fill(line, 100, subsequent_indent=indent, break_on_hyphens=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[2], metavar="N",
                        help="requests in flight per worker, one part each (polite default: 2)")
    parser.add_argument("--pairs", type=int, default=2, help="1-worker + 3-worker runs")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    redis_url = os.environ.get("NEWSARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/15")
    pg_server = os.environ.get(
        "NEWSARCHIVE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    print(f"machine: {machine()}")
    print(f"site: {args.articles} articles, {args.latency * 1000:.0f} ms per page")
    parts: dict[int, list[tuple[Run, Run]]] = {}
    for in_flight in args.in_flight:
        for _ in range(args.pairs):
            pair = []
            for workers in (1, 3):
                r = run(workers, args.articles, args.latency, in_flight, redis_url, pg_server)
                cpu = ", ".join(f"{c} {r.cpu_ms_per_page(c):.1f}" for c in COMPONENTS)
                print(f"{in_flight} in flight, {workers} worker(s): {r.per_minute:6.0f} pages/min"
                      f" ({r.pages} pages in {r.seconds:.1f} s; start-up {r.start_up:.1f} s;"
                      f" CPU ms/page: {cpu}; CPUs: the round {cpus_used(r):.2f}, other programs"
                      f" {r.cpu.get(OTHERS, 0.0) / r.seconds:.2f})", flush=True)
                pair.append(r)
            parts.setdefault(in_flight, []).append((pair[0], pair[1]))
    text_report = report(parts, args)
    print("\n".join(line for line in text_report.splitlines()
                    if line.startswith(("- ", "### "))))
    if args.write:
        write_section(text_report)


if __name__ == "__main__":
    main()

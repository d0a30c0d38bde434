"""Benchmark: an end-to-end crawl into a fresh SQLite archive against a bare Scrapy spider.

Run: `.venv/bin/python -m bench.bench_crawl [--articles 2000] [--rounds 2] [--write]`. The local
site runs in its own process (`python -m crawler.localsite`), so serving pages does not take the
crawler's GIL; each crawl runs in its own subprocess, politeness off, the same concurrency
(crawler.crawl_run.FAST_SETTINGS) and the same discovery (feeds, then every list page). --write
replaces the "### Throughput" part of "## Crawl (issue 4)" in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import local_site, machine, write_part
from bench.proc_cpu import CpuMeter, with_descendants
from crawler.crawl_run import FAST_SETTINGS

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Crawl (issue 4)"
# Older than any article the site makes (its "older" design goes back to 2015): every list page.
SINCE = "2010-01-01"
GOAL = 0.70

FAST_SETTINGS_TEXT = ", ".join(
    f"{name}={FAST_SETTINGS[name]}"
    for name in ("CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN")
)


def run_metered(command: list[str], site_pid: int) -> tuple[float, str, str, dict[str, float]]:
    """Run a crawl command: its wall time, output, errors and CPU seconds of the site, the crawl
    process and the processes it started (our writer)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    meter = CpuMeter(
        lambda: {
            "site": [site_pid],
            "crawl": [process.pid],
            "writer": with_descendants([process.pid]) - {process.pid},
        }
    )
    meter.start()
    out, err = process.communicate()
    wall = time.monotonic() - started
    cpu = meter.stop()
    if process.returncode != 0:
        raise SystemExit(f"{command[1:3]} failed: {err.strip()[-500:]}")
    return wall, out, err, cpu


def run_ours(base_url: str, db_path: Path, site_pid: int) -> dict:
    """`newsarchive crawl --fast --since …` into a fresh SQLite file: article pages, wall time."""
    wall, out, _, cpu = run_metered(
        [sys.executable, "-m", "crawler", "crawl", "--db", f"sqlite:///{db_path}",
         "--base-url", base_url, "--fast", "--since", SINCE, "--json"],
        site_pid,
    )
    summary = json.loads(out)
    articles = summary["new_article"] + summary["new_version"] + summary["unchanged"]
    return {"articles": articles, "failed": summary["failed"], "wall": wall,
            "inner": summary["seconds"], "cpu": cpu}


def run_bare(base_url: str, site_pid: int) -> dict:
    wall, out, _, cpu = run_metered(
        [sys.executable, str(REPO / "bench" / "bare_spider.py"), base_url], site_pid
    )
    result = json.loads(out.strip().splitlines()[-1])
    return {"articles": result["articles"], "failed": 0, "wall": wall,
            "inner": result["seconds"], "cpu": cpu}


def cpu_per_page(run: dict) -> str:
    """CPU milliseconds a page: site / crawl process / writer."""
    return " / ".join(
        f"{run['cpu'].get(group, 0.0) / run['articles'] * 1000:.1f}"
        for group in ("site", "crawl", "writer")
    )


def per_minute(run: dict) -> float:
    return run["articles"] / run["wall"] * 60




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    ours_runs, bare_runs = [], []
    with local_site(args.articles) as (base_url, site_pid), tempfile.TemporaryDirectory() as tmp:
        for number in range(args.rounds):
            # Alternated, so a warm page cache or a busy neighbour favours neither side.
            bare_runs.append(run_bare(base_url, site_pid))
            archive = Path(tmp) / f"archive-{number}.sqlite3"
            ours_runs.append(run_ours(base_url, archive, site_pid))
            print(f"round {number + 1}: bare {per_minute(bare_runs[-1]):,.0f}/min, "
                  f"ours {per_minute(ours_runs[-1]):,.0f}/min; CPU ms a page (site / crawl /"
                  f" writer): bare {cpu_per_page(bare_runs[-1])},"
                  f" ours {cpu_per_page(ours_runs[-1])}", file=sys.stderr)
    ours = max(ours_runs, key=per_minute)
    bare = max(bare_runs, key=per_minute)
    ratio = per_minute(ours) / per_minute(bare)
    verdict = "met" if ratio >= GOAL else "MISSED"
    report = "\n".join([
        "### Throughput (bench/bench_crawl.py)",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Local site: {args.articles} articles, in its own process (`python -m crawler.localsite`);"
        f" each crawl in a subprocess, politeness off (FAST_SETTINGS: "
        f"{FAST_SETTINGS_TEXT}), discovery = 16 feeds + every list page. Best of {args.rounds}"
        " alternated runs; wall time of the subprocess (start-up included).",
        "",
        "CPU ms a page: of the site's process, the crawl's process, and the processes the crawl"
        " started (our writer), from /proc.",
        "",
        "| crawler | article pages | wall s | in-crawl s | pages/min | CPU ms a page:"
        " site / crawl / writer |",
        "|---|---|---|---|---|---|",
        f"| bare Scrapy spider (pages thrown away) | {bare['articles']} | {bare['wall']:.1f} |"
        f" {bare['inner']:.1f} | {per_minute(bare):,.0f} | {cpu_per_page(bare)} |",
        f"| `newsarchive crawl` into fresh SQLite | {ours['articles']} | {ours['wall']:.1f} |"
        f" {ours['inner']:.1f} | {per_minute(ours):,.0f} | {cpu_per_page(ours)} |",
        "",
        f"- ours / bare: **{ratio:.0%}** (goal: at least {GOAL:.0%}: {verdict})",
        "",
    ])
    print(report)
    if args.write:
        write_part(SECTION, report)

if __name__ == "__main__":
    main()

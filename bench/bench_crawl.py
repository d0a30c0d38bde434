"""Benchmark: an end-to-end crawl into a fresh SQLite archive against a bare Scrapy spider.

Run: `.venv/bin/python bench/bench_crawl.py [--articles 2000] [--rounds 2] [--write]`. The local
site runs in its own process (`python -m tests.site`), so serving pages does not take the
crawler's GIL; each crawl runs in its own subprocess, politeness off, the same concurrency
(crawler.crawl.FAST_SETTINGS) and the same discovery (feeds, then every list page). --write
replaces the "### Throughput" part of "## Crawl (issue 4)" in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Crawl (issue 4)"
# Older than any article the site makes (its "older" design goes back to 2015): every list page.
SINCE = "2010-01-01"
GOAL = 0.70

sys.path.insert(0, str(REPO))
from bench.common import machine, write_part  # noqa: E402
from crawler.crawl import FAST_SETTINGS  # noqa: E402

FAST_SETTINGS_TEXT = ", ".join(
    f"{name}={FAST_SETTINGS[name]}"
    for name in ("CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN")
)


@contextmanager
def local_site(articles: int, seed: int = 3) -> Iterator[str]:
    """`python -m tests.site` in its own process; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.site", "--articles", str(articles), "--seed", str(seed)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise SystemExit("the local site did not start")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_ours(base_url: str, db_path: Path) -> dict:
    """`newsarchive crawl --fast --since …` into a fresh SQLite file: article pages, wall time."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--db", f"sqlite:///{db_path}",
         "--base-url", base_url, "--fast", "--since", SINCE, "--json"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"our crawl failed: {result.stderr.strip()[-500:]}")
    summary = json.loads(result.stdout)
    articles = summary["new_article"] + summary["new_version"] + summary["unchanged"]
    return {"articles": articles, "failed": summary["failed"], "wall": wall,
            "inner": summary["seconds"]}


def run_bare(base_url: str) -> dict:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bare_spider.py"), base_url],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the bare spider failed: {result.stderr.strip()[-500:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return {"articles": out["articles"], "failed": 0, "wall": wall, "inner": out["seconds"]}


def per_minute(run: dict) -> float:
    return run["articles"] / run["wall"] * 60




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    ours_runs, bare_runs = [], []
    with local_site(args.articles) as base_url, tempfile.TemporaryDirectory() as tmp:
        for number in range(args.rounds):
            # Alternated, so a warm page cache or a busy neighbour favours neither side.
            bare_runs.append(run_bare(base_url))
            ours_runs.append(run_ours(base_url, Path(tmp) / f"archive-{number}.sqlite3"))
            print(f"round {number + 1}: bare {per_minute(bare_runs[-1]):,.0f}/min, "
                  f"ours {per_minute(ours_runs[-1]):,.0f}/min", file=sys.stderr)
    ours = max(ours_runs, key=per_minute)
    bare = max(bare_runs, key=per_minute)
    ratio = per_minute(ours) / per_minute(bare)
    verdict = "met" if ratio >= GOAL else "MISSED"
    report = "\n".join([
        "### Throughput (bench/bench_crawl.py)",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Local site: {args.articles} articles, in its own process (`python -m tests.site`);"
        f" each crawl in a subprocess, politeness off (FAST_SETTINGS: "
        f"{FAST_SETTINGS_TEXT}), discovery = 16 feeds + every list page. Best of {args.rounds}"
        " alternated runs; wall time of the subprocess (start-up included).",
        "",
        "| crawler | article pages | wall s | in-crawl s | pages/min |",
        "|---|---|---|---|---|",
        f"| bare Scrapy spider (pages thrown away) | {bare['articles']} | {bare['wall']:.1f} |"
        f" {bare['inner']:.1f} | {per_minute(bare):,.0f} |",
        f"| `newsarchive crawl` into fresh SQLite | {ours['articles']} | {ours['wall']:.1f} |"
        f" {ours['inner']:.1f} | {per_minute(ours):,.0f} |",
        "",
        f"- ours / bare: **{ratio:.0%}** (goal: at least {GOAL:.0%}: {verdict})",
        "",
    ])
    print(report)
    if args.write:
        write_part(SECTION, report)

if __name__ == "__main__":
    main()

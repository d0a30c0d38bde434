"""Benchmark: reparse of a filled archive against the parser's pages/s times the cores.

Run: `.venv/bin/python bench/bench_reparse.py [--articles N] [--passes N] [--write]`; --write
replaces the "### Reparse speed" part of "## Storage (issue 3)" in bench/RESULTS.md. The archive
holds bench/storage_corpus.py's fetches plus two more rounds (one identical, one with the chrome
refreshed), as bench_storage.py fills it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import machine, write_part  # noqa: E402
from bench.reparse_parsers import parse_as_next_version  # noqa: E402
from bench.storage_corpus import Archive, Crawl, best_rate, parse_all  # noqa: E402
from storage.parsing import parse_page  # noqa: E402
from storage.reparse import reparse, worker_start_method  # noqa: E402

SECTION = "## Storage (issue 3)"
GOAL = 0.8


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 150 articles: 1,050 captures, so the worker pool's start-up does not dominate.
    options.add_argument("--articles", type=int, default=150)
    options.add_argument("--passes", type=int, default=3, help="parser timing passes, best kept")
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()
    cores = os.cpu_count() or 1

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    crawl.site.advance(60)
    fetches += crawl.round(fresh_chrome=False)
    crawl.site.advance(60)
    fetches += crawl.round()
    with tempfile.TemporaryDirectory(prefix="bench-reparse-") as temp:
        archive = Archive(Path(temp), "reparse")
        archive.ingest_all(fetches)
        archive.engine.dispose()  # as reparse does before it starts its workers
        start_method = worker_start_method(archive.url)
        # The same parser (nothing to write), then one whose records differ (all rewritten).
        same_summary, same_seconds, same_cpu = timed(reparse, archive.engine, parser=parse_page)
        new_summary, new_seconds, new_cpu = timed(
            reparse, archive.engine, parser=parse_as_next_version
        )
        archive.close()
    assert same_summary.changed == 0, same_summary
    assert new_summary.changed == len(crawl.ids), new_summary
    load = os.getloadavg()[0]
    parser_rate = best_rate(parse_all, fetches, args.passes)
    _, _, parser_cpu = min((timed(parse_all, fetches) for _ in range(args.passes)), key=cpu_of)

    same_rate = len(fetches) / same_seconds
    new_rate = len(fetches) / new_seconds
    goal_rate = parser_rate * cores
    lines = [
        "### Reparse speed",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"An archive of {len(fetches):,} captures ({len(crawl.ids)} articles,"
        " bench/storage_corpus.py plus an identical and a chrome-refreshed round); worker pool"
        " start-up included.",
        "",
        "| what | pages/s |",
        "|---|---|",
        f"| `parse_article` alone, one process (best of {args.passes}) | {parser_rate:,.0f} |",
        f"| `reparse`, same parser, {cores} workers | {same_rate:,.0f} |",
        f"| `reparse`, parser with new output, {cores} workers | {new_rate:,.0f} |",
        "",
        f"- reparse (new output) / (parser × {cores} cores): **{new_rate / goal_rate:.2f}**;"
        f" same parser: **{same_rate / goal_rate:.2f}** (goal: at least {GOAL})",
        f"- CPU time of reparse (every process) / CPU time of the parser alone: new output"
        f" {new_cpu / parser_cpu:.2f}, same parser {same_cpu / parser_cpu:.2f}: the work"
        " reparse adds to parsing (less noisy than the rates when the machine is busy)",
        f"- workers started by {start_method}; 1-minute load average before the parser timing:"
        f" {load:.1f} (the figures above assume the {cores} cores are otherwise idle)",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_part(SECTION, report)


def timed(work, *args, **kwargs) -> tuple[Any, float, float]:
    """`work`'s result, wall seconds, and CPU seconds of this process and its ended children."""
    before, start = os.times(), time.perf_counter()
    result = work(*args, **kwargs)
    seconds, after = time.perf_counter() - start, os.times()
    cpu = sum(after[:4]) - sum(before[:4])  # user, system, children's user, children's system
    return result, seconds, cpu


def cpu_of(timing: tuple[Any, float, float]) -> float:
    return timing[2]


if __name__ == "__main__":
    main()

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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import machine, write_part  # noqa: E402
from bench.reparse_parsers import parse_as_next_version  # noqa: E402
from bench.storage_corpus import Archive, Crawl, best_rate, parse_all  # noqa: E402
from storage.parsing import parse_page  # noqa: E402
from storage.reparse import reparse  # noqa: E402

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
        # The same parser (nothing to write), then one whose records differ (all rewritten).
        start = time.perf_counter()
        same_summary = reparse(archive.engine, parser=parse_page)
        same_seconds = time.perf_counter() - start
        start = time.perf_counter()
        new_summary = reparse(archive.engine, parser=parse_as_next_version)
        new_seconds = time.perf_counter() - start
        archive.close()
    assert same_summary.changed == 0, same_summary
    assert new_summary.changed == len(crawl.ids), new_summary
    parser_rate = best_rate(parse_all, fetches, args.passes)

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
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_part(SECTION, report)


if __name__ == "__main__":
    main()

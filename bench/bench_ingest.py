"""Benchmark: ingest into a fresh SQLite archive against the parser alone, on the same pages.

Run: `.venv/bin/python bench/bench_ingest.py [--articles N] [--passes N] [--write]`; --write
replaces the "### Ingest speed" part of "## Storage (issue 3)" in bench/RESULTS.md. The corpus is
bench/storage_corpus.py: local-site articles fetched 5 times, each edited once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import machine, write_part  # noqa: E402
from bench.storage_corpus import Archive, Crawl, Fetch, best_rate, parse_all  # noqa: E402

SECTION = "## Storage (issue 3)"
GOAL = 0.7


def ingest_best_rate(directory: Path, fetches: list[Fetch], passes: int) -> float:
    """Pages/s of the best pass, each into a fresh archive (opening it is setup, not timed)."""
    best = float("inf")
    for number in range(passes):
        archive = Archive(directory, f"speed{number}")
        start = time.perf_counter()
        archive.ingest_all(fetches)
        best = min(best, time.perf_counter() - start)
        archive.close()
    return len(fetches) / best


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=150)
    options.add_argument("--passes", type=int, default=3, help="timing passes, best kept")
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    parser_rate = best_rate(parse_all, fetches, args.passes)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as temp:
        ingest_rate = ingest_best_rate(Path(temp), fetches, args.passes)
    ratio = ingest_rate / parser_rate
    lines = [
        "### Ingest speed",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"The {len(fetches)} fetches of bench/storage_corpus.py ({len(crawl.ids)} articles);"
        f" best of {args.passes} passes each, in one run.",
        "",
        "| what | pages/s |",
        "|---|---|",
        f"| `parse_article` alone | {parser_rate:,.0f} |",
        f"| ingest into a fresh SQLite archive | {ingest_rate:,.0f} |",
        "",
        f"- ingest / parser: **{ratio:.2f}** (goal: at least {GOAL})",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_part(SECTION, report)


if __name__ == "__main__":
    main()

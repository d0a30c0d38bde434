"""Benchmark: ingest into a fresh SQLite archive against the parser alone, on the same pages.

Run: `.venv/bin/python bench/bench_ingest.py [--articles N] [--passes N] [--batch N] [--write]`;
--write replaces the "### Ingest speed" part of "## Storage (issue 3)" in bench/RESULTS.md. The
corpus is bench/storage_corpus.py: local-site articles fetched 5 times, each edited once. Ingest
is measured as the crawl's writer calls it, `ingest_many` with batches of --batch pages, and one
page per call (`ingest`), each against `parse_article` alone in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import machine, write_part  # noqa: E402
from bench.storage_corpus import Archive, Crawl, Fetch, best_rate, parse_all  # noqa: E402
from storage.archive import ingest_many  # noqa: E402

SECTION = "## Storage (issue 3)"
GOAL = 0.7
# What the crawl's writer process hands ingest_many at a time.
BATCH = 32


def ingest_in_batches(archive: Archive, fetches: list[Fetch], size: int) -> list[str]:
    """Ingest as the crawl's writer does: `size` pages per ingest_many call, a session each."""
    outcomes = []
    for start in range(0, len(fetches), size):
        with archive.sessions() as session:
            pages = [fetch.page for fetch in fetches[start : start + size]]
            outcomes += [result.outcome for result in ingest_many(session, pages)]
    return outcomes


def ingest_best_rate(
    directory: Path, fetches: list[Fetch], passes: int, run: Callable[[Archive], object]
) -> float:
    """Pages/s of the best pass, each into a fresh archive (opening it is setup, not timed)."""
    best = float("inf")
    for _ in range(passes):
        archive = Archive(directory, f"speed{time.monotonic_ns()}")
        start = time.perf_counter()
        run(archive)
        best = min(best, time.perf_counter() - start)
        archive.close()
    return len(fetches) / best


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=150)
    options.add_argument("--passes", type=int, default=3, help="timing passes, best kept")
    options.add_argument("--batch", type=int, default=BATCH, help="pages per ingest_many call")
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as temp:
        directory = Path(temp)
        # Interleaved, so that load from elsewhere on the machine weighs on all alike.
        runs = {
            "parser": lambda: best_rate(parse_all, fetches, 1),
            "batched": lambda: ingest_best_rate(
                directory, fetches, 1, lambda a: ingest_in_batches(a, fetches, args.batch)
            ),
            "single": lambda: ingest_best_rate(
                directory, fetches, 1, lambda a: a.ingest_all(fetches)
            ),
        }
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.passes):
            for name, run in runs.items():
                rates[name].append(run())
    parser_rate, batched_rate, single_rate = (max(rates[name]) for name in runs)
    ratio = batched_rate / parser_rate
    lines = [
        "### Ingest speed",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"The {len(fetches)} fetches of bench/storage_corpus.py ({len(crawl.ids)} articles);"
        f" best of {args.passes} passes each, interleaved, in one run.",
        "",
        "| what | pages/s | / parser |",
        "|---|---|---|",
        f"| `parse_article` alone | {parser_rate:,.0f} | 1.00 |",
        f"| `ingest_many`, {args.batch} pages a call, fresh SQLite archive | {batched_rate:,.0f}"
        f" | {batched_rate / parser_rate:.2f} |",
        f"| `ingest`, one page a call, fresh SQLite archive | {single_rate:,.0f}"
        f" | {single_rate / parser_rate:.2f} |",
        "",
        f"- ingest / parser, batches of {args.batch}: **{ratio:.2f}** (goal: at least {GOAL})",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_part(SECTION, report)


if __name__ == "__main__":
    main()

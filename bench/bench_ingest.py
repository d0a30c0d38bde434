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
from bench.storage_corpus import Archive, Crawl, Fetch, parse_all  # noqa: E402
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


def timed(work: Callable[[], object], pages: int) -> tuple[float, float]:
    """(pages/s by the clock, pages/s of this process's CPU time) of one run of `work`.

    Ingest runs in one thread, so its CPU time is its cost whatever else the machine is doing;
    the clock is what the crawl sees, and moves with other load (2 cores, shared).
    """
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return pages / (time.perf_counter() - wall), pages / (time.process_time() - cpu)


def ingest_rate(
    directory: Path, fetches: list[Fetch], run: Callable[[Archive], object]
) -> tuple[float, float]:
    """One pass into a fresh archive (opening it is setup, not timed)."""
    archive = Archive(directory, f"speed{time.monotonic_ns()}")
    try:
        return timed(lambda: run(archive), len(fetches))
    finally:
        archive.close()


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
            "parser": lambda: timed(lambda: parse_all(fetches), len(fetches)),
            "batched": lambda: ingest_rate(
                directory, fetches, lambda a: ingest_in_batches(a, fetches, args.batch)
            ),
            "single": lambda: ingest_rate(directory, fetches, lambda a: a.ingest_all(fetches)),
        }
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(args.passes):
            for name, run in runs.items():
                rates[name].append(run())
    wall = {name: max(wall for wall, _ in found) for name, found in rates.items()}
    cpu = {name: max(cpu for _, cpu in found) for name, found in rates.items()}
    ratio = wall["batched"] / wall["parser"]
    lines = [
        "### Ingest speed",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"The {len(fetches)} fetches of bench/storage_corpus.py ({len(crawl.ids)} articles);"
        f" best of {args.passes} passes each, interleaved, in one run.",
        "Pages/s by the clock; pages per CPU second of the process, which load from elsewhere"
        " on the machine moves far less.",
        "",
        "| what | pages/s | / parser | pages per CPU second | / parser |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {wall[name]:,.0f} | {wall[name] / wall['parser']:.2f}"
            f" | {cpu[name]:,.0f} | {cpu[name] / cpu['parser']:.2f} |"
            for name, label in (
                ("parser", "`parse_article` alone"),
                ("batched", f"`ingest_many`, {args.batch} pages a call, fresh SQLite archive"),
                ("single", "`ingest`, one page a call, fresh SQLite archive"),
            )
        ),
        "",
        f"- ingest / parser, batches of {args.batch}: **{ratio:.2f}** (goal: at least {GOAL});"
        f" by CPU time {cpu['batched'] / cpu['parser']:.2f}",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_part(SECTION, report)


if __name__ == "__main__":
    main()

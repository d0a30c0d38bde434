"""Benchmark: ingest into a fresh SQLite archive against the parser alone, on the same pages.

Run: `.venv/bin/python -m bench.bench_ingest [--articles N] [--passes N] [--batch N] [--write]`;
--write replaces the "### Ingest speed" part of "## Storage (issue 3)" in bench/RESULTS.md. The
corpus is bench/storage_corpus.py: local-site articles fetched 5 times, each edited once. Ingest
is measured as the crawl's writer calls it, `ingest_many` with batches of --batch pages; as
`newsarchive import` runs it, `ingest_batches` (the next batch parsed while the last is stored);
and one page per call (`ingest`); each against `parse_article` alone in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from bench.common import machine, write_part
from bench.storage_corpus import Archive, Crawl, Fetch, parse_all
from crawler.archiving import ingest_batches, ingest_many
from crawler.writer_process import MAX_BATCH
from storage.fetched_page import FetchedPage

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Storage (issue 3)"
GOAL = 0.7
# What the crawl's writer process hands ingest_many at a time when pages wait (a fast crawl of
# 2,000 pages: 34 batches, 30 of them full, 62.5 pages a batch weighted by pages), and what
# `newsarchive import` uses.
BATCH = MAX_BATCH


def page_batches(fetches: list[Fetch], size: int) -> Iterator[list[FetchedPage]]:
    """The fetches' pages, `size` at a time."""
    for start in range(0, len(fetches), size):
        yield [fetch.page for fetch in fetches[start : start + size]]


def ingest_in_batches(archive: Archive, fetches: list[Fetch], size: int) -> list[str]:
    """Ingest as the crawl's writer does: `size` pages per ingest_many call, a session each."""
    outcomes = []
    for pages in page_batches(fetches, size):
        with archive.sessions() as session:
            outcomes += [result.outcome for result in ingest_many(session, pages)]
    return outcomes


def ingest_pipelined(archive: Archive, fetches: list[Fetch], size: int) -> list[str]:
    """Ingest as `newsarchive import` does: batches of `size` through ingest_batches."""
    outcomes: list[str] = []
    ingest_batches(
        archive.sessions,
        page_batches(fetches, size),
        lambda results: outcomes.extend(r.outcome for r in results),
    )
    return outcomes


class Clock:
    """Wall and CPU seconds spent in each kind of work, added up over many short runs."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, name: str, work: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu


def one_pass(directory: Path, fetches: list[Fetch], size: int, turn: int) -> Clock:
    """The corpus once through each contender, `turn` pages at a time, in turn (batches of
    `size` for those that take batches).

    This machine's speed drifts by a factor of up to 1.7 over tens of seconds (other tenants):
    timing each contender over the whole corpus one after the other let the drift decide the
    ratio (0.58 and 0.95 in two runs of the same code). Taking turns every batch, each sees the
    same moments of the machine, and the ratio of the summed times is steady.
    """
    batched = Archive.file(directory, f"batched{time.monotonic_ns()}")
    pipelined = Archive.file(directory, f"pipelined{time.monotonic_ns()}")
    single = Archive.file(directory, f"single{time.monotonic_ns()}")
    clock = Clock()
    contenders: list[tuple[str, Callable[[list[Fetch]], object]]] = [
        ("parser", parse_all),
        ("batched", lambda chunk: ingest_in_batches(batched, chunk, size)),
        ("pipelined", lambda chunk: ingest_pipelined(pipelined, chunk, size)),
        ("single", single.ingest_all),
    ]
    try:
        for number, start in enumerate(range(0, len(fetches), turn)):
            chunk = fetches[start : start + turn]
            # Rotated, so that no contender always runs right after another's cache footprint.
            shift = number % len(contenders)
            for name, work in contenders[shift:] + contenders[:shift]:
                clock.run(name, lambda work=work, chunk=chunk: work(chunk))
    finally:
        batched.close()
        pipelined.close()
        single.close()
    return clock


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=150)
    options.add_argument("--passes", type=int, default=5, help="timing passes, median kept")
    options.add_argument("--batch", type=int, default=BATCH, help="pages per ingest_many call")
    # Four batches a turn: the pipeline overlaps a batch's parse with the last one's storing,
    # so it needs several batches in a row to show what it does in an import.
    options.add_argument(
        "--turn", type=int, default=4 * BATCH, help="pages each contender takes in turn"
    )
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as temp:
        clocks = [one_pass(Path(temp), fetches, args.batch, args.turn) for _ in range(args.passes)]
    report = "\n".join(report_lines(clocks, args, len(fetches), len(crawl.ids)))
    print(report)
    if args.write:
        write_part(SECTION, report)


def report_lines(
    clocks: list[Clock], args: argparse.Namespace, pages: int, articles: int
) -> list[str]:
    """The "### Ingest speed" part: the pass with the median ratio, and every pass's ratios."""
    # Per pass: pages/s by the clock and by CPU time, per contender.
    passes = [
        {
            name: (pages / clock.wall[name], pages / clock.cpu[name])
            for name in clock.wall
        }
        for clock in clocks
    ]
    pipelined_ratios = sorted(one["pipelined"][0] / one["parser"][0] for one in passes)
    ratios = sorted(one["batched"][0] / one["parser"][0] for one in passes)
    ratio = ratios[len(ratios) // 2]
    median = next(one for one in passes if one["batched"][0] / one["parser"][0] == ratio)
    wall = {name: rates[0] for name, rates in median.items()}
    cpu = {name: rates[1] for name, rates in median.items()}
    lines = [
        "### Ingest speed",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"The {pages} fetches of bench/storage_corpus.py ({articles} articles);"
        f" {args.passes} passes, each taking turns every {args.turn} pages (see one_pass);"
        " the pass with the median ratio of `ingest_many` is shown.",
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
                (
                    "pipelined",
                    f"`ingest_batches` (import), batches of {args.batch}, fresh SQLite archive",
                ),
                ("single", "`ingest`, one page a call, fresh SQLite archive"),
            )
        ),
        "",
        f"- ingest / parser, batches of {args.batch}: **{ratio:.2f}** (goal: at least {GOAL});"
        f" by CPU time {cpu['batched'] / cpu['parser']:.2f};"
        f" every pass: {', '.join(f'{r:.2f}' for r in ratios)}",
        f"- ingest / parser as `newsarchive import` runs it (one thread parses, one stores):"
        f" **{pipelined_ratios[len(pipelined_ratios) // 2]:.2f}** (median);"
        f" by CPU time {cpu['pipelined'] / cpu['parser']:.2f} (the pass shown);"
        f" every pass: {', '.join(f'{r:.2f}' for r in pipelined_ratios)}",
        "",
    ]
    return lines


if __name__ == "__main__":
    main()

"""Benchmark: reparse of a filled archive against the parser's pages/s times the cores.

Run: `.venv/bin/python -m bench.bench_reparse [--articles N] [--passes N] [--postgres [URL]]
[--write]`; --write replaces the "### Reparse speed" part of "## Storage (issue 3)" in
bench/RESULTS.md. The archive holds bench/storage_corpus.py's fetches plus two more rounds (one
identical, one with the chrome refreshed), as bench_storage.py fills it; on SQLite always, on
PostgreSQL too with --postgres (default the local server; a throw-away database is made).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import DATABASE_NAMES, add_postgres_option, machine, write_part
from bench.reparse_parsers import parse_as_next_version, parse_with_new_content
from bench.storage_corpus import Archive, Crawl, parse_all, postgres_archive
from crawler.archiving import reparse
from crawler.publishers import parse_article as parse_page
from storage.reparse import worker_start_method

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Storage (issue 3)"
GOAL = 0.8
# The kinds of reparse timed.
SAME, NEW_OUTPUT, NEW_CONTENT, ONE_WORKER = "same", "new output", "new content", "one worker"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 450 articles: 3,150 captures, a reparse of ~3 s. A run has fixed costs that a reparse of
    # a real archive does not feel: the workers' start (fork, connections, statements compiled
    # in each) and the shrinking jobs at the end, ~0.1 s here. On 150 articles (a ~1 s run,
    # the default until session 7) every ratio read 0.06-0.11 lower in the same hour, the
    # parser's own 2-process run too.
    options.add_argument("--articles", type=int, default=450)
    options.add_argument("--passes", type=int, default=3, help="timing passes, best kept")
    add_postgres_option(options, "reparse a PostgreSQL archive too")
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    crawl.site.advance(60)
    fetches += crawl.round(fresh_chrome=False)
    crawl.site.advance(60)
    fetches += crawl.round()
    timings = measure(crawl, fetches, args.passes, args.postgres)
    report = "\n".join(report_lines(timings, crawl, fetches, args.passes))
    print(report)
    if args.write:
        write_part(SECTION, report)


@dataclass
class Timings:
    """What the passes measured: runs of the parser alone, in `cores` processes, and reparses."""

    cores: int
    start_method: str = ""
    loads: list[float] = field(default_factory=list)
    parse_runs: list[tuple[Any, float, float]] = field(default_factory=list)
    parallel_runs: list[tuple[Any, float, float]] = field(default_factory=list)
    # (database, kind of reparse) -> timed runs
    runs: dict[tuple[str, str], list[tuple[Any, float, float]]] = field(default_factory=dict)


def measure(crawl: Crawl, fetches: list[Any], passes: int, postgres: str | None) -> Timings:
    """Time the parser and the reparses of an archive of `fetches` (and a PostgreSQL one)."""
    timings = Timings(cores=os.cpu_count() or 1)
    cores = timings.cores
    with contextlib.ExitStack() as stack:
        temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-reparse-")))
        archives = [Archive.file(temp, "reparse")]
        if postgres:
            archives.append(stack.enter_context(postgres_archive(postgres)))
        for archive in archives:
            archive.ingest_all(fetches)
            archive.engine.dispose()  # as reparse does before it starts its workers
        timings.start_method = worker_start_method(archives[0].url)
        # Each pass times the parser alone, the parser in `cores` processes, and reparses of
        # each archive: the same parser (nothing to write), a parser whose records differ only
        # in parser_version (every version and capture row updated) and one whose content
        # differs (content columns, hashes and search index rewritten too), on every core; and
        # that last one in one worker, against the parser alone (what reparse adds to a page,
        # whatever the cores allow). A changed archive is put back, untimed. Interleaved, so
        # that a burst of load from whatever else runs on the machine falls on every side; the
        # best of each is kept.
        reparses = (
            (SAME, parse_page, cores),
            (NEW_OUTPUT, parse_as_next_version, cores),
            (NEW_CONTENT, parse_with_new_content, cores),
            (ONE_WORKER, parse_with_new_content, 1),
        )
        for _ in range(passes):
            timings.loads.append(os.getloadavg()[0])
            timings.parse_runs.append(timed(parse_all, fetches))
            timings.parallel_runs.append(timed(parse_in_processes, fetches, cores))
            for archive in archives:
                name = archive.engine.dialect.name
                for kind, parser, workers in reparses:
                    run = timed(reparse, archive.engine, parser=parser, workers=workers)
                    changed = 0 if kind == SAME else len(crawl.ids)
                    assert run[0].changed == changed, (name, kind, run)
                    timings.runs.setdefault((name, kind), []).append(run)
                    if changed:
                        restored = reparse(archive.engine, parser=parse_page)
                        assert restored.changed == len(crawl.ids), restored
        for archive in archives:
            archive.close()
    return timings


def report_lines(timings: Timings, crawl: Crawl, fetches: list[Any], passes: int) -> list[str]:
    """The "### Reparse speed" part: a table of pages/s, then the ratios against the parser."""
    cores = timings.cores
    parser_seconds, parser_cpu = best(timings.parse_runs)
    parallel_seconds, _ = best(timings.parallel_runs)
    parser_rate = len(fetches) / parser_seconds
    parallel_rate = len(fetches) / parallel_seconds
    goal_rate = parser_rate * cores
    # database -> kind of reparse -> pages/s, and CPU seconds
    rate: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    for (name, kind), timed_runs in timings.runs.items():
        seconds, cpu_seconds = best(timed_runs)
        rate.setdefault(name, {})[kind] = len(fetches) / seconds
        cpu.setdefault(name, {})[kind] = cpu_seconds
    lines = [
        "### Reparse speed",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"An archive of {len(fetches):,} captures ({len(crawl.ids)} articles,"
        " bench/storage_corpus.py plus an identical and a chrome-refreshed round); worker pool"
        " start-up included. CPU of reparse: this process and its workers (a PostgreSQL"
        " server's own CPU is not in it).",
        "",
        "| what | pages/s |",
        "|---|---|",
        f"| `parse_article` alone, one process (best of {passes}) | {parser_rate:,.0f} |",
        f"| `parse_article` in {cores} processes at once, a share of the pages each"
        f" (best of {passes}) | {parallel_rate:,.0f} |",
    ]
    for name, rates in rate.items():
        database = DATABASE_NAMES[name]
        lines += [
            f"| {database}: `reparse`, same parser, {cores} workers (best of {passes})"
            f" | {rates[SAME]:,.0f} |",
            f"| {database}: `reparse`, parser with new output (parser_version),"
            f" {cores} workers (best of {passes}) | {rates[NEW_OUTPUT]:,.0f} |",
            f"| {database}: `reparse`, parser with new content (headlines),"
            f" {cores} workers (best of {passes}) | {rates[NEW_CONTENT]:,.0f} |",
            f"| {database}: `reparse`, parser with new content, 1 worker"
            f" (best of {passes}) | {rates[ONE_WORKER]:,.0f} |",
        ]
    lines.append("")
    for name, rates in rate.items():
        lines.append(ratio_line(DATABASE_NAMES[name], rates, cpu[name], cores,
                                (parser_rate, parallel_rate, parser_cpu)))
    lines += [
        f"- what the machine allowed: the parser in {cores} processes / (parser × {cores} cores):"
        f" {parallel_rate / goal_rate:.2f}",
        f"- workers started by {timings.start_method}; 1-minute load average at each pass:"
        f" {', '.join(f'{load:.1f}' for load in timings.loads)} (the goal assumes {cores} idle"
        " cores)",
        "",
    ]
    return lines


def ratio_line(
    database: str, rates: dict[str, float], cpu: dict[str, float], cores: int,
    parser: tuple[float, float, float],
) -> str:
    """One database's reparse rates against the parser's (pages/s alone, in `cores` processes,
    and its CPU seconds)."""
    parser_rate, parallel_rate, parser_cpu = parser
    goal_rate = parser_rate * cores
    return (
        f"- {database}: reparse / (parser × {cores} cores): new output"
        f" **{rates[NEW_OUTPUT] / goal_rate:.2f}**,"
        f" new content **{rates[NEW_CONTENT] / goal_rate:.2f}**,"
        f" same parser **{rates[SAME] / goal_rate:.2f}** (goal: at least {GOAL});"
        f" / what the machine allowed (below):"
        f" new output {rates[NEW_OUTPUT] / parallel_rate:.2f},"
        f" new content {rates[NEW_CONTENT] / parallel_rate:.2f},"
        f" same parser {rates[SAME] / parallel_rate:.2f};"
        f" in one worker / the parser alone (new content):"
        f" **{rates[ONE_WORKER] / parser_rate:.2f}**;"
        f" CPU time / the parser alone's: new output {cpu[NEW_OUTPUT] / parser_cpu:.2f},"
        f" same parser {cpu[SAME] / parser_cpu:.2f}"
    )


def timed(work, *args, **kwargs) -> tuple[Any, float, float]:
    """`work`'s result, wall seconds, and CPU seconds of this process and its ended children."""
    before, start = os.times(), time.perf_counter()
    result = work(*args, **kwargs)
    seconds, after = time.perf_counter() - start, os.times()
    cpu = sum(after[:4]) - sum(before[:4])  # user, system, children's user, children's system
    return result, seconds, cpu


def parse_in_processes(fetches: list[Any], processes: int) -> None:
    """Parse the fetches in `processes` forked processes at once, a contiguous share each."""
    context = multiprocessing.get_context("fork")
    share = -(-len(fetches) // processes)
    running = [
        context.Process(target=parse_all, args=(fetches[start : start + share],))
        for start in range(0, len(fetches), share)
    ]
    for process in running:
        process.start()
    for process in running:
        process.join()
        assert process.exitcode == 0, process.exitcode


def best(runs: list[tuple[Any, float, float]]) -> tuple[float, float]:
    """The shortest run's wall seconds, and the least CPU seconds of any run."""
    return min(seconds for _, seconds, _ in runs), min(cpu for _, _, cpu in runs)


if __name__ == "__main__":
    main()

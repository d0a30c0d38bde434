"""Benchmark: the archive's size against a gzip WARC of the same fetches, and re-fetch costs.

Run: `.venv/bin/python -m bench.bench_storage [--articles N] [--postgres [URL]] [--write]`;
--write replaces the "### Size" part of "## Storage (issue 3)" in bench/RESULTS.md. The corpus is
bench/storage_corpus.py: local-site articles fetched 5 times, each edited once. SQLite always;
PostgreSQL too with --postgres (default the local server; a throw-away database is made).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bench.common import DATABASE_NAMES, add_postgres_option, machine, write_part
from bench.storage_corpus import (
    FETCHES,
    MIN_PAGE,
    Archive,
    Crawl,
    Fetch,
    postgres_archive,
    warc_bytes,
)

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Storage (issue 3)"
KB = 1024


@dataclass(frozen=True, slots=True)
class Sizes:
    """What one database took for the corpus and for the re-fetch rounds after it."""

    database: str
    outcomes: list[str]
    growth: int
    same: int  # the round of identical re-fetches
    rechromed: int  # the round with the chrome refreshed
    kinds: list[tuple[str, int, float]]  # bodies: compression, count, mean stored size


def measure(
    archive: Archive, fetches: list[Fetch], same: list[Fetch], rechromed: list[Fetch]
) -> Sizes:
    """Ingest the corpus, then a round of identical re-fetches, then one with refreshed chrome,
    the archive measured before and after each."""
    empty = archive.size()
    outcomes = archive.ingest_all(fetches)
    filled = archive.size()
    archive.ingest_all(same)
    after_same = archive.size()
    rechromed_outcomes = archive.ingest_all(rechromed)
    after_rechromed = archive.size()
    assert set(rechromed_outcomes) == {"unchanged"}, rechromed_outcomes
    with archive.engine.connect() as connection:
        kinds = connection.execute(
            text(
                "SELECT compression, count(*), avg(stored_size) FROM bodies"
                " GROUP BY compression ORDER BY compression"
            )
        ).all()
    archive.close()
    return Sizes(
        archive.engine.dialect.name,
        outcomes,
        filled - empty,
        after_same - filled,
        after_rechromed - after_same,
        [(kind, count, float(size)) for kind, count, size in kinds],
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=150)
    add_postgres_option(options, "measure on PostgreSQL too")
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    sizes = [len(fetch.page.body) for fetch in fetches]
    assert min(sizes) >= MIN_PAGE, f"a page under 100 KB: {min(sizes)}"
    distinct = len({fetch.page.body for fetch in fetches})
    # One more round, nothing changed: the same bytes again, then the article unchanged but the
    # chrome refreshed an hour later (what the real site serves).
    crawl.site.advance(60)
    same = crawl.round(fresh_chrome=False)
    crawl.site.advance(60)
    rechromed = crawl.round()

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as temp:
        directory = Path(temp)
        warc = warc_bytes(fetches, directory / "fetches.warc.gz")
        results.append(measure(Archive.file(directory, "storage"), fetches, same, rechromed))
        if args.postgres:
            with postgres_archive(args.postgres) as archive:
                results.append(measure(archive, fetches, same, rechromed))
    rounds = {"fetches": fetches, "same": same, "rechromed": rechromed}
    report = "\n".join(report_lines(results, rounds, len(crawl.ids), distinct, warc))
    print(report)
    if args.write:
        write_part(SECTION, report)


def report_lines(
    results: list[Sizes], rounds: dict[str, list[Fetch]], articles: int, distinct: int, warc: int
) -> list[str]:
    """The "### Size" part: bytes per fetch of each archive, against the raw pages and a WARC."""
    fetches, same, rechromed = rounds["fetches"], rounds["same"], rounds["rechromed"]
    raw = sum(len(fetch.page.body) for fetch in fetches)

    outcomes = results[0].outcomes
    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    lines = [
        "### Size",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Corpus (bench/storage_corpus.py): {articles} local-site articles fetched"
        f" {FETCHES} times each ({len(fetches)} fetches, {distinct} distinct bodies,"
        f" mean {raw // len(fetches) // KB} KB), each article edited once; ticker and ranking"
        f" boxes re-rendered every round. Ingest outcomes: {counts}.",
        "SQLite: page_count × page_size, WAL folded in. PostgreSQL: the archive tables with their"
        " indexes and TOAST (pg_total_relation_size), after a VACUUM.",
        "",
        "| storage | bytes | per fetch |",
        "|---|---|---|",
        f"| raw bodies | {raw:,} | {raw // len(fetches):,} |",
        f"| gzip WARC (warcio, response records) | {warc:,} | {warc // len(fetches):,} |",
    ]
    for result in results:
        name = DATABASE_NAMES[result.database]
        lines += [
            f"| {name} growth | {result.growth:,} | {result.growth // len(fetches):,} |",
            f"| {name}: + a round of identical re-fetches | {result.same:,}"
            f" | {result.same / len(same):,.0f} |",
            f"| {name}: + a round, same article, chrome refreshed | {result.rechromed:,}"
            f" | {result.rechromed / len(rechromed):,.0f} |",
        ]
    lines.append("")
    for result in results:
        name = DATABASE_NAMES[result.database]
        lines += [
            f"- {name}: archive / WARC **{result.growth / warc:.3f}** (goal: at most 0.5);"
            f" identical re-fetch **{result.same / len(same):,.0f} B**, with refreshed chrome"
            f" **{result.rechromed / len(rechromed):,.0f} B** (goal: at most 1 KB)",
            "  - bodies by kind (count, mean stored bytes): "
            + ", ".join(f"{kind} {n:,} ({size:,.0f} B)" for kind, n, size in result.kinds),
        ]
    lines.append("")
    return lines


if __name__ == "__main__":
    main()

"""Benchmark: what rewriting a version's text costs PostgreSQL, and the share of each search index.

Run: `.venv/bin/python -m bench.bench_version_writes [--articles N] [--passes N] [--postgres URL]`
(prints only). A throw-away database on the server is filled with bench/storage_corpus.py's
fetches; then every version's headline is rewritten in one UPDATE (rolled back), as a reparse
with a parser whose content differs rewrites it, first with every index, then with each search
index dropped in turn. The peer is the same UPDATE in the same run: the ratios say what each
index costs, whatever the machine's speed at that moment.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import OperationalError

from bench.common import LOCAL_POSTGRES, machine
from bench.storage_corpus import Crawl, postgres_archive

REPO = Path(__file__).resolve().parent.parent
REWRITE = text("UPDATE versions SET headline = headline || ' '")
# Dropped one after the other, each run measuring what the indexes left still cost.
SEARCH_INDEXES = ("ix_versions_search_bigrams", "ix_versions_search_text_trgm")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=100)
    options.add_argument("--passes", type=int, default=5, help="UPDATEs per step, median kept")
    options.add_argument("--postgres", default=LOCAL_POSTGRES, metavar="URL")
    args = options.parse_args()

    probe = create_engine(args.postgres)
    try:
        probe.connect().close()
    except OperationalError as error:
        sys.exit(f"bench_version_writes.py needs PostgreSQL at {args.postgres}: {error.orig}")
    finally:
        probe.dispose()
    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    with postgres_archive(args.postgres) as archive:
        archive.ingest_all(fetches)
        with archive.engine.connect() as connection:
            versions = connection.execute(text("SELECT count(*) FROM versions")).scalar_one()
            steps = [("every index", rewrite_ms(connection, args.passes) / versions)]
            for index in SEARCH_INDEXES:
                connection.execute(text(f"DROP INDEX {index}"))
                connection.commit()
                steps.append((f"… without {index}", rewrite_ms(connection, args.passes) / versions))
    print(f"Machine: {machine()}. {versions} versions of {len(crawl.ids)} articles.")
    full = steps[0][1]
    for label, per_version in steps:
        print(f"{label}: {per_version:.3f} ms a version rewritten ({per_version / full:.2f})")
    for (_, before), (label, after) in itertools.pairwise(steps):
        index = label.removeprefix("… without ")
        print(f"- {index}: {(before - after) / full:.0%} of a version's rewrite")


def rewrite_ms(connection: Connection, passes: int) -> float:
    """Milliseconds of the rewrite of every version, the median of `passes` (each rolled back)."""
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        connection.execute(REWRITE)
        times.append((time.perf_counter() - start) * 1000)
        connection.rollback()
    return statistics.median(times)


if __name__ == "__main__":
    main()

"""Benchmark: the archive's size against a gzip WARC of the same fetches, and re-fetch costs.

Run: `.venv/bin/python bench/bench_storage.py [--articles N] [--write]`; --write replaces the
"### Size" part of "## Storage (issue 3)" in bench/RESULTS.md. The corpus is
bench/storage_corpus.py: local-site articles fetched 5 times, each edited once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import machine, write_part  # noqa: E402
from bench.storage_corpus import (  # noqa: E402
    FETCHES,
    MIN_PAGE,
    Archive,
    Crawl,
    db_bytes,
    warc_bytes,
)

SECTION = "## Storage (issue 3)"
KB = 1024


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=150)
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's part")
    args = options.parse_args()

    crawl = Crawl(args.articles)
    fetches = [fetch for one_round in crawl.fetch_rounds() for fetch in one_round]
    sizes = [len(fetch.page.body) for fetch in fetches]
    assert min(sizes) >= MIN_PAGE, f"a page under 100 KB: {min(sizes)}"
    distinct = len({fetch.page.body for fetch in fetches})

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as temp:
        directory = Path(temp)
        archive = Archive(directory, "storage")
        empty = db_bytes(archive.path)
        outcomes = archive.ingest_all(fetches)
        filled = db_bytes(archive.path)
        growth = filled - empty
        warc = warc_bytes(fetches, directory / "fetches.warc.gz")
        raw = sum(sizes)

        # One more round, nothing changed: the same bytes again, then the article unchanged
        # but the chrome refreshed an hour later (what the real site serves).
        crawl.site.advance(60)
        same = crawl.round(fresh_chrome=False)
        archive.ingest_all(same)
        after_same = db_bytes(archive.path)
        crawl.site.advance(60)
        rechromed = crawl.round()
        rechromed_outcomes = archive.ingest_all(rechromed)
        after_rechromed = db_bytes(archive.path)
        with archive.engine.connect() as connection:
            kinds = connection.execute(
                text(
                    "SELECT compression, count(*), avg(stored_size) FROM bodies"
                    " GROUP BY compression ORDER BY compression"
                )
            ).all()
        archive.close()
    assert set(rechromed_outcomes) == {"unchanged"}, rechromed_outcomes
    per_same = (after_same - filled) / len(same)
    per_rechromed = (after_rechromed - after_same) / len(rechromed)

    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    lines = [
        "### Size",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Corpus (bench/storage_corpus.py): {len(crawl.ids)} local-site articles fetched"
        f" {FETCHES} times each ({len(fetches)} fetches, {distinct} distinct bodies,"
        f" mean {raw // len(fetches) // KB} KB), each article edited once; ticker and ranking"
        f" boxes re-rendered every round. Ingest outcomes: {counts}.",
        "",
        "| storage | bytes | per fetch |",
        "|---|---|---|",
        f"| raw bodies | {raw:,} | {raw // len(fetches):,} |",
        f"| gzip WARC (warcio, response records) | {warc:,} | {warc // len(fetches):,} |",
        f"| SQLite growth (page_count × page_size) | {growth:,} | {growth // len(fetches):,} |",
        f"| + a round of identical re-fetches | {after_same - filled:,} | {per_same:,.0f} |",
        f"| + a round, same article, chrome refreshed | {after_rechromed - after_same:,}"
        f" | {per_rechromed:,.0f} |",
        "",
        "- bodies by kind (count, mean stored bytes): "
        + ", ".join(f"{kind} {count:,} ({size:,.0f} B)" for kind, count, size in kinds),
        f"- archive / WARC: **{growth / warc:.3f}** (goal: at most 0.5)",
        f"- identical re-fetch: **{per_same:,.0f} B** per fetch (goal: at most 1 KB);"
        f" with refreshed chrome: **{per_rechromed:,.0f} B**",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_part(SECTION, report)


if __name__ == "__main__":
    main()

"""Search benchmark: p50/p95 of `search` on 100,000 synthetic versions against a plain LIKE scan.

Run: .venv/bin/python -m bench.bench_search [--versions N] [--postgres [URL]] [--write]
SQLite always; PostgreSQL too with --postgres (default the local server; a throw-away database is
created and dropped). Each database also gets the write cost of the search index: inserting
versions at migration 0003 against head. --write replaces the database's part of
"## Search (issue 3)" in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import add_postgres_option, machine, write_part
from storage import db
from storage.search import search
from tests.support.storage_fixtures import throwaway_postgres_database

SYLLABLES = [chr(code) for code in range(0xAC00, 0xD7A4, 37)]  # a spread of Hangul syllables
SECTIONS = ["정치", "경제", "사회", "산업", "국제", "문화", "스포츠", "포토"]
REPORTERS = ["김민수", "이현주", "박지훈", "최서연", "정우성", "한지민"]
# 3+ characters common to rare, 2 characters common and rare, and one no version holds.
QUERIES = ["대통령", "반도체", "엔비디아", "미세먼지 비상", "수험생", "기자회견"]
QUERIES += ["경제", "펀드", "AI"]
RUNS_PER_QUERY = 20
# The LIKE-scan peer reads every version: fewer runs on PostgreSQL, where it is slowest.
PEER_RUNS = {"sqlite": RUNS_PER_QUERY, "postgresql": 5}
GOAL_P95_MS = 50.0
SECTION = "## Search (issue 3)"
# Versions inserted at 0003 and at head to weigh the write cost of migration 0004's indexes.
WRITE_COST_VERSIONS = 10_000


def synthetic_rows(count: int, seed: int = 7):
    """Articles, captures, versions: random Hangul words with the query words sprinkled in."""
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(5000)]
    # Query words at different frequencies: common (~5% of versions) to rare (~0.1%).
    planted = {
        "대통령": 0.05,
        "반도체": 0.02,
        "엔비디아": 0.005,
        "미세먼지 비상": 0.002,
        "수험생": 0.01,
        "기자회견": 0.001,
        "경제": 0.03,
        "펀드": 0.001,
    }
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for number in range(count):
        words = rng.choices(vocabulary, k=60)
        for word, share in planted.items():
            if rng.random() < share:
                words[rng.randrange(len(words))] = word
        body = [" ".join(words[i : i + 15]) + "." for i in range(6, 60, 15)]
        published = start + timedelta(minutes=number * 3 + rng.randint(0, 120))
        article_id = f"NISX{published:%Y%m%d}_{number:010d}"
        yield {
            "article_id": article_id,
            "url": f"https://www.newsis.com/view/{article_id}",
            "headline": " ".join(words[:6]),
            "published_at": published,
            "section": rng.choice(SECTIONS),
            "reporters": json.dumps(
                [{"name": rng.choice(REPORTERS), "title": "기자", "email": None}],
                ensure_ascii=False,
            ),
            "body": json.dumps(body, ensure_ascii=False),
            "capture_id": number + 1,
        }


def build(url: str, rows: list[dict], revision: str = "head") -> tuple[float, float]:
    """The archive at `revision` holding `rows`: (seconds in all, seconds inserting versions)."""
    db.upgrade(url, revision)
    engine = create_engine(url)
    sqlite = db.is_sqlite(url)
    began = time.perf_counter()
    with engine.begin() as connection:
        stamp = "CURRENT_TIMESTAMP" if sqlite else "now()"
        connection.execute(
            text(
                f"INSERT INTO captures (capture_id, url, publisher, article_id, fetched_at, "
                f"status, outcome) VALUES (:capture_id, :url, 'newsis', :article_id, {stamp}, 200,"
                f" 'new_article')"
            ),
            rows,
        )
        connection.execute(
            text(
                f"INSERT INTO articles (article_id, publisher, url, section, published_at, "
                f"first_seen_at, last_checked_at, last_changed_at, current_version_no) VALUES "
                f"(:article_id, 'newsis', :url, :section, :published_at, {stamp}, {stamp}, "
                f"{stamp}, 1)"
            ),
            rows,
        )
        cast = "" if sqlite else "::jsonb"

        def json_param(name: str) -> str:
            return f":{name}" if sqlite else f"CAST(:{name} AS jsonb)"

        versions_began = time.perf_counter()
        connection.execute(
            text(
                f"INSERT INTO versions (article_id, version_no, headline, published_at, section, "
                f"subheadlines, reporters, captions, body, content_hash, parser_version, "
                f"first_capture_id, last_capture_id, first_seen_at, last_seen_at) VALUES "
                f"(:article_id, 1, :headline, :published_at, :section, '[]'{cast}, "
                f"{json_param('reporters')}, '[]'{cast}, {json_param('body')}, 'x', 'bench', "
                f":capture_id, :capture_id, {stamp}, {stamp})"
            ),
            [
                {**row, "published_at": row["published_at"].replace(tzinfo=None)} if sqlite else row
                for row in rows
            ],
        )
        versions_seconds = time.perf_counter() - versions_began
    if not sqlite:
        # What autovacuum does to a settled archive: statistics for the planner, and the GIN
        # indexes' pending lists merged (every query reads them, up to 4 MB each, until then).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE versions"))
    engine.dispose()
    return time.perf_counter() - began, versions_seconds


def article_sized(rows: list[dict], paragraphs: int = 8) -> list[dict]:
    """`rows` with bodies `paragraphs` times as long: ~2,000 characters, a Newsis article's size."""
    return [{**row, "body": json.dumps(json.loads(row["body"]) * paragraphs,
                                        ensure_ascii=False)} for row in rows]


def timings(fn, runs: int = RUNS_PER_QUERY) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def measure(url: str) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    engine = db.open_archive(url, for_writing=False)
    indexed: dict[str, list[float]] = {}
    scanned: dict[str, list[float]] = {}
    sqlite = db.is_sqlite(url)
    with Session(engine) as session:
        for query in QUERIES:
            search(session, query)  # warm the cache once, as a running archive is
            indexed[query] = timings(lambda q=query: search(session, q, limit=20))
            pattern = f"%{query}%"
            if sqlite:
                peer = text(
                    "SELECT rowid FROM versions_search WHERE headline LIKE :p ESCAPE '\\' "
                    "OR text LIKE :p ESCAPE '\\'"
                )
            else:
                session.execute(text("SET enable_bitmapscan = off"))
                session.execute(text("SET enable_indexscan = off"))
                peer = text("SELECT version_id FROM versions WHERE search_text LIKE lower(:p)")
            scanned[query] = timings(
                lambda p=pattern, s=peer: session.execute(s, {"p": p}).all(),
                PEER_RUNS[engine.dialect.name],
            )
            if not sqlite:
                session.execute(text("RESET enable_bitmapscan"))
                session.execute(text("RESET enable_indexscan"))
    engine.dispose()
    return indexed, scanned


def write_cost(new_url, count: int, rounds: int = 2) -> tuple[float, float]:
    """ms per article-sized version inserted at migration 0003 and at head (0004's indexes):
    the best of `rounds`, the two revisions taking turns (the machine's load drifts)."""
    rows = article_sized(list(synthetic_rows(count, seed=11)))
    best = {"0003": float("inf"), "head": float("inf")}
    for _ in range(rounds):
        for revision in best:
            with new_url() as url:
                best[revision] = min(best[revision], build(url, rows, revision)[1] * 1000 / count)
    return best["0003"], best["head"]


def report(name: str, versions: int, built: float, costs, indexed, scanned) -> str:
    every_indexed = [t for values in indexed.values() for t in values]
    every_scanned = [t for values in scanned.values() for t in values]
    runs = len(next(iter(scanned.values())))
    sqlite = name.startswith("SQLite")
    lines = [
        f"### {name}",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {versions:,} synthetic versions built in "
        f"{built:.1f} s{'' if sqlite else ' (then VACUUM ANALYZE)'}; {RUNS_PER_QUERY} runs per "
        f"query after one warm-up, the LIKE scan {runs} runs. Machine: {machine()}"
        + (f", SQLite {sqlite3.sqlite_version}." if sqlite else "."),
        "",
        "| query | search p50 ms | search p95 ms | LIKE scan p50 ms | scan/search (p50) |",
        "|---|---|---|---|---|",
    ]
    for query in QUERIES:
        a, b = statistics.median(indexed[query]), statistics.median(scanned[query])
        lines.append(
            f"| {query} | {a:.1f} | {pct(indexed[query], 0.95):.1f} | {b:.1f} | {b / a:.1f}x |"
        )
    p50, p95 = statistics.median(every_indexed), pct(every_indexed, 0.95)
    scan50 = statistics.median(every_scanned)
    lines += [
        f"| **all** | **{p50:.1f}** | **{p95:.1f}** | **{scan50:.1f}** | **{scan50 / p50:.1f}x** |",
        "",
    ]
    short = [query for query in QUERIES if pct(indexed[query], 0.95) >= GOAL_P95_MS]
    verdict = "**met**" if p95 < GOAL_P95_MS else "**not met**"
    lines.append(
        f"Goal overall p95 < {GOAL_P95_MS:.0f} ms: {verdict} ({p95:.1f} ms). "
        + (
            "Query classes over it: " + ", ".join(short) + "."
            if short
            else "Every query class is under it."
        )
    )
    before, after = costs
    lines += [
        "",
        f"Write cost: inserting {WRITE_COST_VERSIONS:,} article-sized versions (~2,000 "
        f"characters) takes {before:.2f} ms each at migration 0003, {after:.2f} ms at head "
        f"(0004's search indexes): x{after / before:.2f} (best of 2 each, in turns).",
        "",
    ]
    return "\n".join(lines)


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


def run(name: str, new_url, versions: int) -> str:
    with new_url() as url:
        built = build(url, list(synthetic_rows(versions)))[0]
        indexed, scanned = measure(url)
    costs = write_cost(new_url, min(WRITE_COST_VERSIONS, versions))
    return report(name, versions, built, costs, indexed, scanned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100_000)
    add_postgres_option(parser, "also run on PostgreSQL")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    reports = [("SQLite: FTS5 trigram", sqlite_database)]
    if args.postgres:
        reports.append(
            (
                "PostgreSQL: pg_trgm + pair index",
                lambda: contextmanager(throwaway_postgres_database)(args.postgres),
            )
        )
    for name, new_url in reports:
        body = run(name, new_url, args.versions)
        print(body, flush=True)
        if args.write:
            write_part(SECTION, body)


if __name__ == "__main__":
    main()

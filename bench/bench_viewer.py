"""Viewer benchmark: p50/p95 of every page type on an archive of 100,000 versions.

Run: .venv/bin/python -m bench.bench_viewer [--versions N] [--write]
The archive: bench_search's synthetic versions, bulk-inserted, with the events migration 0009
would give them (a new_article per article), a touch of every 500th article and a takedown of
every 1000th (a capture and an event each); plus one article ingested for real (two versions,
stored pages) for the diff and as-captured pages, and 60 crawl runs. Each page is requested
through the ASGI app in this process; the peer is the app's static stylesheet, measured in the
same run. --write replaces "## Viewer (issue 20)" in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.bench_search import build, pct, synthetic_rows
from bench.common import machine, write_section
from tests.support.storage_fixtures import SEED_ID, SEED_URL, T0, Capture, fill, seed_v1, seed_v2

SECTION = "## Viewer (issue 20)"
REQUESTS = 50
RUNS = 60
TOUCH_EVERY = 500
DELETE_EVERY = 1000


def make_archive(path: Path, versions: int) -> str:
    url = f"sqlite:///{path}"
    began = time.perf_counter()
    build(url, list(synthetic_rows(versions)))
    engine = create_engine(url)
    with engine.begin() as connection:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        connection.execute(
            text("INSERT INTO crawl_runs (kind, started_at, finished_at, outcome, "
                 "new_article_count, new_version_count, unchanged_count, not_modified_count, "
                 "failed_count, duplicate_count, missing_field_count, deleted_count, "
                 "restored_count, touched_count) VALUES ('crawl', :at, :at, 'finished', :n, :n, "
                 "0, :n, 1, 0, 0, :d, :r, :t)"),
            [{"at": (start + timedelta(hours=i)).replace(tzinfo=None), "n": i, "d": i % 3,
              "r": i % 7 // 6, "t": i % 5} for i in range(RUNS)],
        )
        fill_events(connection)
    engine.dispose()
    later = T0 + timedelta(hours=1)
    fill(url, [Capture(SEED_URL, seed_v1(), T0), Capture(SEED_URL, seed_v2(), later)])
    print(f"archive of {versions:,} versions built in {time.perf_counter() - began:.1f} s")
    return url


def fill_events(connection) -> None:
    """The events of the synthetic versions, as migration 0009 derives them, then touches and
    takedowns, each with a capture of its own, after every version (the newest events)."""
    connection.execute(text(
        "INSERT INTO events (article_id, kind, at, version_no, fields, capture_id, crawl_run_id)"
        " SELECT v.article_id, CASE WHEN v.version_no = 1 THEN 'new_article' ELSE 'new_version'"
        " END, v.first_seen_at, v.version_no, NULL, v.first_capture_id, c.crawl_run_id"
        " FROM versions v JOIN captures c ON c.capture_id = v.first_capture_id"
        " ORDER BY v.first_seen_at, v.version_id"
    ))
    now = datetime.now(UTC).replace(tzinfo=None)
    for kind, every, status, outcome, hours in (
        ("touched", TOUCH_EVERY, 200, "unchanged", 1), ("deleted", DELETE_EVERY, 404, "deleted", 2)
    ):
        at = {"at": now + timedelta(hours=hours), "kind": kind}
        connection.execute(text(
            "INSERT INTO captures (url, publisher, article_id, fetched_at, status, outcome,"
            " is_gone) SELECT url, publisher, article_id, :at, :status, :outcome, :gone"
            " FROM articles"
            " WHERE rowid % :every = 0 ORDER BY rowid"
        ), {**at, "status": status, "outcome": outcome, "gone": kind == "deleted",
            "every": every})
        connection.execute(text(
            "INSERT INTO events (article_id, kind, at, version_no, capture_id)"
            " SELECT article_id, :kind, fetched_at, 1, capture_id FROM captures"
            " WHERE fetched_at = :at ORDER BY capture_id"
        ), at)
    connection.execute(text(
        "UPDATE articles SET deleted_at = (SELECT e.at FROM events e WHERE e.kind = 'deleted'"
        " AND e.article_id = articles.article_id)"
    ))


def measure(url: str) -> dict[str, list[float]]:
    warnings.simplefilter("ignore")  # starlette's TestClient on httpx: a deprecation notice
    from starlette.testclient import TestClient

    from crawler.viewer.app import create_app

    with TestClient(create_app(url)) as client:
        capture_id = client.get(f"/article/{SEED_ID}?format=json").json()["captures"][-1][
            "capture_id"]
        deleted_id = client.get("/?kind=deleted&format=json").json()["changes"][0]["article_id"]
        pages = {
            "static peer (style.css)": "/static/style.css",
            "changes": "/",
            "changes, one kind": "/?kind=new_version",
            "changes, deletions": "/?kind=deleted",
            "changes, a kind with none (restored)": "/?kind=restored",
            "changes.atom": "/changes.atom",
            "changes.atom, one kind": "/changes.atom?kind=new_version",
            "article": f"/article/{SEED_ID}",
            "article (deleted)": f"/article/{deleted_id}",
            "diff": f"/article/{SEED_ID}/diff",
            "as captured (frame page)": f"/capture/{capture_id}",
            "as captured (raw page)": f"/capture/{capture_id}/raw",
            "search (대통령)": "/search?q=대통령",
            "crawl health": "/health",
            "changes as JSON": "/?format=json",
        }
        times: dict[str, list[float]] = {}
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path
            times[name] = []
            for _ in range(REQUESTS):
                began = time.perf_counter()
                client.get(path)
                times[name].append((time.perf_counter() - began) * 1000)
    return times


def report(versions: int, times: dict[str, list[float]]) -> str:
    peer = pct(times["static peer (style.css)"], 0.5)
    lines = [
        SECTION, "",
        f"Machine: {machine()}. Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"SQLite archive of {versions:,} versions (bench_search's synthetic rows) and their "
        f"events (a new_article each, a touch of every {TOUCH_EVERY}th article, a takedown of "
        f"every {DELETE_EVERY}th), {RUNS} crawl runs; {REQUESTS} requests per page through the "
        "ASGI app (`bench/bench_viewer.py`).", "",
        "| page | p50 ms | p95 ms | p50 / static peer |", "|---|---|---|---|",
    ]
    for name, values in times.items():
        lines.append(f"| {name} | {pct(values, 0.5):.1f} | {pct(values, 0.95):.1f} | "
                     f"{pct(values, 0.5) / peer:.1f}x |")
    worst = max(times, key=lambda name: pct(times[name], 0.95))
    lines += ["", f"- slowest p95: **{pct(times[worst], 0.95):.1f} ms** ({worst}); goal: every "
              "page under 100 ms"]
    return "\n".join(lines) + "\n"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--versions", type=int, default=100_000)
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    arguments = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = make_archive(Path(folder) / "viewer.sqlite3", arguments.versions)
        out = report(arguments.versions, measure(url))
    print(out)
    if arguments.write:
        write_section(out)


if __name__ == "__main__":
    main()

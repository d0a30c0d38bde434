"""Benchmark: archive size against a gzip WARC, ingest and reparse speed against the bare parser.

Run: `.venv/bin/python bench/bench_storage.py [--articles N] [--write]`; --write replaces the
"## Storage (issue 3)" section of bench/RESULTS.md with the figures and the machine.

Pages come from the local site (tests/site), rendered in-process exactly as it serves them. The
site builds its chrome (quick-news ticker, ranking boxes) once; the real site refreshes both as
news comes in, so each fetch round here renders them afresh from the headlines published by then.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from bench.bench_parser import machine  # noqa: E402
from bench.reparse_parsers import parse_as_next_version  # noqa: E402
from crawler.items import FetchedPage  # noqa: E402
from crawler.parsers import parse_article  # noqa: E402
from storage.archive import ingest, parse_page, reparse  # noqa: E402
from storage.db import make_session_factory, open_archive  # noqa: E402
from tests.site import pages  # noqa: E402
from tests.site.server import NewsisSite  # noqa: E402

RESULTS = REPO / "bench" / "RESULTS.md"
HEADING = "## Storage (issue 3)"
SEED = 7
FETCHES = 5
# Minutes between fetch rounds: the revisit schedule's shape (soon after publication, then
# hours, then days apart).
ROUND_GAPS = (60, 240, 720, 1440)
EDITS = ("headline", "paragraph", "caption")
MIN_PAGE = 100 * 1024


@dataclass(frozen=True, slots=True)
class Fetch:
    page: FetchedPage
    http_headers: list[tuple[str, str]]  # the whole response header block, for the WARC


class Crawl:
    """Fetch rounds over chosen articles of the local site, with the site's clock and edits."""

    def __init__(self, article_count: int) -> None:
        self.site = NewsisSite(seed=SEED, articles=max(200, article_count * 2))
        self.base_chrome = self.site.chrome
        self.ids = [a.article_id for a in self.site.live_articles()[:article_count]]
        self.round_no = 0

    def edit_due(self, round_no: int) -> None:
        """Every article is edited once, before one of rounds 2..5 (spread over the articles)."""
        for index, article_id in enumerate(self.ids):
            if 2 + index % (FETCHES - 1) != round_no:
                continue
            for what in EDITS[index % len(EDITS) :] + EDITS[: index % len(EDITS)]:
                try:
                    self.site.edit_article(article_id, what)
                    break
                except ValueError:  # no paragraph (photo item) or no photo: another edit
                    continue

    def chrome(self) -> pages.Chrome:
        """The chrome as of the site's clock: ticker and ranking boxes from the latest headlines."""
        recent = [a for a in self.site.live_articles() if a.design == "current"][:60]
        chrome = pages.Chrome(
            SEED * 1000 + self.round_no, [(a.article_id, a.headline) for a in recent]
        )
        # Ad slots and the menu script do not change between fetches on the real site.
        chrome.head, chrome.tail = self.base_chrome.head, self.base_chrome.tail
        return chrome

    def round(self, *, fresh_chrome: bool = True) -> list[Fetch]:
        """One fetch of every article, a second apart, at the site's clock."""
        self.round_no += 1
        chrome = self.chrome() if fresh_chrome else self._last_chrome
        self._last_chrome = chrome
        fetches = []
        for offset, article_id in enumerate(self.ids):
            article = self.site.article(article_id)
            body = pages.render_article(article, chrome)
            fetched_at = (self.site.now + timedelta(seconds=offset)).astimezone(UTC)
            headers = {
                "Content-Type": "text/html; charset=UTF-8",
                "ETag": f'"{article_id[-10:]}-{article.version}"',
                "Last-Modified": pages.http_date(article.last_modified.replace(microsecond=0)),
            }
            http_headers = [
                ("Server", "Apache"),
                ("Date", pages.http_date(fetched_at)),
                *headers.items(),
                ("Cache-Control", "no-cache"),
                ("Content-Length", str(len(body))),
            ]
            page = FetchedPage(
                url=article.url,
                status=200,
                headers=headers,
                body=body,
                fetched_at=fetched_at,
                article_id=article_id,
            )
            fetches.append(Fetch(page, http_headers))
        return fetches

    def fetch_rounds(self) -> list[list[Fetch]]:
        rounds = []
        for round_no in range(1, FETCHES + 1):
            if round_no > 1:
                self.site.advance(ROUND_GAPS[round_no - 2])
            self.edit_due(round_no)
            rounds.append(self.round())
        return rounds


# --- measuring ---------------------------------------------------------------------------------


def db_bytes(path: Path) -> int:
    """The database's size with the WAL folded in: page_count * page_size after a checkpoint."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise RuntimeError(f"checkpoint of {path} blocked by an open transaction")
        page_count = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        return page_count * page_size
    finally:
        connection.close()


def warc_bytes(fetches: list[Fetch], path: Path) -> int:
    """Size of a WARC of the fetches: one gzip member per response record, HTTP headers included."""
    with path.open("wb") as output:
        writer = WARCWriter(output, gzip=True)
        for fetch in fetches:
            page = fetch.page
            record = writer.create_warc_record(
                page.url,
                "response",
                payload=io.BytesIO(page.body),
                http_headers=StatusAndHeaders("200 OK", fetch.http_headers, protocol="HTTP/1.1"),
                warc_headers_dict={
                    "WARC-Date": page.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
            writer.write_record(record)
    return path.stat().st_size


class Archive:
    """A fresh SQLite archive in a temp dir, at the migrations' head."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.sqlite3"
        self.url = f"sqlite:///{self.path}"
        self.engine = open_archive(self.url, for_writing=True)
        self.sessions = make_session_factory(self.engine)

    def ingest_all(self, fetches: list[Fetch]) -> list[str]:
        """Ingest as the crawl does (crawler/archive_thread.py): a fresh session per page."""
        outcomes = []
        for fetch in fetches:
            with self.sessions() as session:
                outcomes.append(ingest(session, fetch.page).outcome)
        return outcomes

    def close(self) -> None:
        self.engine.dispose()


def best_rate(work, items, rounds: int) -> float:
    """Items per second, the best of `rounds` passes (`work` runs one pass, returns nothing)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work(items)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def parse_all(fetches: list[Fetch]) -> None:
    for fetch in fetches:
        parse_article(fetch.page.body, fetch.page.url, fetch.page.fetched_at)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 150 articles: 750 fetches, then 300 more, so reparse runs over 1,050 captures and the
    # worker pool's start-up (spawned processes import the parser, ~1-3 s) does not dominate.
    options.add_argument("--articles", type=int, default=150)
    options.add_argument("--passes", type=int, default=3, help="timing passes, best kept")
    options.add_argument("--write", action="store_true", help="write bench/RESULTS.md's section")
    args = options.parse_args()
    cores = os.cpu_count() or 1

    crawl = Crawl(args.articles)
    rounds = crawl.fetch_rounds()
    fetches = [fetch for one_round in rounds for fetch in one_round]
    sizes = [len(fetch.page.body) for fetch in fetches]
    assert min(sizes) >= MIN_PAGE, f"a page under 100 KB: {min(sizes)}"
    distinct = len({fetch.page.body for fetch in fetches})

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as temp:
        directory = Path(temp)
        # Storage: the archive's growth over the fetches against a gzip WARC of the same fetches.
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
        per_same = (after_same - filled) / len(same)
        per_rechromed = (after_rechromed - after_same) / len(rechromed)
        assert set(rechromed_outcomes) == {"unchanged"}, rechromed_outcomes

        # Reparse the filled archive: the same parser (nothing to write), then one whose
        # records differ (every version and capture rewritten).
        reparse_pages = len(fetches) + len(same) + len(rechromed)
        start = time.perf_counter()
        same_summary = reparse(archive.engine, parser=parse_page)
        same_seconds = time.perf_counter() - start
        start = time.perf_counter()
        new_summary = reparse(archive.engine, parser=parse_as_next_version)
        new_seconds = time.perf_counter() - start
        assert same_summary.changed == 0, same_summary
        assert new_summary.changed == len(crawl.ids), new_summary
        archive.close()

        # Speed: the bare parser, then ingest of the same pages into fresh archives.
        parser_rate = best_rate(parse_all, fetches, args.passes)
        # Opening a fresh archive (migrations) is setup, not ingest: time only the ingests.
        ingest_rate = ingest_best_rate(directory, fetches, args.passes)

    same_rate = reparse_pages / same_seconds
    new_rate = reparse_pages / new_seconds
    reparse_goal = parser_rate * cores
    kb = 1024
    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    lines = [
        HEADING,
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Corpus: {len(crawl.ids)} local-site articles fetched {FETCHES} times each"
        f" ({len(fetches)} fetches, {distinct} distinct bodies,"
        f" mean {raw // len(fetches) // kb} KB),"
        " each article edited once; ticker and ranking boxes re-rendered every round."
        f" Ingest outcomes: {counts}.",
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
        f"- archive / WARC: **{growth / warc:.3f}** (goal: at most 0.5)",
        f"- identical re-fetch: **{per_same:,.0f} B** per fetch (goal: at most 1 KB);"
        f" with refreshed chrome: **{per_rechromed:,.0f} B**",
        "",
        "| speed | pages/s |",
        "|---|---|",
        f"| `parse_article` alone (best of {args.passes}) | {parser_rate:,.0f} |",
        f"| `ingest` into a fresh SQLite archive (best of {args.passes}) | {ingest_rate:,.0f} |",
        f"| `reparse`, same parser, {cores} workers ({reparse_pages} pages) | {same_rate:,.0f} |",
        f"| `reparse`, parser with new output, {cores} workers | {new_rate:,.0f} |",
        "",
        f"- ingest / parser: **{ingest_rate / parser_rate:.2f}** (goal: at least 0.7)",
        f"- reparse (new output) / (parser × {cores} cores): **{new_rate / reparse_goal:.2f}**;"
        f" same parser: **{same_rate / reparse_goal:.2f}** (goal: at least 0.8);"
        f" over {reparse_pages:,} captures, worker pool start-up included",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section(report)


def ingest_best_rate(directory: Path, fetches: list[Fetch], passes: int) -> float:
    best = float("inf")
    for number in range(passes):
        archive = Archive(directory, f"speed{number}")
        start = time.perf_counter()
        archive.ingest_all(fetches)
        best = min(best, time.perf_counter() - start)
        archive.close()
    return len(fetches) / best


def write_section(report: str) -> None:
    """Replace only this benchmark's section; other benchmarks own the rest of the file."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: report + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + report + "\n"
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

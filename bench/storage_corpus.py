"""The storage benchmarks' corpus: local-site articles fetched in rounds, edited once, the chrome
refreshed every round; and a fresh SQLite archive to ingest them into.

Pages come from the local site (crawler/localsite), rendered in-process exactly as it serves
them. The site builds its chrome (quick-news ticker, ranking boxes) once; the real site
refreshes both as news comes in, so each fetch round here renders them afresh from the
headlines published by then.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy import text
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archiving import ingest
from crawler.localsite import pages
from crawler.localsite.feeds import http_date
from crawler.localsite.server import NewsisSite
from crawler.publishers import parse_article
from storage.db import make_session_factory, open_archive, sqlite_path, upgrade
from storage.fetched_page import FetchedPage
from tests.support.storage_fixtures import throwaway_postgres_database

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
                "Last-Modified": http_date(article.last_modified.replace(microsecond=0)),
            }
            http_headers = [
                ("Server", "Apache"),
                ("Date", http_date(fetched_at)),
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


# Bytes of PostgreSQL's archive tables with their indexes and TOAST, system catalogs left out.
_PG_ARCHIVE_BYTES = text(
    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
)


class Archive:
    """An empty archive at `url`, at the migrations' head: a fresh SQLite file (`Archive.file`)
    or an empty PostgreSQL database (`postgres_archive`)."""

    @classmethod
    def file(cls, directory: Path, name: str) -> Archive:
        """A fresh SQLite file `name` in `directory`."""
        return cls(f"sqlite:///{directory / f'{name}.sqlite3'}")

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)  # None on PostgreSQL
        if self.path is None:
            upgrade(url)  # a fresh SQLite file is brought to head by open_archive itself
        self.engine = open_archive(url, for_writing=True)
        self.sessions = make_session_factory(self.engine)

    def size(self) -> int:
        """Bytes the archive takes: SQLite's pages (WAL folded in); PostgreSQL's tables with
        their indexes after a VACUUM (what autovacuum leaves: dead rows' space reusable)."""
        if self.path is not None:
            return db_bytes(self.path)
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM"))
            return int(connection.execute(_PG_ARCHIVE_BYTES).scalar_one())

    def ingest_all(self, fetches: list[Fetch]) -> list[str]:
        """Ingest one page a call (`storage.ingest.write_path.ingest`), a fresh session each."""
        outcomes = []
        for fetch in fetches:
            with self.sessions() as session:
                outcomes.append(ingest(session, fetch.page).outcome)
        return outcomes

    def close(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def postgres_archive(server_url: str) -> Iterator[Archive]:
    """An Archive on a new database of the PostgreSQL server at `server_url`, closed and dropped
    afterwards."""
    with contextlib.contextmanager(throwaway_postgres_database)(server_url) as url:
        archive = Archive(url)
        try:
            yield archive
        finally:
            archive.close()


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

"""The one pipeline: each fetched page goes to storage's ingest, in the crawl's writer process."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import ExitStack
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.db_thread import DatabaseThread
from crawler.run_summary import (
    ARCHIVE_FAILING,
    STORE_FAILURES_TO_STOP,
    begin_run,
    end_run,
    judge_run,
)
from crawler.runlock import run_lock
from crawler.scrapy_commands.crawl import EXIT_CODE_STAT
from crawler.writer_process import IngestProcess, Stored, WriterGone
from storage.fetched_page import FetchedPage
from storage.queries import current_record

logger = logging.getLogger(__name__)

_FAILURES_IN_A_ROW = "newsarchive/ingest_errors_in_a_row"
# Ingest outcomes after which the article has a current version: the record a feed export gets.
_RECORD_OUTCOMES = frozenset({"new_article", "new_version", "unchanged", "not_modified"})


async def store_counted(
    crawler: Crawler,
    writer: IngestProcess,
    page: FetchedPage,
    crawl_run_id: int | None,
    receipt: Any = None,
) -> str | None:
    """Store one page through the writer and count what became of it in the crawl's stats
    (a failure is logged too); its ingest outcome, None when it could not be stored."""
    try:
        stored = await writer.store(page, crawl_run_id, receipt=receipt)
    except WriterGone as gone:
        stored = Stored(None, str(gone))
    if stored.outcome is None:
        crawler.stats.inc_value("newsarchive/ingest_errors")
        crawler.stats.inc_value(_FAILURES_IN_A_ROW)
        logger.error("Could not store the fetch of %s: %s", page.url, stored.error)
        if crawler.stats.get_value(_FAILURES_IN_A_ROW) == STORE_FAILURES_TO_STOP:
            logger.error(
                "%d pages in a row could not be stored: stopping the crawl", STORE_FAILURES_TO_STOP
            )
            # Not awaited here: closing waits for the items in progress, this one among them.
            stopping = asyncio.ensure_future(
                crawler.engine.close_spider_async(reason=ARCHIVE_FAILING)
            )
            _stopping.add(stopping)
            stopping.add_done_callback(_stopping.discard)
        return None
    crawler.stats.set_value(_FAILURES_IN_A_ROW, 0)
    crawler.stats.inc_value(f"newsarchive/outcome/{stored.outcome}")
    return stored.outcome


# The crawls being stopped: a task must be referenced until it is done.
_stopping: set[asyncio.Future[None]] = set()

# The writer of each archive in this process, with how many pipelines use it.
_shared: dict[str, tuple[IngestProcess, int]] = {}


def shared_writer(db_url: str) -> IngestProcess:
    """The one writer process of `db_url` in this process, started by its first user.

    A run of several publishers is several crawlers, one pipeline each: with a writer each, two
    processes would write one SQLite file at once and wait on each other's locks (busy timeouts
    turn into lost pages under load). One writer stores every crawler's pages, in one queue.
    """
    writer, users = _shared.get(db_url, (None, 0))
    if writer is None or writer.closed:  # closed by close_unclosed after a forced stop
        writer, users = IngestProcess(db_url), 0
    _shared[db_url] = (writer, users + 1)
    return writer


def release_writer(db_url: str) -> IngestProcess | None:
    """One user is done with the writer of `db_url`: the writer to close when it was the last
    (every crawler's pages have been stored by then), else None."""
    writer, users = _shared.pop(db_url)
    if users > 1:
        _shared[db_url] = (writer, users - 1)
        return None
    return writer


class IngestPipeline:
    """Hands every FetchedPage to the writer process (`storage.ingest.write_path.ingest_many`
    in batches) and counts the outcomes in the stats. Each page's item waits until its batch is
    committed, so Scrapy's limit on responses in flight also bounds the pages waiting to be stored.

    Under `newsarchive crawl` the run (lock and crawl_runs row) is the command's, and its
    crawlers (one per publisher) share one writer (shared_writer); under plain
    `scrapy crawl NAME` this pipeline takes the lock and keeps the run itself.

    With a feed export configured (`scrapy crawl newsis -O records.jsonl`), the item passed on is
    the article's record as archived, the one `newsarchive export` gives; a fetch that left no
    version (failed, blocked, deleted) is dropped from the feed, and still archived.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_thread = DatabaseThread.of(crawler)
        self.crawl_run_id: int | None = crawler.settings.getint("NEWSARCHIVE_CRAWL_RUN_ID") or None
        self._own_run = ExitStack()
        self._owns_run = False
        self.writer: IngestProcess | None = None
        self._started = time.monotonic()
        self.feeds_records = bool(crawler.settings.getdict("FEEDS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def open_spider(self) -> None:
        if self.crawl_run_id is None:
            # Fails at once (RunLockBusy) when another crawl holds the database.
            self._own_run.enter_context(run_lock(self.db_thread.db_url))
            self._owns_run = True
            self.crawl_run_id = await self.db_thread.call(begin_run)
            self.crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)
        self.writer = shared_writer(self.db_thread.db_url)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        outcome = await store_counted(self.crawler, self.writer, item, self.crawl_run_id)
        if not self.feeds_records:
            return item
        record = None
        if outcome in _RECORD_OUTCOMES and item.article_id:
            record = await self.db_thread.call(current_record, item.article_id)
        if record is None:
            raise DropItem(f"no record from the fetch of {item.url} ({outcome})", "DEBUG")
        return record

    async def close_spider(self) -> None:
        # Every item has been stored (each waited for its batch): the writer ends at once,
        # when no other crawler of the run still hands it pages.
        if self.writer is not None and (last := release_writer(self.db_thread.db_url)):
            await asyncio.to_thread(last.close)
        if not self._owns_run:
            self.db_thread.close()

    async def _spider_closed(self, reason: str) -> None:
        # Signalled after close_spider, with the reason the crawl ended (finished, shutdown …).
        try:
            outcome, note = judge_run(
                {**self.crawler.stats.get_stats(), "finish_reason": reason},
                self.crawler.settings["NEWSARCHIVE_BASE_URL"],
            )
            summary = await self.db_thread.call(
                end_run, self.crawl_run_id, outcome, note, time.monotonic() - self._started
            )
            self.crawler.stats.set_value(EXIT_CODE_STAT, summary.exit_code)
            logger.log(logging.ERROR if summary.exit_code else logging.INFO, "%s", summary.line())
        finally:
            self.db_thread.close()
            self._own_run.close()

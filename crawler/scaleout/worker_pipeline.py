"""The worker's pipeline: ingest as a crawl does, into the current round, then end the lease."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from scrapy.crawler import Crawler

from crawler.db_thread import DatabaseThread
from crawler.pipelines import store_counted
from crawler.scaleout.lease_release import LeaseRelease
from crawler.scaleout.leases import LEASE_META, LeaseBook
from crawler.scaleout.shared_queue import current_round
from crawler.writer_process import IngestProcess
from storage.fetched_page import FetchedPage


class WorkerIngestPipeline:
    """IngestPipeline for workers: no run lock (many workers share the archive), the
    captures counted into the current round, and the request's lease finished after commit."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_thread = DatabaseThread.of(crawler)
        self.leases = LeaseBook.of(crawler)
        self.writer: IngestProcess | None = None
        self._round: int | None = None
        self._round_read_at = float("-inf")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerIngestPipeline:
        return cls(crawler)

    def _current_round(self) -> int | None:
        now = time.monotonic()
        if now - self._round_read_at >= 1.0:
            self._round = current_round(self.leases.client, self.leases.keys)
            self._round_read_at = now
        return self._round

    async def open_spider(self) -> None:
        # Started with the worker, not on its first page: a worker waits on the queue ready to
        # store, and the first pages of a round do not wait for a writer process to start.
        release = LeaseRelease(self.crawler.settings.get("REDIS_URL"), self.leases.taken_key)
        self.writer = IngestProcess(self.db_thread.db_url, after_commit=release)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        token = item.extra.pop(LEASE_META, None)
        assert self.writer is not None  # opened with the spider
        receipt = self.leases.data_of(token)
        if await store_counted(self.crawler, self.writer, item, self._current_round(), receipt):
            self.leases.ack(token)
        # Else the lease stays: the request goes back on the queue when this worker stops.
        return item

    async def close_spider(self) -> None:
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
        self.db_thread.close()

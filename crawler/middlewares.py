"""Downloader middleware: answer 429 Too Many Requests by waiting as long as Retry-After asks."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)


def retry_after_seconds(value: str | None, default: float, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """Retry a 429 after the server's Retry-After (capped), a bounded number of times.

    After the last try the 429 goes on to the spider, which records it as a failed capture.
    RetryMiddleware does not handle 429 here (RETRY_HTTP_CODES leaves it out) so the two never
    retry the same response twice.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_times = settings.getint("NEWSARCHIVE_RETRY_AFTER_TIMES", 3)
        self.default_wait = settings.getfloat("NEWSARCHIVE_RETRY_AFTER_DEFAULT", 30.0)
        self.max_wait = settings.getfloat("NEWSARCHIVE_RETRY_AFTER_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status != 429 or request.meta.get("dont_retry", False):
            return response
        tries = request.meta.get("retry_after_times", 0)
        if tries >= self.max_times:
            logger.warning("Gave up on %s after %d answers of 429", request.url, tries + 1)
            return response
        wait = min(
            retry_after_seconds(response.headers.get(b"Retry-After", b"").decode("latin-1"),
                                self.default_wait),
            self.max_wait,
        )
        logger.info("429 on %s: waiting %.1fs before retry %d", request.url, wait, tries + 1)
        # Imported here, not at the top: importing the reactor installs one, and Scrapy picks it.
        from twisted.internet import reactor

        # A timer, not a sleep: the reactor keeps serving other requests meanwhile.
        await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        retry = request.replace(dont_filter=True, priority=request.priority - 1)
        retry.meta["retry_after_times"] = tries + 1
        self.crawler.stats.inc_value("newsarchive/retry_after")
        return retry

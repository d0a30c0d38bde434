"""Sitemap reading for a spider: robots.txt's Sitemap lines, indexes, child and news sitemaps.

Parsing is Scrapy's (scrapy.utils.sitemap: lxml without entity resolution); a body is read only
up to the crawl's size cap (DOWNLOAD_MAXSIZE, also for a gzipped sitemap once unpacked).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import scrapy
from lxml import etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.publishers import Discovery, Publisher

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"


class Entry(NamedTuple):
    loc: str
    lastmod: datetime | None


def parse_lastmod(text: str | None) -> datetime | None:
    """A W3C datetime (2024-11-15, 2024-11-15T09:00:00+09:00, …Z) as aware UTC, or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def read_sitemap(body: bytes, max_size: int) -> tuple[str, list[Entry]]:
    """The sitemap's type (urlset, sitemapindex) and entries; ValueError for no sitemap."""
    if body[:2] == _GZIP_MAGIC:
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, ValueError) as error:
            raise ValueError(f"bad gzip: {error}") from None
    try:
        sitemap = Sitemap(body)
        entries = [Entry(d["loc"], parse_lastmod(d.get("lastmod"))) for d in sitemap]
    except (StopIteration, etree.LxmlError) as error:
        raise ValueError(f"not XML: {error}") from None
    return sitemap.type, entries


def children_to_read(
    children: list[Entry], since: datetime | None, discovery: Discovery
) -> list[Entry]:
    """The child sitemaps of an index worth reading this run: those whose <lastmod> is after
    `since`, and always the newest few, up to the publisher's cap (its Discovery)."""
    oldest = datetime.min.replace(tzinfo=UTC)
    newest_first = sorted(children, key=lambda c: c.lastmod or oldest, reverse=True)
    chosen = [
        child for number, child in enumerate(newest_first)
        if since is None or number < discovery.newest_child_sitemaps
        or (child.lastmod is not None and child.lastmod > since)
    ]
    return chosen[:discovery.max_child_sitemaps]


class SitemapReading:
    """What a spider with publisher, base_url, article_requests and discovery_failed needs to
    read the sitemaps robots.txt names; `previous_crawl_at` (the last finished crawl's start)
    picks the child sitemaps."""

    previous_crawl_at: datetime | None = None
    publisher: Publisher

    def sitemap_requests(self) -> Iterator[scrapy.Request]:
        # Its own fetch of robots.txt: the robots middleware keeps the rules, not the lines.
        yield scrapy.Request(
            self.base_url + (self.publisher.discovery.robots_path or "/robots.txt"),
            callback=self.parse_robots_sitemaps,
            errback=self.discovery_failed, priority=20, dont_filter=True,
        )

    def on_site(self, url: str) -> str | None:
        """A sitemap URL on the publisher's site, moved to the crawl's base URL like feeds;
        else None."""
        parts = urlsplit(url)
        on_mirror = url.startswith(self.base_url + "/")
        if not self.publisher.is_own_host(parts.hostname) and not on_mirror:
            return None
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def parse_robots_sitemaps(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status != 200:
            self.discovery_failed_status(response)
            return
        origin = self.publisher.canonical_origin + "/"
        for url in sitemap_urls_from_robots(response.body, base_url=origin):
            yield from self.sitemap_request(url, nested=False)

    def sitemap_request(self, url: str, nested: bool) -> Iterator[scrapy.Request]:
        placed = self.on_site(url)
        if placed is None:
            self.crawler.stats.inc_value("newsarchive/sitemaps_ignored")
            logger.info("Sitemap on another site, not read: %s", url[:500])
            return
        yield scrapy.Request(
            placed, callback=self.parse_sitemap, errback=self.discovery_failed, priority=15,
            cb_kwargs={"nested": nested},
        )

    async def parse_sitemap(self, response: Response, nested: bool) -> AsyncIterator[Any]:
        if response.status != 200:
            self.discovery_failed_status(response)
            return
        max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        try:
            kind, entries = read_sitemap(response.body, max_size)
        except ValueError as error:
            self.crawler.stats.inc_value("newsarchive/discovery_failed")
            logger.warning("Could not read the sitemap %s: %s", response.url, error)
            return
        self.crawler.stats.inc_value("newsarchive/sitemaps_read")
        if kind == "sitemapindex":
            # An index inside an index is not followed: Newsis nests one level (STRUCTURE.md).
            for child in [] if nested else children_to_read(
                entries, self.previous_crawl_at, self.publisher.discovery
            ):
                for request in self.sitemap_request(child.loc, nested=True):
                    yield request
            return
        lastmods: dict[str, datetime | None] = {}
        for entry in entries:
            article_id = self.publisher.discovery.article_id_of_link(entry.loc)
            if article_id is not None:
                lastmods[article_id] = max(
                    filter(None, (lastmods.get(article_id), entry.lastmod)), default=None
                )
        async for request in self.article_requests(list(lastmods), "sitemap", lastmods):
            yield request

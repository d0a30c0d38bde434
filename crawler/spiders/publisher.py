"""The publisher spider: finds one publisher's article URLs (feeds, list pages, sitemaps, due
revisits) and fetches them. Everything publisher-specific comes from its plug-in
(`PublisherSpider.publisher`); crawler/spiders/registered.py makes one spider class per
installed publisher (`scrapy crawl newsis`, `scrapy crawl yonhap`, …).

It extracts no fields: every article fetch goes to the pipeline as a FetchedPage, exactly as it
came (a 304, a 429 or a dropped connection included), and storage's ingest does the rest.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.selector import Selector
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.db_thread import (
    DatabaseThread,
    KnownArticle,
    known_articles,
    last_crawl_started_at,
    most_overdue,
    revisit_batch,
)
from crawler.origins import base_url_for, normalize_base_url
from crawler.publishers import Publisher
from crawler.spiders.fetch_errors import fetch_error_of
from crawler.spiders.sitemaps import SitemapReading
from storage.fetched_page import FetchedPage

logger = logging.getLogger(__name__)

REVISIT_MODES = ("due", "all", "none")
# What `scrapy crawl NAME -a name=value` accepts; anything else is refused.
SPIDER_ARGUMENTS = ("since", "revisit", "revisit_budget", "base_url")
# Due revisits fetched per run at most, the longest overdue first (`--revisit-budget`).
DEFAULT_REVISIT_BUDGET = 500

_REVISIT_BATCH = 500

# Keep the headers revisits and the archive need; the rest of the response is in the body.
KEPT_HEADERS = ("ETag", "Last-Modified", "Content-Type", "Retry-After", "Location")

# Scrapy's RobotsTxtMiddleware refuses with this message (and nothing else does).
ROBOTS_REFUSAL = "Forbidden by robots.txt"

def expected_answers(publisher: Publisher) -> list[int]:
    """The statuses besides 200 an article fetch may answer that the spider records (the
    publisher's expected_statuses): HttpErrorMiddleware would turn them into errors."""
    return sorted(publisher.answers.expected_statuses - {200})


class PublisherSpider(SitemapReading, scrapy.Spider):
    """One publisher's spider (a subclass sets `name` and `publisher`): feeds, sitemaps and
    list pages give article ids; each id is fetched once a run. Only the publisher's own
    archived articles are looked up and revisited, on a budget of their own.

    New articles are fetched wherever they are found. An archived one is fetched again when it
    is due (the longest overdue first, `revisit_budget` a run at most), or when a sitemap's
    <lastmod> for it is later than its last check, whatever its schedule.

    Arguments (`-a name=value` under `scrapy crawl`): `since=YYYY-MM-DD` pages back through the
    publisher's list pages (Newsis: the sections and /realnews/) to that registration date;
    `revisit=due|all|none` picks which archived articles are fetched again (default due: those
    whose next_check_at has passed; all: every archived article, no budget; none: none,
    <lastmod> changes included); `revisit_budget=N` caps due revisits (default 500);
    `base_url=http(s)://host[:port]` fetches from there instead of NEWSARCHIVE_BASE_URL (whose
    `NAME=URL` entry for this publisher, or bare URL for newsis, is used otherwise; with none,
    the publisher's real site).
    """

    # Its publisher's plug-in: ids and URLs, feeds, lists, sitemaps, answers.
    publisher: ClassVar[Publisher]
    # Every expected answer of an article fetch is evidence: expected_answers(publisher).
    handle_httpstatus_list: ClassVar[list[int]]

    def __init__(
        self,
        since: str | date | None = None,
        revisit: str = "due",
        base_url: str | None = None,
        revisit_budget: int | str = DEFAULT_REVISIT_BUDGET,
        **kwargs: Any,
    ):
        # Every `-a name=value` lands here: a misspelt one must stop the crawl, not be ignored.
        if kwargs:
            raise ValueError(
                f"unknown argument(s) for the {self.name} spider: {', '.join(sorted(kwargs))}"
                f" (it takes {', '.join(SPIDER_ARGUMENTS)})"
            )
        super().__init__()
        if isinstance(since, str):
            since = date.fromisoformat(since) if since.strip() else None
        self.since: date | None = since
        if revisit not in REVISIT_MODES:
            raise ValueError(f"revisit must be one of {', '.join(REVISIT_MODES)}, not {revisit!r}")
        self.revisit = revisit
        budget = str(revisit_budget).strip()
        if not budget.isdigit():
            raise ValueError(f"revisit_budget must be a whole number >= 0, not {revisit_budget!r}")
        self.revisit_budget = int(budget)
        self.base_url = normalize_base_url(base_url) if base_url else ""
        self.claimed_ids: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not spider.base_url:
            spider.base_url = base_url_for(
                spider.publisher.name, spider.publisher.canonical_origin,
                crawler.settings.get("NEWSARCHIVE_BASE_URL"),
            )
        # The crawler's own copy of the settings says its one origin: the site-only middleware
        # and the run's judgement read it (`-a base_url=` beats the setting).
        crawler.settings.set("NEWSARCHIVE_BASE_URL", spider.base_url, priority="cmdline")
        spider.db_thread = DatabaseThread.of(crawler)
        spider.started_at = datetime.now(UTC)
        return spider

    # --- discovery -------------------------------------------------------------------------

    def discovery_requests(
        self, since: date | None, sitemaps: bool = True
    ) -> Iterator[scrapy.Request]:
        """Where a run starts: every feed, robots.txt for its sitemaps, and with `since` the
        first page of every list.

        The scale-out scheduling job queues the same requests, sitemaps left out
        (crawler.scaleout.rounds; docs/DEPLOYMENT.md)."""
        if sitemaps:
            yield from self.sitemap_requests()
        discovery = self.publisher.discovery
        for slug in discovery.feed_slugs:
            yield scrapy.Request(
                self.base_url + discovery.feed_url_path(slug), callback=self.parse_feed,
                errback=self.discovery_failed, priority=20, cb_kwargs={"slug": slug},
            )
        if since is not None:
            for template in discovery.list_templates:
                yield self.list_request(template, 1, since)

    async def start(self) -> AsyncIterator[Any]:
        own = self.publisher.name
        self.previous_crawl_at = await self.db_thread.call(last_crawl_started_at, own)
        for request in self.discovery_requests(self.since):
            yield request
        if self.revisit == "due":
            due = await self.db_thread.call(
                most_overdue, self.started_at, self.revisit_budget, own
            )
            for request in self.revisit_requests(due):
                yield request
            return
        after_id = ""
        while self.revisit == "all":
            batch = await self.db_thread.call(
                revisit_batch, None, after_id, _REVISIT_BATCH, own
            )
            if not batch:
                break
            after_id = batch[-1].article_id
            for request in self.revisit_requests(batch):
                yield request

    def revisit_requests(self, known: Iterable[KnownArticle]) -> Iterator[scrapy.Request]:
        for archived in known:
            if archived.article_id not in self.claimed_ids:
                self.claimed_ids.add(archived.article_id)
                self.crawler.stats.inc_value("newsarchive/discovered/revisit")
                yield self.article_request(archived.article_id, archived, "revisit")

    def list_request(
        self, path_template: str, page: int, since: date | None = None
    ) -> scrapy.Request:
        """A list page of a backfill to `since` (default: the spider's). The date travels with
        the request, as text: scale-out workers serve rounds with different dates from Redis."""
        since = since or self.since or date.min
        return scrapy.Request(
            self.base_url + path_template.format(page=page), callback=self.parse_list,
            errback=self.discovery_failed, priority=10,
            cb_kwargs={"path_template": path_template, "page": page, "since": since.isoformat()},
        )

    async def parse_feed(self, response: Response, slug: str) -> AsyncIterator[Any]:
        if response.status != 200:
            self.discovery_failed_status(response)
            return
        self.crawler.stats.inc_value("newsarchive/feeds_read")
        links = Selector(text=response.text, type="xml").xpath("//item/link/text()").getall()
        id_of_link = self.publisher.discovery.article_id_of_link
        ids = [article_id for link in links if (article_id := id_of_link(link))]
        ignored = len(links) - len(ids)
        if ignored:
            self.crawler.stats.inc_value("newsarchive/links_ignored", ignored)
            logger.info(
                "Feed %s: ignored %d link(s) that name no %s article",
                slug, ignored, self.publisher.name,
            )
        async for request in self.article_requests(ids, "feed"):
            yield request

    async def parse_list(self, response: Response, path_template: str, page: int, since: str):
        if response.status != 200:
            # A list page past the last one may well answer 404: that ends its paging quietly.
            if not (response.status == 404 and page > 1):
                self.discovery_failed_status(response)
            return
        self.crawler.stats.inc_value("newsarchive/list_pages_read")
        discovery = self.publisher.discovery
        hrefs: list[str] = []
        for selector in discovery.list_link_selectors:
            hrefs = hrefs or response.css(selector).getall()
        ids = list(dict.fromkeys(i for href in hrefs if (i := discovery.article_id_of_link(href))))
        oldest = date.fromisoformat(since)
        wanted = [i for i in ids if discovery.registration_date(i) >= oldest]
        async for request in self.article_requests(wanted, "list"):
            yield request
        if discovery.list_reaches_back(ids, oldest) and page < discovery.max_list_pages:
            yield self.list_request(path_template, page + 1, oldest)

    async def article_requests(
        self, ids: Iterable[str], source: str,
        lastmods: dict[str, datetime | None] | None = None,
    ) -> AsyncIterator[Any]:
        """Requests for the ids not yet claimed this run: new ones always, archived ones when
        `lastmods` (a sitemap's) says they changed since their last check."""
        fresh = [i for i in dict.fromkeys(ids) if i not in self.claimed_ids]
        # Claimed before the look-up, so a second feed listing the same id meanwhile skips it.
        self.claimed_ids.update(fresh)
        if not fresh:
            return
        known = await self.db_thread.call(known_articles, fresh, self.publisher.name)
        for article_id in fresh:
            archived = known.get(article_id)
            how = source
            if archived is not None:
                how = self.revisit_reason(archived, (lastmods or {}).get(article_id))
                if how is None:
                    # Due ones come from the budgeted revisit list (start), not from here.
                    self.claimed_ids.discard(article_id)
                    self.crawler.stats.inc_value("newsarchive/skipped_not_due")
                    continue
            self.crawler.stats.inc_value(f"newsarchive/discovered/{how}")
            yield self.article_request(article_id, archived, how)

    def revisit_reason(self, archived: KnownArticle, lastmod: datetime | None) -> str | None:
        """Why an archived article found in a feed, list or sitemap is fetched now, or None."""
        if self.revisit == "all":
            return "revisit"
        if self.revisit == "none" or lastmod is None:
            return None
        checked = archived.last_checked_at
        return "lastmod" if checked is None or lastmod > checked else None

    def article_request(
        self, article_id: str, archived: KnownArticle | None, source: str
    ) -> scrapy.Request:
        headers = {}
        if archived is not None and archived.etag:
            headers["If-None-Match"] = archived.etag
        if archived is not None and archived.last_modified:
            headers["If-Modified-Since"] = archived.last_modified
        return scrapy.Request(
            self.base_url + self.publisher.article_path.format(article_id=article_id),
            headers=headers,
            callback=self.parse_article, errback=self.article_failed,
            priority=0 if source == "revisit" else 5,
            meta={"article_id": article_id, "discovered_by": source},
        )

    # --- article fetches -> pipeline -------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[FetchedPage]:
        fetch_error = None
        if self.says_gone(response):
            yield self.fetched_page(response.request, response, None, gone=True)
            return
        if response.status == 200 and self.publisher.answers.looks_like_captcha(response.body):
            # A bot check answered instead of the article: never a version (issue 4).
            fetch_error = "captcha page instead of the article"
            self.crawler.stats.inc_value("newsarchive/captcha")
        elif response.status not in self.publisher.answers.expected_statuses:
            # 299, 206 …: no answer the publisher gives for an article, whatever its body holds.
            fetch_error = f"unexpected HTTP status {response.status}"
        yield self.fetched_page(response.request, response, fetch_error)

    def article_failed(self, failure: Failure) -> Iterable[FetchedPage]:
        """Every failed fetch of an article is kept as a failed capture with its reason, save a
        robots.txt refusal: nothing was asked of the site, and the run's summary counts it."""
        request = failure.request
        if self.refused_by_robots(failure):
            return
        response = failure.value.response if failure.check(HttpError) else None
        if response is not None and self.says_gone(response):
            # A redirect to the error page, not followed (EveryHopRedirectMiddleware).
            yield self.fetched_page(request, response, None, gone=True)
            return
        yield self.fetched_page(request, response, fetch_error_of(failure))

    def says_gone(self, response: Response) -> bool:
        """The publisher's word that the article was taken down (answers.is_gone)."""
        location = response.headers.get("Location")
        hops = response.request.meta.get("redirect_urls", [])
        if hops and not self.answers_for_itself(response):
            # Redirected to another article first: that one's answer says nothing of this one
            # (the capture is the wrong article's, a failure).
            return False
        # The URL asked for, not a redirect's: /error/ is judged against the article's origin.
        asked = hops[0] if hops else response.request.url
        if not self.publisher.answers.is_gone(response.status, location, response.body, asked):
            return False
        self.crawler.stats.inc_value("newsarchive/gone")
        return True

    def answers_for_itself(self, response: Response) -> bool:
        """Whether the URL that answered names the article asked for (a redirect from an old
        URL form to the same article does; one to another article does not)."""
        answered = self.publisher.id_in_url(response.url)
        asked = response.request.meta.get("article_id")
        if answered is None or asked is None:
            return answered is None
        return self.publisher.normalize_id(answered) == self.publisher.normalize_id(asked)

    def fetched_page(
        self, request: scrapy.Request, response: Response | None, fetch_error: str | None,
        gone: bool = False,
    ) -> FetchedPage:
        """The FetchedPage of the article `request` asked for, whichever URL answered."""
        article_id = request.meta["article_id"]
        headers = {}
        for name in KEPT_HEADERS if response is not None else ():
            value = response.headers.get(name)
            if value is not None:
                headers[name] = value.decode("latin-1")
        return FetchedPage(
            url=self.publisher.canonical_article_url(article_id),
            status=None if response is None else response.status,
            headers=headers,
            body=b"" if response is None else response.body,
            fetched_at=datetime.now(UTC),
            article_id=article_id,
            publisher=self.publisher.name,
            fetch_error=None if fetch_error is None else fetch_error[:1000],
            gone=gone,
            extra={
                "fetched_url": request.url if response is None else response.url,
                "discovered_by": request.meta["discovered_by"],
            },
        )

    def refused_by_robots(self, failure: Failure) -> bool:
        if not (failure.check(IgnoreRequest) and failure.getErrorMessage() == ROBOTS_REFUSAL):
            return False
        self.crawler.stats.inc_value("newsarchive/robots_refused")
        if "article_id" in failure.request.meta:
            self.crawler.stats.inc_value("newsarchive/robots_refused_articles")
        logger.warning("Not fetched: %s (%s)", failure.request.url, ROBOTS_REFUSAL)
        return True

    def discovery_failed(self, failure: Failure) -> None:
        if self.refused_by_robots(failure):
            return
        self.crawler.stats.inc_value("newsarchive/discovery_failed")
        logger.warning("Could not read %s: %s", failure.request.url, failure.getErrorMessage())

    def discovery_failed_status(self, response: Response) -> None:
        self.crawler.stats.inc_value("newsarchive/discovery_failed")
        logger.warning("Could not read %s: HTTP %d", response.url, response.status)

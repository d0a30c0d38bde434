"""Downloader middlewares: fetch from the publisher's own site only, follow its redirects, wait
as long as a 429's Retry-After asks."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from crawler.origins import normalize_base_url
from crawler.publishers import publisher_of_spider

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A URL's scheme and authority as written, up to the path: compared as text, so no parser's
# reading of userinfo, IP shorthands (127.1), dots or escapes can make two origins look alike.
_ORIGIN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)(.*)", re.DOTALL)


class RequestRefused(IgnoreRequest):
    """A request never sent, its message the reason a failed capture keeps."""


class OffsiteRefused(RequestRefused):
    """A request (first try or redirect hop) for another origin than the site's."""


def origin_spellings(base_url: str) -> frozenset[str]:
    """The ways to write a base URL's origin: lower case, with and without its default port."""
    parts = urlsplit(base_url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or _DEFAULT_PORTS[scheme]
    spellings = {f"{scheme}://{host}:{port}"}
    if port == _DEFAULT_PORTS[scheme]:
        spellings.add(f"{scheme}://{host}")
    return frozenset(spellings)


class SiteOrigin:
    """The one origin a crawl fetches from (scheme, host, port of its base URL), standing in
    for the publisher's canonical origin."""

    def __init__(self, base_url: str, canonical_origin: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._own = origin_spellings(self.base_url)
        self._canonical = origin_spellings(canonical_origin)

    def place(self, url: str) -> str | None:
        """The URL to fetch for `url`: itself when on the site, moved to the base URL when on the
        canonical origin, None when anywhere else."""
        match = _ORIGIN_TEXT.fullmatch(url)
        if match is None:
            return None
        origin, rest = match.group(1).lower(), match.group(2)
        if origin in self._own:
            return url
        if origin in self._canonical:
            return self.base_url + (rest or "/")
        return None


class SiteOnlyMiddleware:
    """Every request, first try or redirect hop, goes to the crawl's own origin or nowhere.

    Runs before robots.txt and every other middleware: a refused request is not even asked of
    another host's robots.txt. Its errback gets OffsiteRefused, saying where it would have gone.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.origin = SiteOrigin(
            normalize_base_url(crawler.settings["NEWSARCHIVE_BASE_URL"]),
            publisher_of_spider(crawler.spidercls).canonical_origin,
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> Request | None:
        placed = self.origin.place(request.url)
        if placed == request.url:
            return None
        if placed is not None:
            return request.replace(url=placed)
        self.crawler.stats.inc_value("newsarchive/offsite_refused")
        came_by = "redirect" if request.meta.get("redirect_urls") else "request"
        raise OffsiteRefused(f"{came_by} to another site: {request.url[:500]}")


class EveryWaiterRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with its rules given to every request that waited for them.

    Scrapy 2.19 keeps one Deferred per host while robots.txt is fetched and awaits it once per
    waiting request; the first await's callback returns None, so every later waiter got None,
    which means "no robots.txt": with several requests in flight at the start, pages robots.txt
    forbids were fetched. Once the fetch has settled, the parser (or None after an error) is in
    the middleware's cache: that is what each request is checked against.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        settled = self._parsers.get(urlparse_cached(request).netloc, parser)
        return parser if isinstance(settled, Deferred) else settled


class BrokenAnswer(Exception):
    """An answer no web server sends for a page (a flood of headers …): a failed fetch."""


class AnswerLimitsMiddleware:
    """Refuse answers whose headers no real page needs: thousands of lines, or megabytes.

    Twisted takes any number of header lines; a page under such a flood is not the article.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.max_headers = crawler.settings.getint("NEWSARCHIVE_MAX_RESPONSE_HEADERS", 200)
        self.max_header_bytes = crawler.settings.getint(
            "NEWSARCHIVE_MAX_RESPONSE_HEADER_BYTES", 65536
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        headers = response.headers
        lines = size = 0
        for name in headers:  # one look-up of each name's values for both counts
            values = headers.getlist(name)
            lines += len(values)
            size += len(name) + sum(map(len, values))
        if lines > self.max_headers:
            raise BrokenAnswer(f"{lines} response header lines (more than {self.max_headers})")
        if size > self.max_header_bytes:
            raise BrokenAnswer(f"{size} bytes of response headers (more than "
                               f"{self.max_header_bytes})")
        return response


class EveryHopRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, each hop exempt from the duplicate filter, save an article's redirect
    to the error page, which is not followed.

    A hop is part of the fetch asked for, not a new page: a loop back to the first URL would
    otherwise be dropped without a word, and its fetch would leave nothing behind
    (REDIRECT_MAX_TIMES bounds a loop instead). An article sent to /error/ is gone: the 302 and
    its Location are the evidence, kept as they came (the spider's errback gets them), and
    fetching the same error page once per deleted article would tell nothing more.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if (
            "article_id" in request.meta
            and response.status in REDIRECT_STATUSES
            and publisher_of_spider(self.crawler.spidercls).answers.is_error_redirect(
                response.headers.get("Location"), request.url
            )
        ):
            return response
        try:
            result = super().process_response(request, response)
        except ValueError as error:  # a Location no URL parser takes (a port of "80:81" …)
            location = response.headers.get("Location", b"").decode("latin-1")[:500]
            raise RequestRefused(f"redirect to an unusable URL: {location} ({error})") from None
        if isinstance(result, Request):
            result.dont_filter = True
        return result


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

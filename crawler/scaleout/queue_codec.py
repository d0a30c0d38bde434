"""The shared queue's wire format: requests as plain JSON, read back only as our spider makes them.

Anyone who can write to Redis can write queue entries, so an entry is data, never code: no
pickle, no import paths. An entry names its callback from a fixed list of spider methods, and
decodes only if it is exactly a request the reading spider itself would build for its publisher
(a feed, a list page or an article of that publisher's site, at the base URL it fetches from);
anything else raises BadEntry, and the reader drops it: another publisher's request in this
lane included. Mid-flight requests (retries, redirects) never travel: a worker keeps them
(crawler.scaleout.leased_scheduler.LeasedScheduler),
so no entry can claim a redirect or a retry count.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider

from crawler.publishers import Publisher

FORMAT = 1
# Our largest entry is an article revisit with both conditional headers, well under 1 KiB.
MAX_ENTRY_BYTES = 8192
MAX_HEADER_BYTES = 512
# Article 5, list page 10, feed 20 (crawler/spiders); the 429 retry lowers by one.
PRIORITY_RANGE = range(-100, 101)
# The only headers a fresh request of ours carries (a revisit's conditional GET); the rest are
# added by the fetching worker's own middlewares (User-Agent, Accept-Encoding, cookies).
ALLOWED_HEADERS = ("If-None-Match", "If-Modified-Since")
DISCOVERED_BY = ("feed", "list", "revisit")
# Each callback with the one errback the spider pairs with it.
CALLBACKS = {
    "parse_feed": "discovery_failed",
    "parse_list": "discovery_failed",
    "parse_article": "article_failed",
}
_FIELDS = frozenset(
    {"v", "url", "method", "headers", "body", "priority", "dont_filter", "callback", "errback",
     "cb_kwargs", "meta"}
)
_UNSAFE_HEADER_VALUE = re.compile(r"[\x00-\x1f\x7f]")


class BadEntry(ValueError):
    """A queue entry that is not a request of ours; `reason` is one short word for the counters."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class Site:
    """What requests may ask for: the publisher the reading spider crawls, at the base URL it
    fetches from."""

    publisher: Publisher
    base_url: str

    @classmethod
    def of(cls, spider: Spider) -> Site:
        return cls(spider.publisher, spider.base_url)

    def check_origin(self, url: str) -> None:
        try:
            parts, base = urlsplit(url), urlsplit(self.base_url)
            same = (parts.scheme, parts.hostname, parts.port) == (
                base.scheme, base.hostname, base.port
            )
        except ValueError:
            raise BadEntry("url", "unparseable") from None
        if parts.scheme not in ("http", "https"):
            raise BadEntry("url", "not http(s)")
        if not same or parts.username is not None or parts.password is not None:
            raise BadEntry("origin", "not the publisher's site")


def encode(request: Request, spider: Spider) -> bytes:
    """The entry of a fresh request our spider built; BadEntry if it is not one."""
    entry = {
        "v": FORMAT,
        "url": request.url,
        "method": request.method,
        "headers": {
            name: _b64(value)
            for name in ALLOWED_HEADERS
            if (value := request.headers.get(name)) is not None
        },
        "body": _b64(request.body),
        "priority": request.priority,
        "dont_filter": request.dont_filter,
        "callback": _method_name(request.callback, spider),
        "errback": _method_name(request.errback, spider),
        "cb_kwargs": dict(request.cb_kwargs),
        "meta": {key: request.meta[key] for key in ("article_id", "discovered_by")
                 if key in request.meta},
    }
    data = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    decode(data, spider)  # what we push must be what every reader accepts
    return data


def decode(data: bytes, spider: Spider) -> Request:
    """The request an entry stands for, bound to `spider`; BadEntry unless it is exactly ours."""
    if not isinstance(data, bytes) or len(data) > MAX_ENTRY_BYTES:
        raise BadEntry("size", f"{len(data)} bytes")
    try:
        entry = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadEntry("json") from None
    if not isinstance(entry, dict) or set(entry) != _FIELDS or entry["v"] != FORMAT:
        raise BadEntry("fields")
    url = _typed(entry, "url", str)
    site = Site.of(spider)
    site.check_origin(url)
    if entry["method"] != "GET":
        raise BadEntry("method")
    priority = _typed(entry, "priority", int)
    if isinstance(priority, bool) or priority not in PRIORITY_RANGE:
        raise BadEntry("priority")
    dont_filter = _typed(entry, "dont_filter", bool)
    callback = _typed(entry, "callback", str)
    if callback not in CALLBACKS or entry["errback"] != CALLBACKS[callback]:
        raise BadEntry("callback", repr(callback)[:60])
    cb_kwargs = _typed(entry, "cb_kwargs", dict)
    meta = _typed(entry, "meta", dict)
    expected_url = _CHECKS[callback](site, cb_kwargs, meta)
    if url != expected_url:
        raise BadEntry("url", "not the URL the spider builds for these arguments")
    body = _unb64(_typed(entry, "body", str))
    if body:
        raise BadEntry("body", "a GET of ours has none")
    return Request(
        url, method="GET", headers=_headers(_typed(entry, "headers", dict)),
        priority=priority, dont_filter=dont_filter,
        callback=getattr(spider, callback), errback=getattr(spider, CALLBACKS[callback]),
        cb_kwargs=cb_kwargs, meta=meta,
    )


def _feed(site: Site, cb_kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    discovery = site.publisher.discovery
    if meta or set(cb_kwargs) != {"slug"} or cb_kwargs["slug"] not in discovery.feed_slugs:
        raise BadEntry("arguments", "feed")
    return site.base_url + discovery.feed_url_path(cb_kwargs["slug"])


def _list(site: Site, cb_kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    if meta or set(cb_kwargs) != {"path_template", "page", "since"}:
        raise BadEntry("arguments", "list page")
    discovery = site.publisher.discovery
    template, page, since = cb_kwargs["path_template"], cb_kwargs["page"], cb_kwargs["since"]
    if (
        not isinstance(template, str)
        or template not in discovery.list_templates
        or type(page) is not int
        or not 1 <= page <= discovery.max_list_pages
        or not isinstance(since, str)
    ):
        raise BadEntry("arguments", "list page")
    try:
        date.fromisoformat(since)
    except ValueError:
        raise BadEntry("arguments", "list page date") from None
    return site.base_url + template.format(page=page)


def _article(site: Site, cb_kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    if cb_kwargs or set(meta) != {"article_id", "discovered_by"}:
        raise BadEntry("arguments", "article")
    article_id = meta["article_id"]
    if not isinstance(article_id, str) or not site.publisher.article_id_re.fullmatch(article_id):
        raise BadEntry("arguments", "article id")
    if meta["discovered_by"] not in DISCOVERED_BY:
        raise BadEntry("arguments", "discovered_by")
    # The URL names the article the page is stored as: no entry can file one page as another.
    return site.base_url + site.publisher.article_path.format(article_id=article_id)


_CHECKS = {"parse_feed": _feed, "parse_list": _list, "parse_article": _article}


def _typed(entry: dict[str, Any], name: str, kind: type) -> Any:
    value = entry[name]
    if not isinstance(value, kind):
        raise BadEntry("types", name)
    return value


def _headers(encoded: dict[str, Any]) -> dict[str, bytes]:
    headers = {}
    for name, value in encoded.items():
        if name not in ALLOWED_HEADERS or not isinstance(value, str):
            raise BadEntry("headers", repr(name)[:60])
        raw = _unb64(value)
        if len(raw) > MAX_HEADER_BYTES or _UNSAFE_HEADER_VALUE.search(raw.decode("latin-1")):
            raise BadEntry("headers", name)
        headers[name] = raw
    return headers


def _b64(value: bytes | str) -> str:
    raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise BadEntry("base64") from None


def _method_name(method: Any, spider: Spider) -> str | None:
    """The name of a bound method of `spider`, if it is one of the allowed ones."""
    name = getattr(method, "__name__", None)
    if getattr(method, "__self__", None) is not spider or (
        name not in CALLBACKS and name not in CALLBACKS.values()
    ):
        raise BadEntry("callback", f"{method!r} is not an allowed spider method")
    return name

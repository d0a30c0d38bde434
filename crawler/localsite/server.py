"""The local Newsis-like site: HTTP server in a thread, a driven clock, the newsroom, faults.

In-process, tests call NewsisSite's methods; other processes use the control API
(crawler/localsite/control.py) or the command line (`python -m crawler.localsite --help`).

- Clock: `now` (default 2024-11-15 09:00 KST) moves only by `advance(minutes)`; with
  `clock="real"` it starts at the real current time (or at `now`) and also follows the wall clock,
  new articles appearing as time passes. `aged` articles are published 8 to 120 days before it
  (default: none on the fixed clock, a tenth of `articles` on the real one).
- Newsroom: `edit_article(id, what)` changes the headline, a paragraph or a caption (수정 = now);
  `touch_article(id)` shows a new 수정 time and changes nothing else; `bump_photo_rnd(id)` gives
  the photos a new ?rnd= stamp; `delete_article(id, gone=None)` takes the article down (it leaves
  feeds, lists and sitemaps); `restore_article(id, what=None)` brings it back under the same id,
  edited as it comes back when `what` is given.
- A deleted article answers as Newsis does (`gone="newsis"`: current design 302 to /error/,
  older design the GISA FILE NOT EXISTS page with 200), or "302", "200", "404" or "410": per site
  (constructor, `set_gone`) or per article (`delete_article(id, gone)`).
- Sitemaps: /sitemap.xml is an index of monthly child sitemaps (/sitemap/sitemap-YYYY-MM.xml);
  they and the Google News sitemap /newsis_news_google.xml give each article's `<lastmod>`, its
  last change (edit, touch, photo re-stamp, restore). robots.txt names both.
- `sitemap_only` articles are in the sitemaps but in no RSS feed and no list page:
  `live_articles()` has them, `listed_articles()` does not.
- Every link the site publishes (feeds, sitemaps, robots.txt) names https://www.newsis.com.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.localsite import feeds, newsroom, pages, routes
from crawler.localsite.articles import (
    IdAllocator,
    article_kind,
    generate_articles,
    make_article,
    publish_gap,
)
from crawler.localsite.control import UnknownArticle, control
from crawler.localsite.faults import FAULT_KINDS, Faults
from crawler.localsite.handler import Handler, Server
from crawler.localsite.model import KST, SiteArticle, expected_record
from crawler.localsite.routes import FEED_SIZE, FEEDS
from crawler.localsite.wording import _rng

__all__ = ["DEFAULT_NOW", "FAULT_KINDS", "FEEDS", "FEED_SIZE", "NewsisSite", "UnknownArticle"]

DEFAULT_NOW = datetime(2024, 11, 15, 9, 0, tzinfo=KST)
CLOCKS = ("fixed", "real")
PAGE_CACHE_SIZE = 400
ARTICLE_ID = r"NIS[XI]\d{8}_\d{10}"
_VIEW_RE = re.compile(rf"^/view/({ARTICLE_ID})/?$")
# Old URL forms (STRUCTURE.md § Identifiers and URLs) and the query key that carries the id.
_OLD_FORMS = {
    "/view/": "id",
    "/view": "id",
    "/ar_detail/view.html": "ar_id",
    "/view.html": "ar_id",
    "/view_amp.html": "ar_id",
}


class NewsisSite:
    """A Newsis-like site on 127.0.0.1, deterministic for a seed (and a now); a context manager."""

    def __init__(
        self,
        seed: int = 1,
        articles: int = 200,
        now: datetime | None = None,
        per_hour: float = 12.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: str = "fixed",
        aged: int | None = None,
        sitemap_only: int = 0,
        gone: str = "newsis",
    ) -> None:
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}: use fixed or real")
        self.seed, self.per_hour, self.host, self.port, self.clock = (
            seed, per_hour, host, port, clock
        )
        start = now or (datetime.now(KST) if clock == "real" else DEFAULT_NOW)
        self.now = start.astimezone(KST).replace(microsecond=0)
        # The real clock runs this far from the wall clock (zero unless `now` was given).
        self._wall_offset = self.now - datetime.now(KST)
        self._lock = threading.RLock()
        self.set_gone(gone)
        self._allocator = IdAllocator()
        aged = (articles // 10 if clock == "real" else 0) if aged is None else aged
        generated = generate_articles(
            seed, articles, self.now, per_hour, self._allocator, aged=aged
        )
        generated = _mark_sitemap_only(seed, generated, sitemap_only)
        self._articles: dict[str, SiteArticle] = {a.article_id: a for a in generated}
        self._next_index = articles
        self._next_publish_at = self.now + publish_gap(seed, articles, per_hour)
        self._state_no = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._pages: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        recent = [
            a for a in reversed(generated) if a.design == "current" and not a.sitemap_only
        ][:60]
        self.chrome = pages.Chrome(seed, [(a.article_id, a.headline) for a in recent])
        self._error_page = pages.render_error(self.chrome)
        self.requests: list[tuple[str, str, int]] = []
        # What /robots.txt says instead of Newsis' own rules, when set.
        self.robots_txt: bytes | None = None
        self.faults_fired: list[tuple[str, str]] = []
        self.faults = Faults(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> NewsisSite:
        handler = type("SiteHandler", (Handler,), {"site": self})
        server = Server((self.host, self.port), handler)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="newsis-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> NewsisSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- reading ---------------------------------------------------------------------------
    def article(self, article_id: str) -> SiteArticle:
        with self._lock:
            try:
                return self._articles[article_id]
            except KeyError:
                raise UnknownArticle(article_id) from None

    def live_articles(self) -> list[SiteArticle]:
        """Articles not deleted, sitemap-only ones included, newest first."""
        return list(self.cached(("live",), self._sorted_live))

    def listed_articles(self) -> list[SiteArticle]:
        """The live articles lists and feeds show (sitemap-only ones left out), newest first."""
        return [a for a in self.live_articles() if not a.sitemap_only]

    def _sorted_live(self) -> list[SiteArticle]:
        live = [a for a in self._articles.values() if not a.deleted]
        return sorted(live, key=lambda a: (a.published_at, a.article_id), reverse=True)

    def expected_record(self, article_id: str) -> dict[str, Any]:
        return expected_record(self.article(article_id))

    def page(self, article_id: str) -> bytes:
        """The article page as served (UTF-8, no fault)."""
        article = self.article(article_id)
        key = (article_id, article.version)
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                return cached
        cached = pages.render_article(article, self.chrome)
        with self._lock:
            self._pages[key] = cached
            # Bounded: a 2,000-article benchmark would otherwise hold ~280 MB of pages.
            while len(self._pages) > PAGE_CACHE_SIZE:
                self._pages.popitem(last=False)
        return cached

    # -- driving the clock and the newsroom ------------------------------------------------
    def advance(self, minutes: float) -> list[str]:
        """Move the clock; the articles due by then appear. Returns their ids, oldest first."""
        with self._lock:
            new = self._advance_to(self.now + timedelta(minutes=minutes))
            self._changed()
            return new

    def catch_up(self) -> None:
        """On the real clock, move the site's now to the wall clock's (never back)."""
        if self.clock != "real":
            return
        with self._lock:
            target = (datetime.now(KST) + self._wall_offset).replace(microsecond=0)
            # Feeds and lists are rebuilt only when an article appears, not every second.
            if target > self.now and self._advance_to(target):
                self._changed()

    def _advance_to(self, moment: datetime) -> list[str]:
        self.now = moment
        new = []
        while self._next_publish_at <= self.now:
            index = self._next_index
            kind = article_kind(self.seed, index, allow_older=False)
            article = make_article(
                self.seed, index, self._next_publish_at, kind, self._allocator, self.now
            )
            self._articles[article.article_id] = article
            new.append(article.article_id)
            self._next_index += 1
            self._next_publish_at += publish_gap(self.seed, self._next_index, self.per_hour)
        return new

    def edit_article(self, article_id: str, what: str = "headline") -> SiteArticle:
        """Edit the headline, a paragraph or a caption; the page shows 수정 = the clock's time."""
        return self._change(article_id, lambda a: newsroom.edited(a, self.seed, what, self.now))

    def touch_article(self, article_id: str) -> SiteArticle:
        """Show a new 수정 time (the clock's) and change nothing else: same record but that."""
        return self._change(article_id, lambda a: newsroom.touched(a, self.now))

    def bump_photo_rnd(self, article_id: str) -> SiteArticle:
        """Give the article's photos a new ?rnd= stamp: the page changes, its record does not."""
        return self._change(article_id, lambda a: newsroom.restamped(a, self.now))

    def delete_article(self, article_id: str, gone: str | None = None) -> SiteArticle:
        """Take the article down; `gone` overrides the site's answer for it (see set_gone)."""
        return self._change(article_id, lambda a: newsroom.deleted(a, self.now, gone))

    def restore_article(self, article_id: str, what: str | None = None) -> SiteArticle:
        """Bring a deleted article back under its id; `what` edits it as it comes back."""
        return self._change(
            article_id, lambda a: newsroom.restored(a, self.seed, self.now, what)
        )

    def set_gone(self, gone: str) -> None:
        """How deleted articles answer: newsis, 302, 200, 404 or 410 (module docstring)."""
        if gone not in newsroom.GONE_ANSWERS:
            answers = ", ".join(newsroom.GONE_ANSWERS)
            raise ValueError(f"unknown gone answer {gone!r}: use one of {answers}")
        self.gone = gone

    def _change(self, article_id: str, change: Any) -> SiteArticle:
        # On the real clock `now` moves only with requests: an idle site would stamp an edit
        # before the crawl's last fetch, and no <lastmod> or 수정 time would show it.
        self.catch_up()
        with self._lock:
            article = change(self.article(article_id))
            self._articles[article_id] = article
            self._changed()
            return article

    def _changed(self) -> None:
        self._state_no += 1
        self._cache = {}

    # -- faults ----------------------------------------------------------------------------
    def set_faults(self, **plan: Any) -> None:
        """Inject faults, deterministically from `seed`.

        rates: {kind: probability} for every request whose path matches the glob `only`;
        kinds: 500 502 503 504 5xx 429 slow reset truncate truncate_nolength euckr, and the
        broken answers of crawler/localsite/transport.py (rules only: they take parameters).
        rules: [{"path": glob, "fault": kind, "times": n or null, "delay": s, "retry_after": s}],
        applied before rates, each to its first `times` matching requests (all when null).
        latency: seconds added to every answer (control endpoints excepted); also slow_delay,
        retry_after (crawler/localsite/faults.py).
        """
        self.faults.set(**plan)

    def clear_faults(self) -> None:
        self.faults.set()

    @property
    def _hits(self) -> Any:
        return self.faults.hits

    def request_count(self, path: str) -> int:
        """How many requests named exactly this path (with its query string)."""
        with self._lock:
            return sum(1 for _, logged, _ in self.requests if logged == path)

    # -- answering -------------------------------------------------------------------------
    def respond(
        self, method: str, raw_path: str, headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """The normal answer to a request (faults aside): status, headers, body."""
        self.catch_up()
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        match = _VIEW_RE.match(path)
        if match:
            return self._article_answer(match.group(1), headers)
        if path in _OLD_FORMS:
            values = {key.lower(): value for key, value in query.items()}
            article_id = (values.get(_OLD_FORMS[path]) or [""])[0]
            if re.fullmatch(ARTICLE_ID, article_id):
                return 301, {"Location": f"{self.base_url}/view/{article_id}"}, b""
            return self._to_error()
        if path in ("/error/", "/error"):
            return 200, {"Content-Type": routes.HTML}, self._error_page
        return routes.listing_answer(self, path, query) or self._to_error()

    def control(self, method: str, raw_path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """GET or POST /_control/ACTION (crawler/localsite/control.py lists them)."""
        return control(self, method, raw_path, payload)

    def cached(self, key: tuple[Any, ...], make: Any) -> Any:
        """make(), kept until the next change of the site."""
        with self._lock:
            full_key = (*key, self._state_no)
            body = self._cache.get(full_key)
            if body is None:
                body = self._cache[full_key] = make()
            return body

    def _to_error(self) -> tuple[int, dict[str, str], bytes]:
        # Newsis sends unknown pages to /error/ (STRUCTURE.md § Identifiers and URLs).
        return 302, {"Location": f"{self.base_url}/error/"}, b""

    def _gone_answer(self, article: SiteArticle) -> tuple[int, dict[str, str], bytes]:
        gone = article.gone or self.gone
        if gone == "newsis":
            gone = "200" if article.design == "older" else "302"
        if gone == "302":
            return self._to_error()
        return int(gone), {"Content-Type": routes.HTML}, self._error_page

    def _article_answer(self, article_id: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            article = self._articles.get(article_id)
        if article is None:
            return self._to_error()
        if article.deleted:
            return self._gone_answer(article)
        etag = f'"{article.article_id[-10:]}-{article.version}"'
        last_modified = article.last_modified.replace(microsecond=0)
        answer_headers = {
            "Content-Type": routes.HTML,
            "ETag": etag,
            "Last-Modified": feeds.http_date(last_modified),
            "Cache-Control": "no-cache",
        }
        if _not_modified(headers, etag, last_modified):
            return 304, answer_headers, b""
        return 200, answer_headers, self.page(article_id)


def _not_modified(headers: Any, etag: str, last_modified: datetime) -> bool:
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return etag in tags or if_none_match.strip() == "*"
    if headers.get("If-Modified-Since"):
        try:
            since = parsedate_to_datetime(headers["If-Modified-Since"])
        except (TypeError, ValueError):
            return False
        return since is not None and since.tzinfo is not None and last_modified <= since
    return False


def _mark_sitemap_only(seed: int, generated: list[SiteArticle], count: int) -> list[SiteArticle]:
    """`count` of the newer current-design articles marked sitemap-only, picked by the seed."""
    if count <= 0:
        return generated
    newest = [a for a in reversed(generated) if a.design == "current"][: max(20, 2 * count)]
    chosen = _rng(seed, "sitemap_only").sample(newest, min(count, len(newest)))
    picked = {article.article_id for article in chosen}
    return [replace(a, sitemap_only=True) if a.article_id in picked else a for a in generated]

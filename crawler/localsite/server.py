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
- Yonhap: with `yonhap_articles` > 0 the same site serves a Yonhap-like site too, on its own
  port (`yonhap_port`, 0: any free one): `site.yonhap` (crawler/localsite/yonhap/front.py), base
  URL `site.yonhap.base_url`. One clock, one newsroom: `advance` publishes on both, and the
  newsroom's methods take either publisher's ids; each listener has its own faults, request
  log, robots.txt override and gone answer (Yonhap's: yonhap = 404 with the error page, script,
  404, 410). Yonhap's links name https://www.yna.co.kr.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
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
    mark_sitemap_only,
    publish_gap,
)
from crawler.localsite.control import UnknownArticle, control
from crawler.localsite.faults import FAULT_KINDS
from crawler.localsite.listener import Listener
from crawler.localsite.model import KST, SiteArticle, expected_record
from crawler.localsite.routes import FEED_SIZE, FEEDS
from crawler.localsite.yonhap import articles as yonhap_made
from crawler.localsite.yonhap import pages as yonhap_pages
from crawler.localsite.yonhap.front import YonhapFront

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


class NewsisSite(Listener):
    """A Newsis-like site on 127.0.0.1 (and a Yonhap-like one beside it, when asked),
    deterministic for a seed (and a now); a context manager."""

    publisher = "newsis"

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
        yonhap_articles: int = 0,
        yonhap_port: int = 0,
        yonhap_gone: str = "yonhap",
    ) -> None:
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}: use fixed or real")
        self.seed, self.per_hour, self.clock = seed, per_hour, clock
        start = now or (datetime.now(KST) if clock == "real" else DEFAULT_NOW)
        self.now = start.astimezone(KST).replace(microsecond=0)
        # The real clock runs this far from the wall clock (zero unless `now` was given).
        self._wall_offset = self.now - datetime.now(KST)
        self._init_listener(threading.RLock(), host, port)
        self.set_gone(gone)
        self._allocator = IdAllocator()
        aged = (articles // 10 if clock == "real" else 0) if aged is None else aged
        generated = generate_articles(
            seed, articles, self.now, per_hour, self._allocator, aged=aged
        )
        generated = mark_sitemap_only(seed, generated, sitemap_only)
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
        self.yonhap: YonhapFront | None = None
        if yonhap_articles > 0:
            self._add_yonhap(yonhap_articles, host, yonhap_port, yonhap_gone)

    def _add_yonhap(self, count: int, host: str, port: int, gone: str) -> None:
        """Yonhap's articles, in the same model and newsroom, and its own listener."""
        self._yonhap_allocator = yonhap_made.CidAllocator()
        made = yonhap_made.generate_articles(
            self.seed, count, self.now, self.per_hour, self._yonhap_allocator
        )
        self._articles.update((article.article_id, article) for article in made)
        self._yonhap_next_index = count
        self._yonhap_next_at = self.now + yonhap_made.publish_gap_after(
            self.seed, count, self.per_hour
        )
        self.yonhap = YonhapFront(self, host, port, gone)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> NewsisSite:
        self._listen("newsis-site")
        if self.yonhap is not None:
            self.yonhap.start()
        return self

    def stop(self) -> None:
        if self.yonhap is not None:
            self.yonhap.stop()
        self._close()

    def __enter__(self) -> NewsisSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def site(self) -> NewsisSite:
        """The whole site (the control API's actions on articles and the clock go to it)."""
        return self

    # -- reading ---------------------------------------------------------------------------
    def article(self, article_id: str) -> SiteArticle:
        with self._lock:
            try:
                return self._articles[article_id]
            except KeyError:
                raise UnknownArticle(article_id) from None

    def live_articles(self, publisher: str = "newsis") -> list[SiteArticle]:
        """The publisher's articles not deleted, sitemap-only ones included, newest first."""
        return list(self.cached(("live", publisher), lambda: self._sorted_live(publisher)))

    def listed_articles(self, publisher: str = "newsis") -> list[SiteArticle]:
        """The live articles lists and feeds show (sitemap-only ones left out), newest first."""
        return [a for a in self.live_articles(publisher) if not a.sitemap_only]

    def deleted_ids(self, publisher: str = "newsis") -> list[str]:
        with self._lock:
            return [i for i, a in self._articles.items() if a.deleted and a.publisher == publisher]

    def _sorted_live(self, publisher: str) -> list[SiteArticle]:
        live = [a for a in self._articles.values() if not a.deleted and a.publisher == publisher]
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
        if article.publisher == "yonhap" and self.yonhap is not None:
            cached = yonhap_pages.render_article(article, self.yonhap.chrome)
        else:
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
        while self.yonhap is not None and self._yonhap_next_at <= self.now:
            index = self._yonhap_next_index
            article = yonhap_made.make_article(
                self.seed, index, self._yonhap_next_at, self._yonhap_allocator
            )
            self._articles[article.article_id] = article
            new.append(article.article_id)
            self._yonhap_next_index += 1
            self._yonhap_next_at += yonhap_made.publish_gap_after(
                self.seed, index + 1, self.per_hour
            )
        return sorted(new, key=lambda article_id: self._articles[article_id].published_at)

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

    def missing_answer(self) -> tuple[int, dict[str, str], bytes]:
        return self._to_error()

    def gone_answer(self, article: SiteArticle) -> tuple[int, dict[str, str], bytes]:
        gone = article.gone or self.gone
        if gone == "newsis":
            gone = "200" if article.design == "older" else "302"
        if gone == "302":
            return self._to_error()
        return int(gone), {"Content-Type": routes.HTML}, self._error_page

    def _article_answer(self, article_id: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        return self.article_answer(article_id, headers, self)

    def article_answer(
        self, article_id: str, headers: Any, front: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """An article page, 304, or `front`'s (a listener's) answer for a missing or deleted one."""
        with self._lock:
            article = self._articles.get(article_id)
        if article is None or article.publisher != front.publisher:
            return front.missing_answer()
        if article.deleted:
            return front.gone_answer(article)
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

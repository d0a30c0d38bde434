"""The local Newsis-like site: HTTP server in a thread, a driven clock, edits, injected faults."""

from __future__ import annotations

import fnmatch
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.localsite import pages, transport
from crawler.localsite.articles import (
    ALL_SECTIONS,
    KST,
    PHOTO_ACTIONS,
    PLACES,
    SECTION_BY_CID,
    IdAllocator,
    SiteArticle,
    _paragraph,
    _rng,
    article_kind,
    expected_record,
    generate_articles,
    make_article,
    publish_gap,
)

DEFAULT_NOW = datetime(2024, 11, 15, 9, 0, tzinfo=KST)
FEED_SIZE = 50
PAGE_CACHE_SIZE = 400
ARTICLE_ID = r"NIS[XI]\d{8}_\d{10}"
_VIEW_RE = re.compile(rf"^/view/({ARTICLE_ID})/?$")
_LIST_RE = re.compile(r"^/([a-z]+)/list/?$")
# Old URL forms (STRUCTURE.md § Identifiers and URLs) and the query key that carries the id.
_OLD_FORMS = {
    "/view/": "id",
    "/view": "id",
    "/ar_detail/view.html": "ar_id",
    "/view.html": "ar_id",
    "/view_amp.html": "ar_id",
}
_SECTION_PATHS = {s.path.strip("/") for s in ALL_SECTIONS} | {
    s.old_path.strip("/") for s in ALL_SECTIONS if s.old_path
}

# The 16 RSS feeds (STRUCTURE.md § Lists, feeds, sitemaps): slug -> (title, which articles).
FEEDS: dict[str, tuple[str, Any]] = {
    "sokbo": ("속보", lambda a: a.headline.startswith("[속보]")),
    "politics": ("정치", lambda a: a.section.cid == "10300"),
    "international": ("국제", lambda a: a.section.cid == "10100"),
    "economy": ("경제", lambda a: a.section.cid == "10400"),
    "bank": ("금융", lambda a: a.section.cid == "15000"),
    "industry": ("산업", lambda a: a.section.cid == "13000"),
    "society": ("사회", lambda a: a.section.cid == "10200"),
    "health": ("IT·바이오", lambda a: a.section.cid == "13100"),
    "met": ("수도권", lambda a: a.section.cid == "14000"),
    "country": ("지방", lambda a: a.section.cid == "10800"),
    "sports": ("스포츠", lambda a: a.section.cid == "10500"),
    "culture": ("문화", lambda a: a.section.cid == "10700"),
    "entertain": ("연예", lambda a: a.section.cid == "10600"),
    "square": ("광장", lambda a: not a.is_photo_item),
    "photo": ("포토", lambda a: a.is_photo_item),
    "newsiseyes": ("뉴시스아이즈", lambda a: len(a.photos) >= 2 or a.is_photo_item),
}

FAULT_KINDS = (
    "500",
    "502",
    "503",
    "504",
    "5xx",
    "429",
    "slow",
    "reset",
    "truncate",
    "truncate_nolength",
    "euckr",
    *transport.TRANSPORT_FAULTS,
)


class UnknownArticle(KeyError):
    pass


class NewsisSite:
    """A Newsis-like site on 127.0.0.1, deterministic for a seed; a context manager.

    Tests drive it in-process (methods) or over HTTP (POST /_control/…, see `_control`).
    """

    def __init__(
        self,
        seed: int = 1,
        articles: int = 200,
        now: datetime | None = None,
        per_hour: float = 12.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.seed = seed
        self.per_hour = per_hour
        self.host = host
        self.port = port
        self.now = (now or DEFAULT_NOW).astimezone(KST).replace(microsecond=0)
        self._lock = threading.RLock()
        self._allocator = IdAllocator()
        generated = generate_articles(seed, articles, self.now, per_hour, self._allocator)
        self._articles: dict[str, SiteArticle] = {a.article_id: a for a in generated}
        self._next_index = articles
        self._next_publish_at = self.now + publish_gap(seed, articles, per_hour)
        self._state_no = 0
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self._pages: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        recent = [a for a in reversed(generated) if a.design == "current"][:60]
        self.chrome = pages.Chrome(seed, [(a.article_id, a.headline) for a in recent])
        self._error_page = pages.render_error(self.chrome)
        self.requests: list[tuple[str, str, int]] = []
        # What /robots.txt says instead of Newsis' own rules, when set.
        self.robots_txt: bytes | None = None
        self.faults_fired: list[tuple[str, str]] = []
        self._hits: Counter[str] = Counter()
        self._rule_hits: Counter[int] = Counter()
        self.clear_faults()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> NewsisSite:
        handler = type("Handler", (_Handler,), {"site": self})
        server = _Server((self.host, self.port), handler)
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
        """Articles not deleted, newest first (the order of every list and feed)."""
        with self._lock:
            key = ("live", self._state_no)
            cached = self._cache.get(key)
            if cached is None:
                live = [a for a in self._articles.values() if not a.deleted]
                live.sort(key=lambda a: (a.published_at, a.article_id), reverse=True)
                self._cache[key] = cached = live  # type: ignore[assignment]
            return list(cached)  # type: ignore[arg-type]

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
            self.now = self.now + timedelta(minutes=minutes)
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
            self._changed()
            return new

    def edit_article(self, article_id: str, what: str = "headline") -> SiteArticle:
        """Edit the headline, a paragraph or a caption; the page shows 수정 = the clock's time."""
        with self._lock:
            article = self.article(article_id)
            rng = _rng(self.seed, "edit", article_id, article.edits)
            if what == "headline":
                base = re.sub(r"\(종합\d+보\)$", "", article.headline)
                article = replace(article, headline=f"{base}(종합{article.edits + 2}보)")
            elif what == "paragraph":
                if not article.body:
                    raise ValueError(f"{article_id} has no paragraph to edit")
                body = list(article.body)
                number = rng.randrange(len(body))
                body[number] = f"{body[number]} {_paragraph(rng, '추가 확인 내용')}"
                article = replace(article, body=tuple(body))
            elif what == "caption":
                if not article.photos:
                    raise ValueError(f"{article_id} has no photo caption to edit")
                photo = article.photos[0]
                text = (
                    f"{rng.randint(1, 28)}일 {rng.choice(PLACES)}에서 {rng.choice(PHOTO_ACTIONS)}"
                )
                if text == photo.text:
                    text = "이날 " + text
                article = replace(article, photos=(replace(photo, text=text), *article.photos[1:]))
            else:
                raise ValueError(f"unknown edit {what!r}: use headline, paragraph or caption")
            article = replace(
                article,
                modified_at=self.now,
                changed_at=self.now,
                edits=article.edits + 1,
                version=article.version + 1,
            )
            self._articles[article_id] = article
            self._changed()
            return article

    def bump_photo_rnd(self, article_id: str) -> SiteArticle:
        """Give the article's photos a new ?rnd= stamp: the page changes, its record does not."""
        with self._lock:
            article = self.article(article_id)
            if not article.photos:
                raise ValueError(f"{article_id} has no photo")
            photos = []
            for number, photo in enumerate(article.photos):
                rnd = (self.now + timedelta(seconds=number)).strftime("%Y%m%d%H%M%S")
                if rnd <= photo.rnd:
                    rnd = str(int(photo.rnd) + 1)
                photos.append(replace(photo, rnd=rnd))
            article = replace(
                article, photos=tuple(photos), changed_at=self.now, version=article.version + 1
            )
            self._articles[article_id] = article
            self._changed()
            return article

    def delete_article(self, article_id: str) -> SiteArticle:
        with self._lock:
            article = self.article(article_id)
            article = replace(
                article, deleted=True, changed_at=self.now, version=article.version + 1
            )
            self._articles[article_id] = article
            self._changed()
            return article

    def _changed(self) -> None:
        self._state_no += 1
        self._cache = {}

    # -- faults ----------------------------------------------------------------------------
    def set_faults(
        self,
        seed: int = 0,
        rates: dict[str, float] | None = None,
        rules: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
        slow_delay: float = 2.0,
        retry_after: int = 1,
        only: str = "*",
    ) -> None:
        """Inject faults, deterministically from `seed`.

        rates: {kind: probability} for every request whose path matches the glob `only`;
        kinds: 500 502 503 504 5xx 429 slow reset truncate truncate_nolength euckr, and the
        broken answers of crawler/localsite/transport.py (rules only: they take parameters).
        rules: [{"path": glob, "fault": kind, "times": n or null, "delay": s, "retry_after": s}],
        applied before rates, each to its first `times` matching requests (all when null).
        latency: seconds added to every answer (control endpoints excepted).
        """
        for kind in rates or {}:
            if kind not in FAULT_KINDS or kind in transport.TRANSPORT_FAULTS:
                raise ValueError(f"unknown fault {kind!r}: use one of {', '.join(FAULT_KINDS)}")
        for rule in rules or []:
            if rule.get("fault") not in FAULT_KINDS or "path" not in rule:
                raise ValueError(f"bad fault rule {rule!r}: needs path and a known fault")
        with self._lock:
            self._fault_seed = seed
            self._rates = dict(rates or {})
            self._rules = [dict(rule) for rule in rules or []]
            self._rule_hits = Counter()
            self._latency = latency
            self._slow_delay = slow_delay
            self._retry_after = retry_after
            self._only = only

    def clear_faults(self) -> None:
        self.set_faults()

    def _pick_fault(self, path: str) -> tuple[str, dict[str, Any]] | None:
        only_path = path.split("?", 1)[0]
        with self._lock:
            attempt = self._hits[path]
            self._hits[path] += 1
            for number, rule in enumerate(self._rules):
                if fnmatch.fnmatchcase(only_path, rule["path"]) or fnmatch.fnmatchcase(
                    path, rule["path"]
                ):
                    times = rule.get("times")
                    if times is None or self._rule_hits[number] < times:
                        self._rule_hits[number] += 1
                        return rule["fault"], rule
            if not self._rates or not fnmatch.fnmatchcase(only_path, self._only):
                return None
            # Keyed by path and attempt, not arrival order: concurrent crawls see the same faults.
            rng = random.Random(f"{self._fault_seed}:{path}:{attempt}")
            roll = rng.random()
            for kind in FAULT_KINDS:
                roll -= self._rates.get(kind, 0.0)
                if roll < 0:
                    return kind, {"pick": rng.random()}
        return None

    def request_count(self, path: str) -> int:
        """How many requests named exactly this path (with its query string)."""
        with self._lock:
            return sum(1 for _, logged, _ in self.requests if logged == path)

    # -- answering -------------------------------------------------------------------------
    def respond(
        self, method: str, raw_path: str, headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """The normal answer to a request (faults aside): status, headers, body."""
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        html = "text/html; charset=UTF-8"
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
            return 200, {"Content-Type": html}, self._error_page
        if path == "/robots.txt":
            robots = pages.render_robots() if self.robots_txt is None else self.robots_txt
            return 200, {"Content-Type": "text/plain; charset=UTF-8"}, robots
        if path == "/sitemap.xml":
            body = self._cached(
                ("sitemap",), lambda: pages.render_sitemap(self.live_articles()[:5000])
            )
            return 200, {"Content-Type": "application/xml; charset=UTF-8"}, body
        if path == "/newsis_news_google.xml":
            since = self.now - timedelta(days=2)
            body = self._cached(
                ("news",),
                lambda: pages.render_news_sitemap(
                    [a for a in self.live_articles() if a.published_at >= since]
                ),
            )
            return 200, {"Content-Type": "application/xml; charset=UTF-8"}, body
        feed = re.fullmatch(r"/RSS/([a-z]+)\.xml", path)
        if feed and feed.group(1) in FEEDS:
            slug = feed.group(1)
            label, wanted = FEEDS[slug]
            body = self._cached(
                ("rss", slug),
                lambda: pages.render_rss(
                    label, [a for a in self.live_articles() if wanted(a)][:FEED_SIZE], self.now
                ),
            )
            return 200, {"Content-Type": "application/rss+xml; charset=UTF-8"}, body
        page = _page_no(query)
        if path in ("/realnews/", "/realnews", "/"):
            body = self._cached(
                ("realnews", page),
                lambda: pages.render_list("최신기사", self.live_articles(), page, "", self.chrome),
            )
            return 200, {"Content-Type": html}, body
        listing = _LIST_RE.match(path)
        if listing and listing.group(1) in _SECTION_PATHS:
            cid = (query.get("cid") or [""])[0]
            section = SECTION_BY_CID.get(cid)
            if section is None:
                return self._to_error()
            scid = (query.get("scid") or [""])[0]
            prefix = f"cid={cid}&amp;" + (f"scid={scid}&amp;" if scid else "")
            body = self._cached(
                ("list", cid, scid, page),
                lambda: pages.render_list(
                    section.label,
                    [a for a in self.live_articles() if a.section.cid == cid],
                    page,
                    prefix,
                    self.chrome,
                ),
            )
            return 200, {"Content-Type": html}, body
        return self._to_error()

    def _cached(self, key: tuple[Any, ...], make: Any) -> bytes:
        with self._lock:
            full_key = (*key, self._state_no)
            body = self._cache.get(full_key)
            if body is None:
                body = self._cache[full_key] = make()
            return body

    def _to_error(self) -> tuple[int, dict[str, str], bytes]:
        # Newsis sends unknown pages to /error/ (STRUCTURE.md § Identifiers and URLs).
        return 302, {"Location": f"{self.base_url}/error/"}, b""

    def _article_answer(self, article_id: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            article = self._articles.get(article_id)
        if article is None:
            return self._to_error()
        if article.deleted:
            if article.design == "older":
                return 200, {"Content-Type": "text/html; charset=UTF-8"}, self._error_page
            return self._to_error()
        etag = f'"{article.article_id[-10:]}-{article.version}"'
        last_modified = article.last_modified.replace(microsecond=0)
        answer_headers = {
            "Content-Type": "text/html; charset=UTF-8",
            "ETag": etag,
            "Last-Modified": pages.http_date(last_modified),
            "Cache-Control": "no-cache",
        }
        if_none_match = headers.get("If-None-Match")
        if if_none_match is not None:
            if (
                etag in [tag.strip() for tag in if_none_match.split(",")]
                or if_none_match.strip() == "*"
            ):
                return 304, answer_headers, b""
        elif headers.get("If-Modified-Since"):
            try:
                since = parsedate_to_datetime(headers["If-Modified-Since"])
            except (TypeError, ValueError):
                since = None
            if since is not None and since.tzinfo is not None and last_modified <= since:
                return 304, answer_headers, b""
        return 200, answer_headers, self.page(article_id)

    # -- the control API over HTTP ---------------------------------------------------------
    def control(self, method: str, raw_path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """POST /_control/{advance,edit,bump_photo_rnd,delete,faults,clear_faults,clear_requests};
        GET /_control/{state,requests,record/ID}."""
        action = urlsplit(raw_path).path.removeprefix("/_control/").strip("/")
        try:
            if method == "GET" and action == "state":
                live = self.live_articles()
                return 200, {
                    "now": self.now.isoformat(),
                    "base_url": self.base_url,
                    "article_ids": [a.article_id for a in live],
                    "deleted": [i for i, a in self._articles.items() if a.deleted],
                }
            if method == "GET" and action == "requests":
                with self._lock:
                    return 200, {
                        "requests": [list(entry) for entry in self.requests],
                        "faults": [list(entry) for entry in self.faults_fired],
                    }
            if method == "GET" and action.startswith("record/"):
                return 200, self.expected_record(action.removeprefix("record/"))
            if method != "POST":
                return 404, {"error": f"unknown control {method} {action}"}
            if action == "advance":
                new = self.advance(float(payload.get("minutes", 0)))
                return 200, {"now": self.now.isoformat(), "new": new}
            if action in ("edit", "bump_photo_rnd", "delete"):
                article_id = payload["article_id"]
                if action == "edit":
                    article = self.edit_article(article_id, payload.get("what", "headline"))
                elif action == "bump_photo_rnd":
                    article = self.bump_photo_rnd(article_id)
                else:
                    article = self.delete_article(article_id)
                modified = article.modified_at.isoformat() if article.modified_at else None
                return 200, {
                    "article_id": article_id,
                    "version": article.version,
                    "modified_at": modified,
                }
            if action == "faults":
                self.set_faults(**payload)
                return 200, {}
            if action == "clear_faults":
                self.clear_faults()
                return 200, {}
            if action == "clear_requests":
                with self._lock:
                    self.requests.clear()
                    self.faults_fired.clear()
                return 200, {}
            return 404, {"error": f"unknown control {action}"}
        except UnknownArticle as error:
            return 404, {"error": f"unknown article {error.args[0]}"}
        except (KeyError, TypeError, ValueError) as error:
            return 400, {"error": str(error)}


def _page_no(query: dict[str, list[str]]) -> int:
    try:
        return max(1, int((query.get("page") or ["1"])[0]))
    except ValueError:
        return 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 refuses connections when a crawler opens dozens at once.
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    site: NewsisSite
    protocol_version = "HTTP/1.1"  # keep-alive, as a crawler expects of a news site
    server_version = "Apache"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        site = self.site
        if self.path.startswith("/_control/"):
            self._serve_control(method)
            return
        fault = site._pick_fault(self.path)
        kind, params = fault if fault else (None, {})
        delay = site._latency + (
            float(params.get("delay", site._slow_delay)) if kind == "slow" else 0.0
        )
        if delay:
            time.sleep(delay)
        if kind:
            with site._lock:
                site.faults_fired.append((self.path, kind))
        if kind in transport.TRANSPORT_FAULTS:
            transport.serve(self, method, kind, params)
            return
        if kind == "reset":
            self._log(method, 0)
            self._reset()
            return
        if kind in ("500", "502", "503", "504", "5xx", "429"):
            status = (
                int(kind)
                if kind not in ("5xx",)
                else (500, 502, 503, 504)[int(params.get("pick", 0) * 4)]
            )
            extra = {}
            if kind == "429":
                extra["Retry-After"] = str(params.get("retry_after", site._retry_after))
            body = f"<html><body><h1>{status}</h1></body></html>".encode()
            self._send(method, status, {"Content-Type": "text/html", **extra}, body)
            return
        try:
            status, headers, body = site.respond(method, self.path, self.headers)
        except (
            Exception
        ) as error:  # a bug here must show up as a 500 in the test, not a hung client
            status, headers, body = 500, {"Content-Type": "text/plain"}, repr(error).encode()
        if kind == "euckr" and headers.get("Content-Type", "").startswith("text/html") and body:
            text = body.decode("utf-8").replace(
                '<meta charset="utf-8">', '<meta charset="euc-kr">', 1
            )
            body = text.encode("cp949", "xmlcharrefreplace")
            headers = {**headers, "Content-Type": "text/html; charset=EUC-KR"}
            headers.pop("ETag", None)
        if kind in ("truncate", "truncate_nolength") and len(body) > 1:
            self._send_truncated(method, status, headers, body, declare_length=kind == "truncate")
            return
        self._send(method, status, headers, body)

    def _serve_control(self, method: str) -> None:
        payload: dict[str, Any] = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                self._send(
                    method, 400, {"Content-Type": "application/json"}, b'{"error": "bad JSON"}'
                )
                return
        status, answer = self.site.control(
            method, self.path, payload if isinstance(payload, dict) else {}
        )
        body = json.dumps(answer, ensure_ascii=False).encode()
        self._send(
            method, status, {"Content-Type": "application/json; charset=UTF-8"}, body, log=False
        )

    def _log(self, method: str, status: int) -> None:
        with self.site._lock:
            self.site.requests.append((method, self.path, status))

    def _send(
        self, method: str, status: int, headers: dict[str, str], body: bytes, log: bool = True
    ) -> None:
        if log:
            self._log(method, status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD" and status != 304:
            self.wfile.write(body)

    def _send_truncated(
        self, method: str, status: int, headers: dict[str, str], body: bytes, declare_length: bool
    ) -> None:
        self._log(method, status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if declare_length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST: the client sees "connection reset".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

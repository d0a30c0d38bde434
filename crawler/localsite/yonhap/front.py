"""The Yonhap-like site's listener: its own port on the one local site, whose clock, newsroom
and articles it shares; its paths follow www.yna.co.kr (STRUCTURE.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from crawler.localsite.control import control
from crawler.localsite.listener import Listener
from crawler.localsite.model import SiteArticle
from crawler.localsite.newsroom import check_gone
from crawler.localsite.yonhap import listings, pages
from crawler.localsite.yonhap.articles import PUBLISHER
from crawler.localsite.yonhap.chrome import YonhapChrome

# `/view/AKR20260716091200003`, and the AMP form `/amp/view/…` that folds into it.
_VIEW_RE = re.compile(r"^(/amp)?/view/([A-Z]{3}\d{17})/?$")
HTML = listings.HTML


class YonhapFront(Listener):
    """Yonhap's listener of a NewsisSite (`site.yonhap`); faults and requests are its own."""

    publisher = PUBLISHER

    def __init__(self, site: Any, host: str, port: int, gone: str = "yonhap") -> None:
        self.site = site
        self._init_listener(site._lock, host, port)
        self.set_gone(gone)
        recent = [(a.article_id, a.headline) for a in self.listed_articles()[:60]]
        self.chrome = YonhapChrome(site.seed, recent)
        self._error_page = pages.render_error(self.chrome)

    def start(self) -> YonhapFront:
        self._listen("yonhap-site")
        return self

    def stop(self) -> None:
        self._close()

    # -- what the shared site holds, seen from here ------------------------------------------
    def live_articles(self) -> list[SiteArticle]:
        return self.site.live_articles(PUBLISHER)

    def listed_articles(self) -> list[SiteArticle]:
        return self.site.listed_articles(PUBLISHER)

    def deleted_ids(self) -> list[str]:
        return self.site.deleted_ids(PUBLISHER)

    def cached(self, key: tuple[Any, ...], make: Any) -> Any:
        return self.site.cached((PUBLISHER, *key), make)

    def set_gone(self, gone: str) -> None:
        """How deleted Yonhap articles answer: yonhap (404, the error page), script (200, a page
        that alerts and goes home), 404 or 410."""
        self.gone = check_gone(PUBLISHER, gone)

    # -- answering ---------------------------------------------------------------------------
    def respond(
        self, method: str, raw_path: str, headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """The normal answer to a request (faults aside): status, headers, body."""
        self.site.catch_up()
        path = urlsplit(raw_path).path
        view = _VIEW_RE.match(path)
        if view and view.group(1):
            return 301, {"Location": f"{self.base_url}/view/{view.group(2)}"}, b""
        if view:
            return self.site.article_answer(view.group(2), headers, self)
        return listings.listing_answer(self, path) or self.missing_answer()

    def control(self, method: str, raw_path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        return control(self, method, raw_path, payload)

    def missing_answer(self) -> tuple[int, dict[str, str], bytes]:
        # An unknown page or CID: 404 with the error page (STRUCTURE.md § Errors, assumed).
        return 404, {"Content-Type": HTML}, self._error_page

    def gone_answer(self, article: SiteArticle) -> tuple[int, dict[str, str], bytes]:
        gone = article.gone or self.gone
        if gone == "script":
            return 200, {"Content-Type": HTML}, pages.TAKEDOWN_PAGE
        return (404 if gone == "yonhap" else int(gone)), {"Content-Type": HTML}, self._error_page

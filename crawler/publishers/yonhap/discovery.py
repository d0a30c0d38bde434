"""Where Yonhap lists its articles (STRUCTURE.md § RSS, § List pages, § Sitemaps), and what its
site answers for an article taken down (§ Errors and deleted articles)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from urllib.parse import urljoin

from crawler.publishers.yonhap.urls import CANONICAL_ORIGIN, article_id_from_url

# https://www.yna.co.kr/rss/{slug}.xml: the 15 feeds of the footer's RSS index.
FEED_SLUGS = (
    "news", "politics", "northkorea", "economy", "market", "industry", "society", "local",
    "international", "culture", "health", "entertainment", "sports", "opinion", "people",
)
FEED_PATH = "/rss/{slug}.xml"
# Backfill pages through the latest news (/news/{n}), then each section's (/{section}/all/{n}).
LIST_SECTIONS = (
    "politics", "north-korea", "economy", "industry", "society", "local", "international",
    "culture", "lifestyle", "entertainment", "sports", "opinion", "people",
)
LIST_TEMPLATES = ("/news/{page}", *(f"/{section}/all/{{page}}" for section in LIST_SECTIONS))
# Article links of a list page: the 2025 markup (ads are <li> without data-cid), else 2019–2023.
LIST_LINK_SELECTORS = (
    "ul.list01 > li[data-cid] a.tit-news::attr(href)",
    "div.list-type038 ul.list li div.item-box01 a::attr(href)",
)
# The depth of the lists is unknown (one crawler stops at 20 pages): a backfill's bound.
MAX_LIST_PAGES = 200
MAX_LINK_LENGTH = 2048
ROBOTS_PATH = "/robots.txt"
# /sitemap.xml indexes news-sitemap3…6, photo and graphic sitemaps: read the newest few a run.
NEWEST_CHILD_SITEMAPS = 2
MAX_CHILD_SITEMAPS = 6

# The error page (examples/not-found.html) and the takedown page (a script that alerts and
# goes home): neither holds the article body.
_ERROR_PAGE_MARKER = b'class="error-wrap01"'
_BODY_MARKER = b"story-news"
_ALERT_MARKERS = (b"alert(", b"location")


def article_id_of_link(link: str | None) -> str | None:
    """The article id (AKR, PYH) a feed, list or sitemap link names, else None: links to other
    hosts, other item types (graphics, video, other languages) and over-long links."""
    if not link or len(link.strip()) > MAX_LINK_LENGTH:
        return None
    try:
        # List pages link protocol-relative (//www.yna.co.kr/view/…) or by path.
        absolute = urljoin(CANONICAL_ORIGIN + "/", link.strip())
    except ValueError:
        return None
    return article_id_from_url(absolute)


def registration_date(article_id: str) -> date:
    """The KST send date in the id (AKR20260716091200003 → 2026-07-16)."""
    digits = article_id[3:11]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def list_reaches_back(ids: Iterable[str], oldest: date) -> bool:
    """Whether a list page's articles all date from `oldest` on, so the next page is wanted."""
    dates = [registration_date(i) for i in ids]
    return bool(dates) and min(dates) >= oldest


def is_gone(status: int | None, _location: str | bytes | None, body: bytes, _url: str) -> bool:
    """404 or 410 (the error page), or a 200 error or takedown page: the article was taken
    down. A failed fetch (5xx, 429, no answer) never is."""
    if status in (404, 410):
        return True
    if status != 200 or _BODY_MARKER in body:
        return False
    head = body[:65536]
    return _ERROR_PAGE_MARKER in head or all(marker in head for marker in _ALERT_MARKERS)

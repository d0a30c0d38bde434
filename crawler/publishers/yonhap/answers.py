"""What Yonhap answers for an article page that is gone (STRUCTURE.md § Errors, assumed: no
Yonhap error page was ever seen)."""

from __future__ import annotations

GONE_STATUSES = frozenset({404, 410})
# examples/not-found.html: the error page, served 404 (and, should it come with 200, still it).
ERROR_PAGE_MARKERS = (b"error-wrap01", "요청하신 페이지를 찾을 수 없습니다".encode())
# A takedown may answer 200 with a script page that alerts and goes home: a script calling
# alert() and setting location, and no article body on the page.
TAKEDOWN_MARKERS = (b"alert(", b"location")
ARTICLE_MARKER = b"story-news"


def looks_like_gone_page(body: bytes) -> bool:
    """Whether a 200 page is the error page or the takedown script page, not an article."""
    head = body[:65536]
    if ARTICLE_MARKER in head:
        return False
    return any(marker in head for marker in ERROR_PAGE_MARKERS) or all(
        marker in head for marker in TAKEDOWN_MARKERS
    )


def is_gone(status: int | None, location: str | bytes | None, body: bytes, url: str) -> bool:
    """Whether an article fetch's answer says the article was taken down: 404, 410, or a 200
    error or takedown page. A failed fetch (5xx, 429, no answer) never is."""
    if status in GONE_STATUSES:
        return True
    return status == 200 and looks_like_gone_page(body)

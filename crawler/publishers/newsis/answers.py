"""What Newsis answers for an article page: the statuses it gives, bot-check pages, and the
answers that say an article is gone."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from crawler.publishers.newsis.urls import is_newsis_host

# What an article fetch may answer: the page, 304 (unchanged), 403/429 (blocked), 404/410
# (deleted), 5xx after retries. Any other status is a broken answer, kept as a failed capture.
EXPECTED_STATUSES = frozenset(
    {200, 304, 400, 403, 404, 408, 410, 429, 500, 502, 503, 504, 522, 524}
)
# Markers of the bot-check pages CDNs and Newsis' own firewall show instead of the article.
CAPTCHA_MARKERS = (b"g-recaptcha", b"h-captcha", b"hcaptcha.com", b"cf-challenge", b"cf_chl_",
                   b"captcha-form", b"id=\"captcha", b"class=\"captcha")
_CAPTCHA_STEMS = (b"captcha", b"cf-challenge", b"cf_chl_")

# An article taken down answers one of these (a status no failed fetch gives).
GONE_STATUSES = frozenset({404, 410})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# STRUCTURE.md § Identifiers and URLs: unknown and deleted pages redirect to
# https://www.newsis.com/error/.
ERROR_PATHS = frozenset({"/error/", "/error"})
# examples/not-found.html: the older design answered 200 with
# <div class="errorBox"><p class="mgt18">GISA FILE NOT EXISTS</p>…
ERROR_PAGE_MARKERS = (b"GISA FILE NOT EXISTS", b'<div class="errorBox">')


def looks_like_captcha(body: bytes) -> bool:
    head = body[:65536].lower()
    # Every marker holds one of these: most pages are ruled out in three scans, not nine.
    if not any(stem in head for stem in _CAPTCHA_STEMS):
        return False
    return any(marker in head for marker in CAPTCHA_MARKERS) or (
        b"captcha" in head and b"<article" not in head
    )


def looks_like_error_page(body: bytes) -> bool:
    """Whether a 200 page is Newsis' error page ("GISA FILE NOT EXISTS"), not an article."""
    head = body[:65536]
    return any(marker in head for marker in ERROR_PAGE_MARKERS)


def is_error_redirect(location: str | bytes | None, request_url: str) -> bool:
    """Whether a redirect's Location is the site's error page: on Newsis or on the origin the
    request went to (a mirror, the local site), never another host's /error/."""
    if not location:
        return False
    if isinstance(location, bytes):
        location = location.decode("latin-1")
    try:
        target = urlsplit(urljoin(request_url, location.strip()))
        asked = urlsplit(request_url)
    except ValueError:
        return False
    same_site = target.netloc.lower() == asked.netloc.lower() or is_newsis_host(target.hostname)
    return same_site and target.path in ERROR_PATHS


def is_gone(status: int | None, location: str | bytes | None, body: bytes, url: str) -> bool:
    """Whether an article fetch's answer says the article was taken down: 404, 410, a redirect
    to the error page, or the error page itself. A failed fetch (5xx, 429, captcha, no answer)
    never is: it says nothing about the article."""
    if status in GONE_STATUSES:
        return True
    if status in REDIRECT_STATUSES:
        return is_error_redirect(location, url)
    if status == 200:
        return looks_like_error_page(body) and not looks_like_captcha(body)
    return False

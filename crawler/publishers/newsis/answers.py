"""What Newsis answers for an article page: the statuses it gives, and bot-check pages."""

from __future__ import annotations

# What an article fetch may answer: the page, 304 (unchanged), 403/429 (blocked), 404/410
# (deleted), 5xx after retries. Any other status is a broken answer, kept as a failed capture.
EXPECTED_STATUSES = frozenset(
    {200, 304, 400, 403, 404, 408, 410, 429, 500, 502, 503, 504, 522, 524}
)
# Markers of the bot-check pages CDNs and Newsis' own firewall show instead of the article.
CAPTCHA_MARKERS = (b"g-recaptcha", b"h-captcha", b"hcaptcha.com", b"cf-challenge", b"cf_chl_",
                   b"captcha-form", b"id=\"captcha", b"class=\"captcha")
_CAPTCHA_STEMS = (b"captcha", b"cf-challenge", b"cf_chl_")


def looks_like_captcha(body: bytes) -> bool:
    head = body[:65536].lower()
    # Every marker holds one of these: most pages are ruled out in three scans, not nine.
    if not any(stem in head for stem in _CAPTCHA_STEMS):
        return False
    return any(marker in head for marker in CAPTCHA_MARKERS) or (
        b"captcha" in head and b"<article" not in head
    )

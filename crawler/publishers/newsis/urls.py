"""Newsis URLs: article ids from any URL form, canonical article URLs, which hosts are Newsis."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# NISX20241115_0002960118 (text article) / NISI20241114_0020593301 (photo item): STRUCTURE.md.
ARTICLE_ID_RE = re.compile(r"NIS[XI]\d{8}_\d{10}")

# Hosts that serve the same site (STRUCTURE.md § Identifiers and URLs).
NEWSIS_HOSTS = frozenset(
    {"www.newsis.com", "newsis.com", "nwww.newsis.com", "mobile.newsis.com", "m.newsis.com"}
)
IMAGE_HOSTS = frozenset({"image.newsis.com", "img1.newsis.com"})

# The publisher's real origin: records keep its URLs, whatever site a crawl fetches from.
CANONICAL_ORIGIN = "https://www.newsis.com"
# The path of an article page on any origin serving the site.
ARTICLE_PATH = "/view/{article_id}"
CANONICAL_ARTICLE_URL = CANONICAL_ORIGIN + ARTICLE_PATH

# Query parameters that carry the article id in the older URL forms:
# /view/?id=NISX…, /ar_detail/view.html?ar_id=NISX…, mobile view.html?ar_id=NISX…
_ID_PARAM_RE = re.compile(r"(?:^|[?&])(?:id|ar_id)=(NIS[XI]\d{8}_\d{10})(?=$|[&#])", re.IGNORECASE)
_VIEW_PATH_RE = re.compile(r"^/view/(NIS[XI]\d{8}_\d{10})/?$")


def is_newsis_host(host: str | None) -> bool:
    return (host or "").lower().rstrip(".") in NEWSIS_HOSTS


def article_id_from_url(url: str) -> str | None:
    """The article id of any Newsis article URL form, or None when the URL names no article."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", ""):
        return None
    if parts.netloc and not is_newsis_host(parts.hostname):
        return None
    match = _VIEW_PATH_RE.match(parts.path)
    if match:
        return match.group(1)
    if parts.path in ("/view/", "/view", "/ar_detail/view.html", "/view.html", "/view_amp.html"):
        match = _ID_PARAM_RE.search("?" + parts.query)
        if match:
            return match.group(1)
    return None


def canonical_article_url(article_id: str) -> str:
    if not ARTICLE_ID_RE.fullmatch(article_id):
        raise ValueError(f"not a Newsis article id: {article_id!r}")
    return CANONICAL_ARTICLE_URL.format(article_id=article_id)


def article_id_of(text: str) -> str:
    """The article id in `text`: an id as is, or any Newsis URL form; else `text` unchanged."""
    text = text.strip()
    if ARTICLE_ID_RE.fullmatch(text):
        return text
    return article_id_from_url(text) or text

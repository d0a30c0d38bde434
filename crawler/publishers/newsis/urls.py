"""Newsis URLs: article ids from any URL form, canonical article URLs, which hosts are Newsis."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.parsers.errors import NotAnArticle, ParseError

# NISX20241115_0002960118 (text article) / NISI20241114_0020593301 (photo item): STRUCTURE.md.
ARTICLE_ID_RE = re.compile(r"NIS[XI]\d{8}_\d{10}")

# Hosts that serve the same site (STRUCTURE.md § Identifiers and URLs).
NEWSIS_HOSTS = frozenset(
    {"www.newsis.com", "newsis.com", "nwww.newsis.com", "mobile.newsis.com", "m.newsis.com"}
)
IMAGE_HOSTS = frozenset({"image.newsis.com", "img1.newsis.com"})

# The publisher's real origin: records keep its URLs, whatever site a crawl fetches from.
CANONICAL_HOST = "www.newsis.com"
CANONICAL_ORIGIN = f"https://{CANONICAL_HOST}"
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


def is_error_url(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return path == "/error" or path.startswith("/error/")


def page_article_id(url: str, page_urls: list[str]) -> str:
    """The article the URL fetched asks for (any Newsis form, else an id in a mirror's URL), or
    when it names none the page's own (canonical link, og:url). A page whose own id is another
    article (a redirect, a mislinked page) is that article's text: never a record of this one."""
    asked = upper_id(article_id_from_url(url))
    if asked is None:
        match = ARTICLE_ID_RE.search(url)
        asked = match.group(0) if match else None
    own = sorted({upper_id(article_id_from_url(page_url)) or "" for page_url in page_urls} - {""})
    if len(own) > 1:
        raise ParseError(f"page names several articles: {', '.join(own)}")
    if asked and own and own[0] != asked:
        raise ParseError(f"page is article {own[0]}, not {asked}")
    found = asked or (own[0] if own else None)
    if not found:
        raise NotAnArticle("no article id in the URL or the page")
    return found


def upper_id(article_id: str | None) -> str | None:
    # `?id=nisx…` names the same article as `NISX…`: ids are upper case (STRUCTURE.md).
    return article_id.upper() if article_id else None

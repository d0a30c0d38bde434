"""A capture's page made inert for the viewer: no script, no handler, archived links pointed home.

The page is also served under a sandboxing Content-Security-Policy into a sandboxed frame
(pages.capture_raw); removing what could run is the second lock, not the only one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

from crawler.publishers import UnknownPublisher, article_id_in_any, publisher_for_url

# Served with the raw page: no script, nothing fetched but inline images and styles.
RAW_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

ACTIVE_TAGS = (
    "script", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
    "link", "portal", "template",
)
PASSIVE_META_LEFT_OUT = ("refresh", "set-cookie", "content-security-policy")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster")
# javascript:, vbscript: and data: URLs can run script or hold a page of their own; browsers
# ignore tabs, newlines and leading spaces inside a scheme, so they are removed before looking.
_ACTIVE_URL = re.compile(r"^(?:javascript|vbscript|data):", re.I)
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20]+")
_CHARSET = re.compile(r"charset=([\w-]+)", re.I)


def inert_page(
    raw: bytes,
    page_url: str,
    content_type: str | None,
    archived: Callable[[set[str]], set[str]],
    article_path: Callable[[str], str],
) -> bytes:
    """`raw` as UTF-8 HTML without anything that runs, links to archived articles rewritten.

    `archived` says which of a set of article ids the archive holds; `article_path` gives the
    viewer's page of one.
    """
    charset = _CHARSET.search(content_type or "")
    soup = BeautifulSoup(raw, "lxml", from_encoding=charset.group(1) if charset else None)
    for tag in soup.find_all(ACTIVE_TAGS):
        tag.decompose()
    for tag in soup.find_all("meta"):
        if (tag.get("http-equiv") or "").lower() in PASSIVE_META_LEFT_OUT:
            tag.decompose()
    links = []
    for tag in soup.find_all(True):
        for name in list(tag.attrs):
            lowered = name.lower()
            if lowered.startswith("on") or (
                lowered in (*URL_ATTRIBUTES, "srcset") and _active(tag[name])
            ):
                del tag[name]
        if tag.name == "a" and tag.get("href"):
            links.append(tag)
    _point_home(links, page_url, archived, article_path)
    return soup.encode("utf-8")


def _active(value: str | list[str]) -> bool:
    text = " ".join(value) if isinstance(value, list) else value
    return bool(_ACTIVE_URL.match(_IGNORED_IN_SCHEME.sub("", text)))


def _point_home(links, page_url: str, archived, article_path) -> None:
    base = _site_base(page_url)
    ids = {}
    for tag in links:
        href = tag["href"]
        href = " ".join(href) if isinstance(href, list) else href
        named = article_id_in_any(urljoin(base, href.strip()))
        if named is not None:
            ids[id(tag)] = named[1]
    held = archived(set(ids.values())) if ids else set()
    for tag in links:
        article_id = ids.get(id(tag))
        if article_id in held:
            tag["href"] = article_path(article_id)


def _site_base(page_url: str) -> str:
    """Where the page's relative links resolve: its path on its publisher's own site, wherever
    it was fetched from (the local site of the demo and tests serves the same paths)."""
    try:
        origin = publisher_for_url(page_url).canonical_origin
    except UnknownPublisher:
        return page_url
    return urlunsplit((*urlsplit(origin)[:2], urlsplit(page_url).path, "", ""))

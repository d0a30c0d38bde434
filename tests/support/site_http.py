"""Helpers for the local-site tests: one request, the control API, ids on lists and sitemaps."""

from __future__ import annotations

import http.client
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urlsplit

from crawler.localsite.server import FEEDS, NewsisSite

VIEW_LINK_RE = re.compile(r'href="/view/(NIS[XI]\d{8}_\d{10})"')
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def fetch(
    site: NewsisSite,
    path: str,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed."""
    connection = http.client.HTTPConnection(site.host, site.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def control(site: NewsisSite, action: str, payload: dict | None = None) -> dict:
    method = "GET" if payload is None else "POST"
    body = None if payload is None else json.dumps(payload).encode()
    status, _, answer = fetch(
        site, f"/_control/{action}", method, {"Content-Type": "application/json"}, body
    )
    assert status == 200, answer
    return json.loads(answer)


def list_ids(page: bytes) -> list[str]:
    items = page.split(b'<ul class="articleList2">', 1)[1].split(b"</ul>", 1)[0].decode()
    return list(dict.fromkeys(VIEW_LINK_RE.findall(items)))


def first(site: NewsisSite, predicate: Callable) -> str:
    return next(a.article_id for a in site.live_articles() if predicate(a))


def local_path(url: str) -> str:
    """The site's own path for a link that names the real host."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sitemap_entries(site: NewsisSite, path: str) -> dict[str, str]:
    """loc -> lastmod of a sitemap or a sitemap index, fetched over HTTP."""
    status, _, body = fetch(site, path)
    assert status == 200, path
    root = ET.fromstring(body)
    return {
        entry.findtext(f"{SITEMAP_NS}loc"): entry.findtext(f"{SITEMAP_NS}lastmod")
        for entry in [*root.findall(f"{SITEMAP_NS}url"), *root.findall(f"{SITEMAP_NS}sitemap")]
    }


def sitemap_lastmods(site: NewsisSite) -> dict[str, str]:
    """article id -> lastmod over every child sitemap that /sitemap.xml names."""
    found = {}
    for child in sitemap_entries(site, "/sitemap.xml"):
        for loc, lastmod in sitemap_entries(site, local_path(child)).items():
            found[loc.rsplit("/", 1)[1]] = lastmod
    return found


def feed_and_list_ids(site: NewsisSite) -> set[str]:
    """Every id that the 16 feeds, the latest-news list and the section lists show."""
    seen: set[str] = set()
    for slug in FEEDS:
        body = fetch(site, f"/RSS/{slug}.xml")[2]
        seen |= {link.text.rsplit("/", 1)[1] for link in ET.fromstring(body).iter("link")
                 if "/view/" in (link.text or "")}
    cids = {a.section.cid: a.section.path for a in site.live_articles()}
    paths = ["/realnews/?"] + [f"{path}list/?cid={cid}&" for cid, path in cids.items()]
    for path in paths:
        page_no = 1
        while ids := list_ids(fetch(site, f"{path}page={page_no}")[2]):
            seen |= set(ids)
            page_no += 1
    return seen

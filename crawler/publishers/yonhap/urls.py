"""Yonhap URLs: article ids (CIDs) from any URL form, canonical article URLs, Yonhap's hosts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.parsers.errors import NotAnArticle, ParseError

# A content id: type + send date + daily serial + version + desk (STRUCTURE.md § Identifiers):
# AKR20260716091200003 (text), PYH20260716112400013 (photo), AEN20260716000300315 (English).
CID_RE = re.compile(r"[A-Z]{3}\d{17}")
# The types this archive keeps: Korean text articles and photo items (STRUCTURE.md, assumed).
KEPT_TYPES = ("AKR", "PYH")
PHOTO_TYPE = "PYH"
ARTICLE_ID_RE = re.compile(r"(?:AKR|PYH)\d{17}")

# Hosts of the site today (2019–): www, the bare domain, mobile (2021–).
SITE_HOSTS = frozenset({"www.yna.co.kr", "yna.co.kr", "m.yna.co.kr"})
# The old host (≤ 2018-10): its article URLs name a CID that resolves on the new host.
LEGACY_HOSTS = frozenset({"www.yonhapnews.co.kr", "yonhapnews.co.kr"})
YONHAP_HOSTS = SITE_HOSTS | LEGACY_HOSTS
IMAGE_HOSTS = frozenset({"img.yna.co.kr", "img0.yna.co.kr", "img1.yna.co.kr", "img9.yna.co.kr"})

# The publisher's real origin: records keep its URLs, whatever site a crawl fetches from.
CANONICAL_ORIGIN = "https://www.yna.co.kr"
# The path of an article page on any origin serving the site.
ARTICLE_PATH = "/view/{article_id}"
CANONICAL_ARTICLE_URL = CANONICAL_ORIGIN + ARTICLE_PATH

# `/view/AKR20260716091200003`, `/amp/view/AKR20260716091200003` (AMP, 2022–), on www or m.
_VIEW_PATH_RE = re.compile(r"^(?:/amp)?/view/([A-Za-z]{3}\d{17})/?$")
# The old host's file name: `/bulletin/2018/06/12/0200000000AKR20180612131400004.HTML`.
_LEGACY_PATH_RE = re.compile(r"^/[\w/-]*?/\d*([A-Za-z]{3}\d{17})\.html?$", re.IGNORECASE)


def is_yonhap_host(host: str | None) -> bool:
    return (host or "").lower().rstrip(".") in YONHAP_HOSTS


def cid_from_url(url: str) -> str | None:
    """The CID of any Yonhap article URL form, whatever its type; None when it names none."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https", ""):
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.netloc and host not in YONHAP_HOSTS:
        return None
    match = (_LEGACY_PATH_RE if host in LEGACY_HOSTS else _VIEW_PATH_RE).match(parts.path)
    return match.group(1).upper() if match else None


def article_id_from_url(url: str) -> str | None:
    """The article id of any Yonhap article URL form (AKR and PYH only), else None."""
    cid = cid_from_url(url)
    return cid if cid is not None and cid.startswith(KEPT_TYPES) else None


def canonical_article_url(article_id: str) -> str:
    if not ARTICLE_ID_RE.fullmatch(article_id):
        raise ValueError(f"not a Yonhap article id: {article_id!r}")
    return CANONICAL_ARTICLE_URL.format(article_id=article_id)


def article_id_of(text: str) -> str:
    """The article id in `text`: an id as is, or any Yonhap URL form; else `text` unchanged."""
    text = text.strip()
    if ARTICLE_ID_RE.fullmatch(text):
        return text
    return article_id_from_url(text) or text


def page_article_id(url: str, page_urls: list[str]) -> str:
    """The article the URL fetched asks for (any Yonhap form, else a CID in a mirror's URL), or
    when it names none the page's own (canonical link, og:url). A page whose own id is another
    article is that article's text: never a record of this one. Other types than AKR and PYH
    (graphics, video, foreign-language services) are not archived (STRUCTURE.md)."""
    asked = cid_from_url(url)
    if asked is None:
        match = CID_RE.search(url)
        asked = match.group(0) if match else None
    own = sorted({cid_from_url(page_url) or "" for page_url in page_urls} - {""})
    if len(own) > 1:
        raise ParseError(f"page names several articles: {', '.join(own)}")
    if asked and own and own[0] != asked:
        raise ParseError(f"page is article {own[0]}, not {asked}")
    found = asked or (own[0] if own else None)
    if not found:
        raise NotAnArticle("no article id in the URL or the page")
    if not found.startswith(KEPT_TYPES):
        raise NotAnArticle(f"{found[:3]} item, not archived (only AKR and PYH are)")
    return found

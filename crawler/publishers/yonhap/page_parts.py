"""What both Yonhap designs share: times, subheadlines, photo boxes, what is not body."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from crawler.parsers import text as kt
from crawler.parsers.errors import NotAnArticle, ParseError
from crawler.parsers.paragraphs import text_runs
from crawler.parsers.visible import drop_hidden, is_shown
from crawler.publishers.yonhap.captions import parse_caption
from crawler.publishers.yonhap.urls import CANONICAL_ORIGIN
from storage.record import Caption


def has_class(token: str) -> str:
    """XPath test for one class token (`div.tit-sub` must not match `div.tit-sub01`). The plain
    `contains` first: it rules out most elements without building a string for each."""
    return (
        f"(contains(@class, '{token}')"
        f" and contains(concat(' ', normalize-space(@class), ' '), ' {token} '))"
    )


# --- times: STRUCTURE.md § Article page; RECORD.md `published_at` ---------------------------------
# `data-published-time`: `2026-07-16 14:32` (Y3) or `202211180705` (Y2), KST.
DATA_TIME_RE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2}) ?(\d{2}):?(\d{2})")
# The shown time: `송고2026-07-16 14:32`, `송고시간2022-11-18 07:05`.
TEXT_TIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})")
# An edit time, never seen yet (RECORD.md `modified_at`): `업데이트 2026-07-16 15:10`.
UPDATED_RE = re.compile(r"업데이트 ?(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})")

# --- the body container's parts (RECORD.md § Body) ------------------------------------------------
SUBHEADLINES = etree.XPath(f"descendant::div[{has_class('tit-sub')}]/descendant::h2")
# Photo and graphic boxes: `div.comp-box.photo-group`, `div.comp-box.graphic-group`.
PHOTO_IMAGES = etree.XPath(
    f"descendant::*[{has_class('comp-box')} and ({has_class('photo-group')}"
    f" or {has_class('graphic-group')})]/descendant::img"
)
CAPTION_TEXT = etree.XPath(f"descendant::*[{has_class('txt-desc')}]")
# Removed from the body with all they hold; `aside` and classes starting `ads-` or `aside-`
# as well (ad slots `.ads-box`, `.aside-box004`), `span.blind` by the visibility rules.
SKIP_CLASSES = frozenset(
    {"tit-sub", "comp-box", "related-group", "related-zone", "writer-zone01", "story-summary",
     "keyword-zone", "article_issue", "txt-copyright"}
)
SKIP_TAGS = frozenset({"aside", "figure"})
SKIP_ID = "newsWriterCarousel01"
# Far beyond any Yonhap article (a photo story holds a few dozen): past it a page is refused.
MAX_PHOTOS = 200


def shown_text(elements: list[etree._Element]) -> str:
    """The text a reader sees of the first of `elements` a reader sees."""
    element = next((element for element in elements if is_shown(element)), None)
    if element is None:
        return ""
    drop_hidden(element)
    return kt.clean_text("".join(element.itertext()))


def skipped(element: etree._Element) -> bool:
    """Whether a body element is not body (RECORD.md § Body)."""
    if element.tag in SKIP_TAGS:
        return True
    classes = element.get("class")
    if classes:
        for token in classes.split():
            if token in SKIP_CLASSES or token.startswith(("ads-", "aside-")):
                return True
    return element.get("id") == SKIP_ID


def page_times(
    holders: list[etree._Element], meta: dict[str, str]
) -> tuple[datetime | None, datetime | None]:
    """(published, modified) as KST: `data-published-time` of the first shown `#newsUpdateTime01`,
    else its shown time, else `article:published_time`; an `업데이트` time when one is shown."""
    holder = next((found for found in holders if is_shown(found)), None)
    published = modified = None
    if holder is not None:
        shown = shown_text([holder])
        found = DATA_TIME_RE.fullmatch((holder.get("data-published-time") or "").strip())
        found = found or TEXT_TIME_RE.search(shown)
        if found:
            published = _kst(found, "publication time")
        updated = UPDATED_RE.search(shown)
        if updated:
            modified = _kst(updated, "modification time")
    if published is None:
        published = kt.parse_iso_time(meta.get("article:published_time"), "publication time")
    return published, modified


def _kst(found: re.Match[str], what: str) -> datetime:
    try:
        when = datetime(*(int(part) for part in found.groups()), tzinfo=kt.KST)
    except ValueError:
        raise ParseError(f"{what} is not a real time: {found.group()}") from None
    return kt.plausible_time(when, what)


def subheadlines_of(
    container: etree._Element, header: etree._Element | None
) -> tuple[str, ...]:
    """The lines of `div.tit-sub h2` in the body container (or the headline's header, should
    a design put them there): each `h2` in order, split at `<br>`, empty lines dropped."""
    found = list(SUBHEADLINES(container))
    if header is not None and SUBHEADLINES(header):
        drop_hidden(header)  # only when it holds any: a header is mostly buttons
        seen = set(found)
        found += [h2 for h2 in SUBHEADLINES(header) if h2 not in seen]
    return tuple(line for h2 in found for line in text_runs(h2, lambda _: False))


def captions_of(container: etree._Element) -> tuple[Caption, ...]:
    """One caption per `img` of the body's photo and graphic boxes, in page order."""
    images = list(dict.fromkeys(PHOTO_IMAGES(container)))  # nested boxes: each image once
    if len(images) > MAX_PHOTOS:
        raise NotAnArticle(f"more than {MAX_PHOTOS} photos")
    captions = []
    for image in images:
        figure = _figure_of(image, container)
        texts = CAPTION_TEXT(figure) if figure is not None else []
        parts = parse_caption("".join(texts[0].itertext()) if texts else "")
        captions.append(
            Caption(
                image_url=image_url(image.get("src") or image.get("data-src")),
                text=parts.text,
                dateline=parts.dateline,
                photographer=parts.photographer,
                credit=parts.credit,
                photo_date=parts.photo_date,
                email=parts.email,
                restriction=parts.restriction,
            )
        )
    return tuple(captions)


def _figure_of(image: etree._Element, container: etree._Element) -> etree._Element | None:
    """The image's `figure` (else its photo box) inside the body container."""
    box = None
    for ancestor in image.iterancestors():
        if ancestor is container:
            break
        if ancestor.tag == "figure":
            return ancestor
        if box is None and "comp-box" in (ancestor.get("class") or "").split():
            box = ancestor
    return box


def image_url(src: str | None) -> str | None:
    """Absolute `https:` URL without query or fragment: `//img0.yna.co.kr/…` → `https://…`."""
    src = kt.clean_text(src)
    if not src:
        return None
    if src.startswith("//"):
        src = "https:" + src
    elif src.startswith("/"):
        src = CANONICAL_ORIGIN + src
    try:
        parts = urlsplit(src)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit(("https", parts.netloc.lower(), parts.path, "", ""))

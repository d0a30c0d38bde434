"""The Newsis article parser: one class per layout version, chosen by the capture time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from crawler.parsers import text as kt
from crawler.parsers.decoding import MAX_PAGE_BYTES as MAX_PAGE_BYTES  # re-exported
from crawler.parsers.decoding import decode_page
from crawler.parsers.errors import NotAnArticle, ParseError
from crawler.parsers.layouts import layout_for
from crawler.parsers.paragraphs import text_runs
from crawler.parsers.visible import drop_hidden, is_shown, left_open, parse_whole
from crawler.publishers.newsis.body_text import lead_byline, until_closing_line
from crawler.publishers.newsis.urls import (
    canonical_article_url,
    is_error_url,
    page_article_id,
)
from storage.record import ArticleRecord, Caption, Reporter


def _has(token: str) -> str:
    """XPath test for one class token (`div.top` must not match `div.topBar`). The plain
    `contains` first: it rules out most elements without building a string for each."""
    return (
        f"(contains(@class, '{token}')"
        f" and contains(concat(' ', normalize-space(@class), ' '), ' {token} '))"
    )


# --- Selectors, current design (2023–): STRUCTURE.md § Article page, current design -------------
# The body: `div.viewer > article`, found with the older design's by BODY_HOLDERS below.
# Any other article claiming to be the body, or an article inside the container: a page with two
# bodies is refused, not guessed at (issue 16 #6).
NESTED_ARTICLE = etree.XPath(".//article")
CUR_HEADLINE = etree.XPath(f"/descendant::div[{_has('top')}]/h1[{_has('title_area')}]")
CUR_SECTION = etree.XPath(f"/descendant::div[{_has('top')}]/p[{_has('tit')}]")
CUR_TIMES = etree.XPath(f"/descendant::div[{_has('infoLine')}]/descendant::p[{_has('txt')}]/span")
# Any depth: unclosed inline tags before it (a browser shows it the same) must not lose it.
CUR_SUMMARY = etree.XPath(f"descendant::div[{_has('summury')}]")
# Beside (or inside) the article: the hidden #textBody copy and the .copyright line are not body.
CUR_SKIP_ATTR = re.compile(r"\btextBody\b|copyright", re.IGNORECASE)

# --- Selectors, older design (mid-2017 – 2022): STRUCTURE.md § Article page, older design ---------
# The body: `div#textBody`. Both designs' containers are found in one walk of the page (a walk
# costs a tenth of a parse): `div.viewer` (its `article` children) and `div#textBody`.
BODY_HOLDERS = etree.XPath(f"/descendant::div[@id='textBody' or {_has('viewer')}]")
OLD_HEADLINE = etree.XPath(f"/descendant::div[{_has('article_tbx')}]/h1")
OLD_SECTION = etree.XPath(f"/descendant::div[{_has('subMenu')}]/div/p/a")
OLD_DATES = etree.XPath(f"/descendant::div[{_has('article_tbx')}]/descendant::*[{_has('date')}]")
OLD_SKIP_ATTR = re.compile(r"copyright", re.IGNORECASE)

# --- Both designs ---------------------------------------------------------------------------------
# Attribute values as plain strings: lxml's "smart" strings keep their whole document alive, and
# urlsplit's cache of recent URLs held up to 128 parsed pages (freed, cold, 128 parses later).
META_PUBLISHED = etree.XPath(
    "/descendant::meta[@property='article:published_time']/@content", smart_strings=False
)
PAGE_URLS = etree.XPath(
    "/descendant::link[@rel='canonical']/@href | /descendant::meta[@property='og:url']/@content",
    smart_strings=False,
)
ERROR_BOX = etree.XPath(f"/descendant::div[{_has('errorBox')}]")
# Photo blocks: `div.thumCont` (caption `p.photojournal`), older `div.view_img` (caption `.desc`).
PHOTO_BOXES = etree.XPath(
    f"descendant::*[{_has('thumCont')} or {_has('view_img')}]"
    f" | descendant::*[{_has('photojournal')} or {_has('desc')}]/.."
)
PHOTO_CAPTION = etree.XPath(f"descendant::*[{_has('photojournal')} or {_has('desc')}]")
PHOTO_IMAGE = etree.XPath(".//img")
# Boxes and buttons inside the text that are not body: ads (#view_ad), related/ranking boxes,
# share/font buttons, the subheadline block (handled apart), banners.
SKIP_ATTR = re.compile(
    r"summury|view_ad|relat|rank|share|btn|banner|\bsns|(?:^|[\s_-])(?:ad|ads)(?:$|[\s_-])",
    re.IGNORECASE,
)

# --- Guards ---------------------------------------------------------------------------------------
# Far beyond any Newsis article (the fixtures show at most 4 photos): past it a page is refused.
MAX_PHOTOS = 200
ERROR_MARKER = b"GISA FILE NOT EXISTS"
WEB_HOST = "https://www.newsis.com"


def _text(element: etree._Element | None) -> str:
    return kt.clean_text("".join(element.itertext())) if element is not None else ""


def _first(elements: list) -> etree._Element | None:
    return elements[0] if elements else None


@dataclass(slots=True)
class _Page:
    """What a design's selectors found, before the shared text rules run."""

    headline: str
    section: str | None
    time_line: str
    container: etree._Element
    summary: etree._Element | None
    skip_attr: re.Pattern[str]


class NewsisParser2017:
    """Older design (mid-2017 – 2022) and pre-2017 datelines. Last day of its layout: 2022-12-31."""

    VERSION = "newsis-2017.1"
    FIRST_DAY = date.min
    LAST_DAY: date | None = date(2022, 12, 31)

    def parse(self, body: bytes | str, url: str) -> ArticleRecord:
        data = decode_page(body)
        try:
            return self._parse(data, url)
        except ParseError:
            raise
        except Exception as error:
            # Safety net: a page must never crash the caller; the reason names the bug to fix.
            raise ParseError(f"parser failed: {type(error).__name__}: {error}") from error

    def _parse(self, data: bytes, url: str) -> ArticleRecord:
        if ERROR_MARKER in data:
            raise NotAnArticle("error page (GISA FILE NOT EXISTS)")
        if is_error_url(url):
            raise NotAnArticle("error page (/error/)")
        root, end_markers = parse_whole(data, watched=("article",))
        page_urls = PAGE_URLS(root)
        if ERROR_BOX(root) or any(is_error_url(page_url) for page_url in page_urls):
            raise NotAnArticle("error page")
        article_id = page_article_id(url, page_urls)
        page = self._find(root)
        if page is None or not page.headline:
            raise NotAnArticle("no headline")
        if left_open(page.container, end_markers):
            # libxml2 kept the container open to the page's end (an end tag it could not match):
            # what follows the article, footer and all, would be read as body.
            raise NotAnArticle("article container never closed")
        published_at, modified_at = kt.parse_kst_times(page.time_line)
        if published_at is None:
            published_at = kt.parse_iso_time(_first(META_PUBLISHED(root)))
        if published_at is None:
            raise NotAnArticle("no registration time")
        return self._record(article_id, page, published_at, modified_at)

    def _find(self, root: etree._Element) -> _Page | None:
        return self._find_older(root)

    def _find_older(self, root: etree._Element) -> _Page | None:
        # A current-design container beside it is a second body (either design may be forged).
        current, older = _containers(root)
        container = _only(older, current, _article_bodies(root))
        if container is None:
            return None
        return _Page(
            headline=_shown_text(OLD_HEADLINE(root)),
            section=_shown_text(OLD_SECTION(root)) or None,
            time_line=" ".join(_shown_text([element]) for element in OLD_DATES(root)),
            container=container,
            summary=None,
            skip_attr=OLD_SKIP_ATTR,
        )

    def _record(
        self, article_id: str, page: _Page, published_at: datetime, modified_at: datetime | None
    ) -> ArticleRecord:
        boxes = PHOTO_BOXES(page.container)
        if len(boxes) > MAX_PHOTOS:
            raise NotAnArticle(f"more than {MAX_PHOTOS} photos")
        box_set = set(boxes)
        captions = _captions(boxes, box_set)

        def skip(element: etree._Element) -> bool:
            if element in box_set:
                return True
            marks = (element.get("class") or "") + " " + (element.get("id") or "")
            return bool(marks.strip()) and bool(
                SKIP_ATTR.search(marks) or page.skip_attr.search(marks)
            )

        subheadlines: tuple[str, ...] = ()
        if page.summary is not None:
            subheadlines = tuple(text_runs(page.summary, skip=lambda _: False))
        paragraphs = [
            p for p in text_runs(page.container, skip)
            if not kt.is_photo_desk_footer(p) and not kt.is_copyright_line(p)
        ]
        body, closing_email = until_closing_line(paragraphs)
        dateline: str | None = None
        reporters: tuple[Reporter, ...] = ()
        if article_id.startswith("NISI"):
            # A photo item: one photo and its caption, which is its content (RECORD.md § Body).
            body = []
            if not any(caption.text for caption in captions):
                raise NotAnArticle("photo item without caption")
        else:
            dateline, reporters, body = lead_byline(body, closing_email)
            if not body:
                raise NotAnArticle("no body")
        return ArticleRecord(
            article_id=article_id,
            url=canonical_article_url(article_id),
            headline=page.headline,
            published_at=published_at,
            section=page.section,
            subheadlines=subheadlines,
            modified_at=modified_at,
            dateline=dateline,
            reporters=reporters,
            captions=tuple(captions),
            body=tuple(body),
            parser_version=self.VERSION,
        )


class NewsisParser2023(NewsisParser2017):
    """Current design (2023–); pages still served in the older design are read as before."""

    VERSION = "newsis-2023.1"
    FIRST_DAY = date(2023, 1, 1)
    LAST_DAY = None

    def _find(self, root: etree._Element) -> _Page | None:
        # The design is detected from the page: old articles are still served in the older design.
        current, older = _containers(root)
        in_view_text = [found for found in older if _parent_has(found, "view_text")]
        container = _only(current, _article_bodies(root), in_view_text)
        if container is None:
            return self._find_older(root)
        if NESTED_ARTICLE(container):
            raise NotAnArticle("two article bodies (one nested in the other)")
        return _Page(
            headline=_shown_text(CUR_HEADLINE(root)),
            section=_shown_text(CUR_SECTION(root)) or None,
            time_line=" ".join(_shown_text([element]) for element in CUR_TIMES(root)),
            container=container,
            summary=_first(CUR_SUMMARY(container)),
            skip_attr=CUR_SKIP_ATTR,
        )


# Oldest first; the capture time picks the version whose layout was live then.
PARSERS: tuple[NewsisParser2017, ...] = (NewsisParser2017(), NewsisParser2023())


def parser_for(fetched_at: datetime | None = None) -> NewsisParser2017:
    """The parser version for a capture time (KST day); None means now, i.e. the latest."""
    return layout_for(PARSERS, fetched_at)


def _only(*found: list[etree._Element]) -> etree._Element | None:
    """The one article container a reader sees, its hidden parts dropped (content is what a
    reader sees, issue 16 #6); two different ones refuse the page."""
    shown = [[element for element in elements if is_shown(element)] for elements in found]
    distinct = {element for elements in shown for element in elements}
    if len(distinct) > 1:
        raise NotAnArticle(f"{len(distinct)} article bodies in one page")
    container = _first(shown[0])
    if container is not None:
        drop_hidden(container)
    return container


def _article_bodies(root: etree._Element) -> list[etree._Element]:
    # `iter` filters by tag in C: a whole-page XPath on an attribute costs a tenth of a parse.
    return [found for found in root.iter("article") if found.get("itemprop") == "articleBody"]


def _containers(root: etree._Element) -> tuple[list[etree._Element], list[etree._Element]]:
    """(`div.viewer > article` of the current design, `div#textBody` of the older one)."""
    current: list[etree._Element] = []
    older: list[etree._Element] = []
    for holder in BODY_HOLDERS(root):
        if holder.get("id") == "textBody":
            older.append(holder)
        if "viewer" in (holder.get("class") or "").split():
            current.extend(child for child in holder if child.tag == "article")
    return current, older


def _parent_has(element: etree._Element, token: str) -> bool:
    # The older design's body sits in `div.view_text`; the current design's `#textBody` copy
    # beside the article (in `div.viewer`) is not a body (RECORD.md § Body).
    parent = element.getparent()
    return parent is not None and token in (parent.get("class") or "").split()


def _shown_text(elements: list[etree._Element]) -> str:
    """The text a reader sees of the first of `elements` a reader sees."""
    element = next((element for element in elements if is_shown(element)), None)
    if element is None:
        return ""
    drop_hidden(element)
    return _text(element)


def _caption(box: etree._Element) -> Caption | None:
    image = _first(PHOTO_IMAGE(box))
    image_url = _image_url(image.get("src") or image.get("data-src")) if image is not None else None
    raw = _text(_first(PHOTO_CAPTION(box)))
    if not raw and image_url is None:
        return None
    parts = kt.parse_caption(raw)
    return Caption(
        image_url=image_url,
        text=parts.text,
        dateline=parts.dateline,
        photographer=parts.photographer,
        credit=parts.credit,
        photo_date=parts.photo_date,
        email=parts.email,
        restriction=parts.restriction,
    )


def _image_url(src: str | None) -> str | None:
    """Absolute https URL without the query: `?rnd=` changes between renders of one photo."""
    src = kt.clean_text(src)
    if not src:
        return None
    if src.startswith("//"):
        src = "https:" + src
    elif src.startswith("/"):
        src = WEB_HOST + src
    try:
        parts = urlsplit(src)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit(("https", parts.netloc.lower(), parts.path, "", ""))


def _captions(boxes: list[etree._Element], box_set: set[etree._Element]) -> list[Caption]:
    captions = []
    for box in boxes:
        if any(ancestor in box_set for ancestor in box.iterancestors()):
            continue  # a caption inside a box already read
        caption = _caption(box)
        if caption is not None:
            captions.append(caption)
    return captions

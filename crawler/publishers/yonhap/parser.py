"""The Yonhap article parser: one class per layout version, chosen by the capture time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from crawler.parsers import text as kt
from crawler.parsers.decoding import decode_page
from crawler.parsers.errors import NotAnArticle, ParseError
from crawler.parsers.layouts import layout_for
from crawler.parsers.paragraphs import text_runs
from crawler.parsers.visible import drop_hidden, is_shown, left_open, parse_whole
from crawler.publishers.yonhap.anchors import Anchors, find_anchors, nav_paths
from crawler.publishers.yonhap.body_text import is_footer, lead_byline, until_closing_emails
from crawler.publishers.yonhap.page_parts import (
    captions_of,
    has_class,
    page_times,
    shown_text,
    skipped,
    subheadlines_of,
)
from crawler.publishers.yonhap.urls import PHOTO_TYPE, canonical_article_url, page_article_id
from storage.record import ArticleRecord

SOURCE = "yonhap"


# Y3 (2025-05 → today): `header.title-article01 h1.tit01`, breadcrumb `ul.nav-path01 li`.
Y3_HEADLINE = etree.XPath(f"descendant::h1[{has_class('tit01')}]")
# Y2 (2019 → ~2024): `#articleWrap header h1`, breadcrumb the first `ul` of that header.
Y2_HEADLINE = etree.XPath("descendant::header/descendant::h1")
Y2_SECTION = etree.XPath("(descendant::header/descendant::ul)[1]/li")


@dataclass(frozen=True, slots=True)
class Design:
    """Where a design's headline and breadcrumb are, from the page's anchors (STRUCTURE.md)."""

    name: str
    headlines: Callable[[Anchors], list[etree._Element]]
    section: Callable[[Anchors], list[etree._Element]]  # the breadcrumb's items


Y3 = Design(
    name="y3",
    headlines=lambda found: [h1 for header in found.title_headers for h1 in Y3_HEADLINE(header)],
    section=lambda found: [li for ul in nav_paths(found)[:1] for li in ul if li.tag == "li"],
)
Y2 = Design(
    name="y2",
    headlines=lambda found: [h1 for wrap in found.article_wraps for h1 in Y2_HEADLINE(wrap)],
    section=lambda found: Y2_SECTION(found.article_wraps[0]) if found.article_wraps else [],
)


class YonhapParserY2:
    """The 2019 → ~2024 design "Y2". Last day of its layout: 2024-12-31 (a guess: the change
    came between 2023-09 and 2025-05). Y3 pages captured before it are read too: the date is
    not known, and the page tells the designs apart (STRUCTURE.md)."""

    VERSION = "yonhap-y2.1"
    FIRST_DAY = date.min
    LAST_DAY: date | None = date(2024, 12, 31)
    DESIGNS: tuple[Design, ...] = (Y2, Y3)

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
        root, end_markers = parse_whole(data, watched=("article",))
        found = find_anchors(root)
        if found.is_error_page:
            raise NotAnArticle("error page (요청하신 페이지를 찾을 수 없습니다)")
        article_id = page_article_id(url, found.page_urls)
        design, headline = self._headline(found)
        if headline is None:
            raise NotAnArticle("no headline")
        container = _container(found.containers)
        if container is None:
            raise NotAnArticle("no article body container")
        if left_open(container, end_markers):
            # libxml2 kept the container open to the page's end (an end tag it could not match):
            # what follows the article, footer and all, would be read as body.
            raise NotAnArticle("article container never closed")
        published_at, modified_at = page_times(found.time_holders, found.meta)
        if published_at is None:
            raise NotAnArticle("no publication time")
        section = shown_text(design.section(found)) or found.meta.get("article:section")
        return self._record(
            article_id=article_id,
            headline=shown_text([headline]),
            section=kt.clean_text(section) or None,
            published_at=published_at,
            modified_at=modified_at,
            container=container,
            header=next(headline.iterancestors("header"), None),
        )

    def _headline(self, found: Anchors) -> tuple[Design, etree._Element | None]:
        """The design whose headline the page shows first, and that headline."""
        for design in self.DESIGNS:
            for headline in design.headlines(found):
                if is_shown(headline) and shown_text([headline]):
                    return design, headline
        return self.DESIGNS[0], None

    def _record(
        self,
        *,
        article_id: str,
        headline: str,
        section: str | None,
        published_at: datetime,
        modified_at: datetime | None,
        container: etree._Element,
        header: etree._Element | None,
    ) -> ArticleRecord:
        captions = captions_of(container)
        subheadlines = subheadlines_of(container, header)
        paragraphs = [p for p in text_runs(container, skipped) if not is_footer(p)]
        body, emails = until_closing_emails(paragraphs)
        dateline = None
        reporters = ()
        if article_id.startswith(PHOTO_TYPE):
            # A photo item: its caption is its content (RECORD.md § Photo items).
            body = []
            if not any(caption.text for caption in captions):
                raise NotAnArticle("photo item without caption")
        else:
            dateline, reporters, body = lead_byline(body, emails)
            if not body:
                raise NotAnArticle("no body")
        return ArticleRecord(
            source=SOURCE,
            article_id=article_id,
            url=canonical_article_url(article_id),
            headline=headline,
            published_at=published_at,
            section=section,
            subheadlines=subheadlines,
            modified_at=modified_at,
            dateline=dateline,
            reporters=reporters,
            captions=captions,
            body=tuple(body),
            parser_version=self.VERSION,
        )


class YonhapParserY3(YonhapParserY2):
    """The current design "Y3" (2025 →); pages still served in Y2 are read as before."""

    VERSION = "yonhap-y3.1"
    FIRST_DAY = date(2025, 1, 1)
    LAST_DAY = None
    DESIGNS = (Y3, Y2)


# Oldest first; the capture time picks the version whose layout was live then.
PARSERS: tuple[YonhapParserY2, ...] = (YonhapParserY2(), YonhapParserY3())


def parser_for(fetched_at: datetime | None = None) -> YonhapParserY2:
    """The parser version for a capture time (KST day); None means now, i.e. the latest."""
    return layout_for(PARSERS, fetched_at)


def _container(found: list[etree._Element]) -> etree._Element | None:
    """The one body container a reader sees, its hidden parts dropped (content is what a reader
    sees); two different ones, or one inside another, refuse the page."""
    shown = [element for element in found if is_shown(element)]
    if len(shown) > 1:
        raise NotAnArticle(f"{len(shown)} article bodies in one page")
    if not shown:
        return None
    drop_hidden(shown[0])
    return shown[0]


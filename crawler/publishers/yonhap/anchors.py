"""The few elements of a Yonhap page a record starts from, found in two quick walks."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

# A whole-page XPath with a predicate costs a walk of every element, a string built for each;
# a walk filtered by tag in C (`iter("div")`) costs a small share of that (bench/RESULTS.md,
# Yonhap parser). So the anchors are found by tag where the designs fix it: the body container
# `div.story-news` (Y3) or `article.story-news` (Y2), the error page's `div.error-wrap01`,
# Y3's `header.title-article01`; the ids on any element (an attribute walk).
_IDS = etree.XPath("//@id[. = 'newsUpdateTime01' or . = 'articleWrap']/..")
# Y3's breadcrumb `ul.nav-path01`: in the headline's header (as seen), else anywhere.
_NAV_PATH_IN = etree.XPath(
    "descendant::ul[contains(concat(' ', normalize-space(@class), ' '), ' nav-path01 ')]"
)
_NAV_PATH_ANYWHERE = etree.XPath(
    "//@class[contains(concat(' ', normalize-space(.), ' '), ' nav-path01 ')]/parent::ul"
)
# The page's own URL and its metadata (STRUCTURE.md; RECORD.md `article_id`, `section`).
META_PROPERTIES = ("og:url", "article:section", "article:published_time")


@dataclass(slots=True)
class Anchors:
    """What the walks found, in page order."""

    root: etree._Element
    containers: list[etree._Element] = field(default_factory=list)
    time_holders: list[etree._Element] = field(default_factory=list)
    article_wraps: list[etree._Element] = field(default_factory=list)
    title_headers: list[etree._Element] = field(default_factory=list)
    page_urls: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    is_error_page: bool = False


def find_anchors(root: etree._Element) -> Anchors:
    found = Anchors(root)
    for element in _IDS(root):
        if element.get("id") == "newsUpdateTime01":
            found.time_holders.append(element)
        else:
            found.article_wraps.append(element)
    for element in root.iter("div", "article", "header", "meta", "link"):
        tag = element.tag
        if tag == "meta":
            _read_meta(element, found)
        elif tag == "link":
            if (element.get("rel") or "").strip().lower() == "canonical" and element.get("href"):
                found.page_urls.append(str(element.get("href")))
        else:
            classes = element.get("class")
            if not classes:
                continue
            tokens = classes.split()
            if "story-news" in tokens and tag != "header":
                found.containers.append(element)
            elif tag == "div" and "error-wrap01" in tokens:
                found.is_error_page = True
            elif tag == "header" and "title-article01" in tokens:
                found.title_headers.append(element)
    return found


def nav_paths(found: Anchors) -> list[etree._Element]:
    """Y3's breadcrumbs `ul.nav-path01`: in the headline's header, else anywhere (one walk)."""
    inside = [ul for header in found.title_headers for ul in _NAV_PATH_IN(header)]
    return inside or _NAV_PATH_ANYWHERE(found.root)


def _read_meta(element: etree._Element, found: Anchors) -> None:
    name = element.get("property")
    content = element.get("content")
    if name not in META_PROPERTIES or content is None:
        return
    if name == "og:url":
        found.page_urls.append(str(content))
    else:
        found.meta.setdefault(name, str(content))

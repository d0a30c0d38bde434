"""Paragraphs: the text runs of an element that `<br>` or blocks separate, within caps."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from crawler.parsers import text as kt
from crawler.parsers.errors import NotAnArticle

SKIP_TAGS = frozenset(
    {"script", "style", "iframe", "button", "noscript", "form", "select", "textarea", "input",
     "object", "embed", "video", "audio", "svg", "canvas", "template", "head", "title"}
)
BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "blockquote", "ul", "ol", "li", "table", "tbody", "thead",
     "tfoot", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "figure",
     "figcaption", "header", "footer", "pre", "hr", "center", "address", "aside", "nav", "main"}
)
# Far beyond any Newsis article (the longest fixture has 15 paragraphs of under 200 characters):
# past these a page is refused whole rather than stored as a record nobody can check.
MAX_PARAGRAPHS = 2000
MAX_PARAGRAPH_CHARS = 20_000


def text_runs(container: etree._Element, skip: Callable[[etree._Element], bool]) -> list[str]:
    """The cleaned text runs that `<br>` or blocks separate (iterative: deep trees are safe)."""
    runs: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        if parts:
            run = kt.clean_text("".join(parts))
            if run:
                _check_run(run, len(runs))
                runs.append(run)
            parts.clear()

    if container.text:
        parts.append(container.text)
    stack: list[tuple[etree._Element, bool]] = [(child, False) for child in reversed(container)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag
        if closing:
            if tag in BLOCK_TAGS:
                flush()
        elif not isinstance(tag, str):
            pass  # comments and processing instructions: only their tail is text
        elif tag == "br":
            flush()
        elif tag in SKIP_TAGS or skip(element):
            if tag in BLOCK_TAGS:
                flush()
        else:
            if tag in BLOCK_TAGS:
                flush()
            if element.text:
                parts.append(element.text)
            stack.append((element, True))
            stack.extend((child, False) for child in reversed(element))
            continue
        if element.tail:
            parts.append(element.tail)
    flush()
    return runs


def _check_run(run: str, count_before: int) -> None:
    if count_before >= MAX_PARAGRAPHS:
        raise NotAnArticle(f"more than {MAX_PARAGRAPHS} paragraphs")
    if len(run) > MAX_PARAGRAPH_CHARS:
        raise NotAnArticle(f"a paragraph longer than {MAX_PARAGRAPH_CHARS} characters")

"""Newsis body text rules: the lead line's dateline and reporters, the closing line."""

from __future__ import annotations

from crawler.parsers import text as kt
from crawler.parsers.errors import NotAnArticle
from storage.record import Reporter


def until_closing_line(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """The paragraphs before the closing `◎공감언론 뉴시스 EMAIL` line, and its email.

    The closing line ends the article (STRUCTURE.md): text after it is something else (a second
    article, a page's chrome caught in the container), so the page is refused, not guessed at.
    """
    body: list[str] = []
    for number, paragraph in enumerate(paragraphs):
        rest, email, closed = kt.split_closing(paragraph)
        if rest:
            body.append(rest)
        if closed:
            if number + 1 < len(paragraphs):
                raise NotAnArticle("text after the article's closing line")
            return body, email
    return body, None


def lead_byline(
    body: list[str], closing_email: str | None
) -> tuple[str | None, tuple[Reporter, ...], list[str]]:
    """The dateline and reporters of the body's lead line, and the body without them."""
    if not body:
        return None, (), body
    lead = kt.split_lead(body[0])
    if lead.dateline is None:
        return None, (), body
    reporters = tuple(
        Reporter(name, lead.title or "", closing_email if index == 0 else None)
        for index, name in enumerate(lead.names)
    )
    return lead.dateline, reporters, ([lead.rest] if lead.rest else []) + body[1:]

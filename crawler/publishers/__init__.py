"""Publishers: everything one news agency's site needs, one package each."""

from __future__ import annotations

from datetime import datetime

from crawler.publishers.newsis.parser import (
    PARSERS,
    NewsisParser2017,
    NewsisParser2023,
    parser_for,
)
from storage.record import ArticleRecord

__all__ = ["PARSERS", "NewsisParser2017", "NewsisParser2023", "parse_article", "parser_for"]


def parse_article(
    body: bytes | str, url: str, fetched_at: datetime | None = None
) -> ArticleRecord:
    """The record of one Newsis page, by the parser version of its capture time (None: the latest).

    Raises NotAnArticle (a ParseError) with a one-line `.reason` when the page gives no record.
    """
    return parser_for(fetched_at).parse(body, url)

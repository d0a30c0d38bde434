"""Publishers: everything one news agency's site needs, one plug-in each (publishers/base.py)."""

from __future__ import annotations

from crawler.publishers.base import Answers, ArticleParser, Discovery, Publisher
from crawler.publishers.registry import (
    ENTRY_POINT_GROUP,
    PublisherError,
    UnknownArticle,
    UnknownPublisher,
    article_forms,
    article_id_in_any,
    article_named,
    parse_article,
    publisher_for_host,
    publisher_for_url,
    publisher_named,
    publisher_of_spider,
    publishers,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Answers",
    "ArticleParser",
    "Discovery",
    "Publisher",
    "PublisherError",
    "UnknownArticle",
    "UnknownPublisher",
    "article_forms",
    "article_id_in_any",
    "article_named",
    "parse_article",
    "publisher_for_host",
    "publisher_for_url",
    "publisher_named",
    "publisher_of_spider",
    "publishers",
]

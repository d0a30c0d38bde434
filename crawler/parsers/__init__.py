"""What every publisher's parser shares: decoding, visible text, Korean text rules, errors.

Pure functions: no Scrapy, no storage. A page's parser is its publisher's
(crawler.publishers.parse_article picks it).
"""

from __future__ import annotations

from crawler.parsers.errors import NotAnArticle, ParseError

__all__ = ["NotAnArticle", "ParseError"]

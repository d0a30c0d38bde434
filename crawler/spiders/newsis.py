"""The newsis spider: the generic publisher spider with Newsis's plug-in (registered.py)."""

from __future__ import annotations

from crawler.spiders.publisher import (
    DEFAULT_REVISIT_BUDGET,
    KEPT_HEADERS,
    REVISIT_MODES,
    ROBOTS_REFUSAL,
    SPIDER_ARGUMENTS,
    PublisherSpider,
    fetch_error_of,
)
from crawler.spiders.registered import spider_for

NewsisSpider: type[PublisherSpider] = spider_for("newsis")

__all__ = [
    "DEFAULT_REVISIT_BUDGET",
    "KEPT_HEADERS",
    "REVISIT_MODES",
    "ROBOTS_REFUSAL",
    "SPIDER_ARGUMENTS",
    "NewsisSpider",
    "PublisherSpider",
    "fetch_error_of",
]

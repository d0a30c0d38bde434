"""One spider class per installed publisher, made from its plug-in: `scrapy crawl NAME`.

Scrapy's SpiderLoader takes the spider classes whose __module__ is a module of SPIDER_MODULES:
these are made here, with this module as theirs, so a third-party publisher installed through
the entry points is crawlable with no code of its own.
"""

from __future__ import annotations

import re

from crawler.publishers import Publisher, publishers
from crawler.spiders.publisher import PublisherSpider, expected_answers


def spider_class_name(publisher_name: str) -> str:
    """"newsis" -> "NewsisSpider", "my-agency" -> "MyAgencySpider"."""
    words = re.split(r"[^0-9A-Za-z]+", publisher_name)
    return "".join(word[:1].upper() + word[1:] for word in words if word) + "Spider"


def make_spider_class(publisher: Publisher) -> type[PublisherSpider]:
    return type(
        spider_class_name(publisher.name),
        (PublisherSpider,),
        {
            "__module__": __name__,
            "__doc__": f"The {publisher.name} spider ({PublisherSpider.__name__}).",
            "name": publisher.name,
            "publisher": publisher,
            "handle_httpstatus_list": expected_answers(publisher),
        },
    )


SPIDERS: dict[str, type[PublisherSpider]] = {
    name: make_spider_class(publisher) for name, publisher in publishers().items()
}
globals().update({spider.__name__: spider for spider in SPIDERS.values()})


def spider_for(publisher_name: str) -> type[PublisherSpider]:
    """The spider class of an installed publisher (KeyError for none)."""
    return SPIDERS[publisher_name]

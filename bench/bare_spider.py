"""A bare Scrapy spider for bench_crawl: our spider's discovery, article pages thrown away.

Run: `python -m bench.bare_spider BASE_URL`; prints one JSON line (pages, articles, seconds).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess

from crawler.crawl_run import FAST_SETTINGS
from crawler.publishers.newsis.discovery import FEED_SLUGS, LIST_SECTIONS, article_id_of_link

REPO = Path(__file__).resolve().parent.parent

class BareSpider(scrapy.Spider):
    """Feeds, then every page of the section lists and /realnews/, then each article once."""

    name = "bare"

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.seen: set[str] = set()

    async def start(self):
        for slug in FEED_SLUGS:
            yield scrapy.Request(f"{self.base_url}/RSS/{slug}.xml", self.parse_feed, priority=20)
        for path, cid in LIST_SECTIONS:
            yield self.list_request(f"/{path}/list/?cid={cid}&page={{page}}", 1)
        yield self.list_request("/realnews/?page={page}", 1)

    def list_request(self, template: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            self.base_url + template.format(page=page), self.parse_list, priority=10,
            cb_kwargs={"template": template, "page": page},
        )

    def articles(self, links):
        for link in links:
            article_id = article_id_of_link(link)
            if article_id and article_id not in self.seen:
                self.seen.add(article_id)
                yield scrapy.Request(
                    f"{self.base_url}/view/{article_id}", self.parse_article, priority=5
                )

    def parse_feed(self, response):
        yield from self.articles(response.xpath("//item/link/text()").getall())

    def parse_list(self, response, template: str, page: int):
        hrefs = response.css("ul.articleList2 li p.tit a::attr(href)").getall()
        yield from self.articles(hrefs)
        if hrefs:
            yield self.list_request(template, page + 1)

    def parse_article(self, response):
        self.crawler.stats.inc_value("bare/articles")


def main() -> None:
    base_url = sys.argv[1]
    settings = {
        **FAST_SETTINGS,
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    started = time.monotonic()
    process.crawl(crawler, base_url=base_url)
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({
        "pages": stats.get("downloader/response_count", 0),
        "articles": stats.get("bare/articles", 0),
        "seconds": round(time.monotonic() - started, 3),
    }))


if __name__ == "__main__":
    main()

"""`scrapy crawl`: Scrapy's own, but refusing bad `-a` arguments and exiting non-zero when the
archive's judgement of the run (crawler.run_summary.judge_run) says it failed."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.spiders import Spider

from crawler.origins import base_url_for

# Set by the pipeline once it has closed the run it opened (crawler.pipelines.IngestPipeline).
EXIT_CODE_STAT = "newsarchive/exit_code"


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1:
            self._check_arguments(args[0], opts.spargs)
        self._crawler: Crawler | None = None
        super().run(args, opts)
        code = self._crawler.stats.get_value(EXIT_CODE_STAT) if self._crawler else None
        if code and not self.exitcode:
            self.exitcode = code

    def _check_arguments(self, spider_name: str, arguments: dict[str, str]) -> None:
        """Make the spider once with the `-a` arguments: one it refuses is a usage error,
        said in one line before anything starts (not a traceback in the crawl's log)."""
        assert self.crawler_process is not None
        try:
            spider_class = self.crawler_process.spider_loader.load(spider_name)
        except KeyError:
            return  # Scrapy's own run says so
        try:
            spider = spider_class(**arguments)
            publisher = getattr(spider, "publisher", None)
            if not getattr(spider, "base_url", True) and publisher is not None:
                # Where it would fetch from: NEWSARCHIVE_BASE_URL may name other sites only.
                base_url_for(
                    publisher.name, publisher.canonical_origin,
                    self.settings.get("NEWSARCHIVE_BASE_URL"),
                )
        except (TypeError, ValueError) as error:
            raise UsageError(f"spider {spider_name}: {error}", print_help=False) from None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        # The one hook Scrapy's crawl command gives on the crawler it runs.
        self._crawler = super()._create_crawler(spidercls)
        return self._crawler

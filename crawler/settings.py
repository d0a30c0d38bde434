"""Scrapy settings for the crawl: polite by default (crawler.crawl_run.FAST_SETTINGS: off)."""

from __future__ import annotations

import os

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# `scrapy crawl` refuses unknown -a arguments and exits non-zero when the run failed.
COMMANDS_MODULE = "crawler.scrapy_commands"

# Where each publisher's site is fetched from: `[NAME=]URL` entries separated by whitespace (a
# bare URL is newsis's), such as a local copy in tests and demos; empty: every publisher's real
# site (crawler.origins.base_url_for). Each spider sets its crawler's copy to its one origin.
# Records and captures keep the canonical URLs (https://www.newsis.com/…) whatever this says.
NEWSARCHIVE_BASE_URL = os.environ.get("NEWSARCHIVE_BASE_URL", "")

# The archive database (a URL storage.db understands); None = storage's default (NEWSARCHIVE_DB,
# else the SQLite file in the working directory).
NEWSARCHIVE_DB = None

# The crawl run the pipeline records into; set by `newsarchive crawl`, which holds the run lock.
# Left None under plain `scrapy crawl newsis`: the pipeline then takes the lock and opens the run.
NEWSARCHIVE_CRAWL_RUN_ID = None

# Say who we are and how to reach us, so the site's operators can ask us to slow down.
USER_AGENT = os.environ.get(
    "NEWSARCHIVE_USER_AGENT",
    "newsarchive/0.1 (+https://github.com/newsarchive; archive@example.org)",
)

# The site says what may be crawled (robots.txt disallows /common/, /search/, /ar_detail/).
ROBOTSTXT_OBEY = True

# Adapt the pace to the server's latency, never more than two requests in flight to it.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 1.0
# One host a crawler (a run of several publishers has one crawler each, each its own downloader),
# so the total is the per-host limit too (Scrapy lets a burst past the per-host limit alone:
# crawler.crawl_run.limit_to_one_site).
CONCURRENT_REQUESTS = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 2

# Real article pages are ~100 KB: anything near 8 MB is not an article; keep it out of the archive.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60

# A cut-off body must fail (and be retried), never reach the parser as if it were the page.
DOWNLOAD_FAIL_ON_DATALOSS = True

# Transient faults are retried a few times; 429 is left to our RetryAfterMiddleware, which waits
# as long as the server asks (bounded) before trying again.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
NEWSARCHIVE_RETRY_AFTER_TIMES = 3
NEWSARCHIVE_RETRY_AFTER_DEFAULT = 30.0  # seconds, when a 429 carries no usable Retry-After
NEWSARCHIVE_RETRY_AFTER_MAX = 300.0  # never wait longer than this on one 429

# Only the publisher's own origin is ever fetched, first tries and redirect hops alike: checked
# first, before robots.txt (which would ask another host for its robots.txt).
# Redirect hops bypass the duplicate filter (a loop or a second page sent to /error/ would
# vanish without a capture); Newsis redirects once or twice (old URL forms, /error/): more hops
# are a loop, kept as a failed capture.
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.SiteOnlyMiddleware": 40,
    # Scrapy's own lets requests that waited for robots.txt through unchecked (see there).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.EveryWaiterRobotsTxtMiddleware": 100,
    "crawler.middlewares.RetryAfterMiddleware": 540,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.EveryHopRedirectMiddleware": 600,
    "crawler.middlewares.AnswerLimitsMiddleware": 950,
}
REDIRECT_MAX_TIMES = 5
# An answer with more header lines or bytes than this is refused: no real page comes near.
NEWSARCHIVE_MAX_RESPONSE_HEADERS = 200
NEWSARCHIVE_MAX_RESPONSE_HEADER_BYTES = 65536

ITEM_PIPELINES = {
    "crawler.pipelines.IngestPipeline": 300,
}

# `scrapy crawl newsis -O records.jsonl` writes the archived records (the pipeline's items) as
# `newsarchive export --format jsonl` does: UTF-8 Korean, keys sorted.
FEED_EXPORT_ENCODING = "utf-8"
FEED_EXPORTERS = {
    name: "crawler.exporters.RecordJsonLinesExporter" for name in ("jsonlines", "jsonl", "jl")
}

# Every fetch is stored by the archive itself: a local HTTP cache would hide revisits and 304s.
HTTPCACHE_ENABLED = False

# Nothing listens on a port of ours: no telnet console, no remote control endpoint.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Only the pages we ask for: no cookies kept between fetches, no following of meta refreshes.
COOKIES_ENABLED = False
METAREFRESH_ENABLED = False

# Pages are handed to the archive in the order they arrive; ingest is the slow part.
CONCURRENT_ITEMS = 16
# Each page's item waits until the writer process has committed it (crawler/writer_process.py):
# Scrapy stops taking responses while this many bytes of them wait. 5 MB (the default) is ~35
# article pages, fewer than the writer stores in one batch when busy, so it would sit idle
# between batches; 40 MB (~280 pages) keeps it fed and still bounds memory.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 40_000_000

LOG_LEVEL = "INFO"

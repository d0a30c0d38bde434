"""newsarchive: the Scrapy side (settings, spiders, pipelines, parsers, records, command line)."""

"""Parsers: pure functions from page bytes + URL (+ capture time) to a record; no Scrapy, no storage."""

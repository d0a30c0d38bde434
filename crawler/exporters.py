"""Feed exporters for `scrapy crawl newsis -O FILE.jsonl`: records as `newsarchive export` writes
them (UTF-8, keys sorted), byte for byte."""

from __future__ import annotations

from typing import Any

from scrapy.exporters import JsonLinesItemExporter


class RecordJsonLinesExporter(JsonLinesItemExporter):
    """One record a line, with the JSON options of storage.export.write_jsonl."""

    def __init__(self, file: Any, **kwargs: Any) -> None:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("ensure_ascii", False)
        kwargs.setdefault("sort_keys", True)
        super().__init__(file, **kwargs)

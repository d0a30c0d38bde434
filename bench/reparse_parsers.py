"""Parsers for the reparse benchmark: importable by name, as reparse's spawned workers need."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from crawler.publishers import parse_article
from storage.record import ArticleRecord

BENCH_SUFFIX = "+bench"


def parse_as_next_version(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """The current parser's record under another parser_version: reparse must rewrite every version.

    Only parser_version differs, so the content hashes and version numbers stay as they are and
    the work measured is the full parse plus an update of each version and capture row.
    """
    record = parse_article(body, url, fetched_at)
    return replace(record, parser_version=record.parser_version + BENCH_SUFFIX)


CONTENT_MARK = "[bench] "


def parse_with_new_content(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """A parser fix as it usually comes: every record's content differs (a marked headline).

    Each version's content columns and hash are rewritten, with its search-index entry, as well
    as every capture's parse columns: the heaviest write a reparse makes.
    """
    record = parse_article(body, url, fetched_at)
    return replace(
        record,
        headline=CONTENT_MARK + record.headline,
        parser_version=record.parser_version + BENCH_SUFFIX,
    )

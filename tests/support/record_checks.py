"""What every record must be, whatever the page it came from (RECORD.md § Text, § Fields)."""

from __future__ import annotations

import unicodedata
from typing import Any

from crawler.publishers.newsis import urls as newsis_urls
from crawler.publishers.yonhap import urls as yonhap_urls
from storage.record import ArticleRecord

URL_RULES = {"newsis": newsis_urls, "yonhap": yonhap_urls}
ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def unclean(value: str) -> str | None:
    """Why `value` breaks RECORD.md § Text, or None when it is clean."""
    if value != value.strip():
        return "untrimmed"
    if "  " in value:
        return "double space"
    for char in value:
        if char != " " and char.isspace():
            return f"whitespace {char!r}"
        if unicodedata.category(char) == "Cc":
            return f"control character {char!r}"
        if char in ZERO_WIDTH:
            return f"zero-width {char!r}"
        if "\ud800" <= char <= "\udfff":
            return f"lone surrogate {char!r}"
    if not unicodedata.is_normalized("NFC", value):
        return "not NFC"
    return None


def strings_of(data: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(data, str):
        return [(path, data)]
    if isinstance(data, dict):
        return [item for key, value in data.items() for item in strings_of(value, f"{path}.{key}")]
    if isinstance(data, list):
        return [item for i, value in enumerate(data) for item in strings_of(value, f"{path}[{i}]")]
    return []


def record_problems(record: ArticleRecord, publisher: str = "newsis") -> list[str]:
    """What is wrong with a record of `publisher`'s page; [] when nothing is."""
    urls = URL_RULES[publisher]
    problems = []
    if record.source != publisher:
        problems.append(f"source {record.source!r}")
    if not urls.ARTICLE_ID_RE.fullmatch(record.article_id):
        problems.append(f"article_id {record.article_id!r}")
    elif record.url != urls.canonical_article_url(record.article_id):
        problems.append(f"url {record.url!r} is not canonical")
    if record.published_at.utcoffset() is None:
        problems.append("published_at naive")
    if record.modified_at is not None and record.modified_at.utcoffset() is None:
        problems.append("modified_at naive")
    if not record.headline:
        problems.append("empty headline")
    if not record.body and not any(caption.text for caption in record.captions):
        problems.append("neither body nor caption text")
    for caption in record.captions:
        image = caption.image_url
        if image is not None and (not image.startswith("https://") or "?" in image):
            problems.append(f"image_url {image!r}")
    data = record.to_dict(with_hash=False)
    for path, value in strings_of({key: data[key] for key in data if not key.endswith("_at")}):
        if path != ".url" and (reason := unclean(value)):
            problems.append(f"{path} {reason}: {value[:60]!r}")
    if ArticleRecord.from_dict(record.to_dict()) != record:
        problems.append("to_dict/from_dict does not round-trip")
    return problems

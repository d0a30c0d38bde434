"""Hostile Yonhap pages: each gives a clean record or a ParseError with a one-line reason.

The corpus of tests/reliability/test_hostile_pages.py (same mutations, same seeds) made from
Yonhap's example pages, through Yonhap's parser. Storing Yonhap pages, failed ones included, is
tested in tests/storage/test_publishers_archive.py.
"""

from __future__ import annotations

import random
from functools import cache

import pytest

from crawler.parsers import ParseError
from crawler.publishers.yonhap.parser import parser_for
from storage.record import ArticleRecord
from tests.support.article_pages import CAPTURE_BASE, base_pages
from tests.support.hostile_corpus import SEED_ENV_VAR, HostilePage, build_corpus, corpus_seed
from tests.support.hostile_mutations import CHARSET_VARIANTS, charset_variant
from tests.support.record_checks import record_problems

CORPUS_SIZE = 1000
SHARDS = 2
SEED = corpus_seed()


@cache
def shard_pages(shard: int) -> list[HostilePage]:
    print(f"hostile corpus seed: {SEED} (replay: {SEED_ENV_VAR}={SEED}), shard {shard}/{SHARDS}")
    return build_corpus(SEED, CORPUS_SIZE, shard=shard, shards=SHARDS, publisher="yonhap")


def where(page: HostilePage) -> str:
    return f"{page.name} (seed {SEED}; replay with {SEED_ENV_VAR}={SEED})"


def outcome_problems(page: HostilePage) -> tuple[bool, list[str]]:
    """(whether the page gave a record, what is wrong with its outcome). Any exception other
    than ParseError is a parser bug and is reported, not raised."""
    try:
        record = parser_for(page.fetched_at).parse(page.body, page.url)
    except ParseError as error:
        if not error.reason or "\n" in error.reason:
            return False, [f"{where(page)}: reason not one line: {error.reason!r}"]
        return False, []
    except Exception as error:
        return False, [f"{where(page)}: parser crashed: {type(error).__name__}: {error}"[:300]]
    return True, [f"{where(page)}: {problem}" for problem in record_problems(record, "yonhap")]


@pytest.mark.parametrize("shard", range(SHARDS))
def test_hostile_yonhap_pages_give_clean_records_or_parse_errors(shard: int) -> None:
    pages = shard_pages(shard)
    problems: list[str] = []
    records = 0
    for page in pages:
        is_record, found = outcome_problems(page)
        records += is_record
        problems.extend(found)
    print(f"shard {shard}: {len(pages)} hostile pages, {records} records, "
          f"{len(pages) - records} refused, {len(problems)} problems")
    assert records > 0 and records < len(pages)
    assert problems == []


@pytest.mark.parametrize("variant", CHARSET_VARIANTS)
def test_a_yonhap_page_with_a_lying_charset_gives_a_clean_record_or_a_parse_error(
    variant: str,
) -> None:
    bad = []
    for base in base_pages(SEED, "yonhap"):
        # Both parities: a UTF-16 decode of an odd number of bytes ends mid-character.
        for extra in (b"", b"\n"):
            body, url, content_type = charset_variant(variant, random.Random(0), base)
            page = HostilePage(f"{base.name}/{variant}", variant, url, body + extra,
                               CAPTURE_BASE, content_type)
            bad.extend(outcome_problems(page)[1])
    assert bad == []


def test_bidi_controls_and_zero_width_characters_never_reach_the_record() -> None:
    base = base_pages(SEED, "yonhap")[0]
    text = base.body.decode("utf-8")
    for char in ("\u202e", "\u2066", "\u200b", "\ufeff", "\u00ad", "\u3164"):
        page = text.replace("이틀째 이어진", f"이틀째{char} 이어진{char}")  # head and body
        record = parser_for(CAPTURE_BASE).parse(page.encode("utf-8"), base.url)
        assert record == parser_for(CAPTURE_BASE).parse(base.body, base.url), repr(char)
        assert isinstance(record, ArticleRecord)

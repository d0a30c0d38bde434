"""Hostile pages: each gives a clean record or a ParseError, and ingest keeps the archive sound."""

from __future__ import annotations

import random
from functools import cache

import pytest
from sqlalchemy import select, text

from crawler.archiving import ingest
from crawler.parsers import ParseError
from crawler.publishers import parse_article
from storage.db import make_session_factory, open_archive
from storage.fetched_page import FetchedPage
from storage.ingest.write_path import load_body
from storage.models import OUTCOME_FAILED, Capture, Version
from storage.record import ArticleRecord
from tests.support.article_pages import CAPTURE_BASE, base_pages
from tests.support.hostile_corpus import SEED_ENV_VAR, HostilePage, build_corpus, corpus_seed
from tests.support.hostile_mutations import CHARSET_VARIANTS, charset_variant
from tests.support.record_checks import record_problems

CORPUS_SIZE = 1000
# Ingest compresses every page (zstd level 12): four shards let `pytest -n 2` share the work.
SHARDS = 4
SEED = corpus_seed()
RECORD_OUTCOMES = {"new_article", "new_version", "unchanged"}


@cache
def shard_pages(shard: int) -> list[HostilePage]:
    print(f"hostile corpus seed: {SEED} (replay: {SEED_ENV_VAR}={SEED}), shard {shard}/{SHARDS}")
    return build_corpus(SEED, CORPUS_SIZE, shard=shard, shards=SHARDS)


def where(page: HostilePage) -> str:
    return f"{page.name} (seed {SEED}; replay with {SEED_ENV_VAR}={SEED})"


def parse_or_reason(page: HostilePage) -> ArticleRecord | str:
    """The record, or the ParseError's reason; any other exception propagates (a parser bug)."""
    try:
        return parse_article(page.body, page.url, page.fetched_at)
    except ParseError as error:
        assert error.reason and "\n" not in error.reason, where(page)
        return error.reason


# --- every page: the parser, then ingest into a real archive ----------------------------------


@pytest.mark.parametrize("shard", range(SHARDS))
def test_hostile_pages_give_clean_records_or_parse_errors_and_a_sound_archive(
    shard: int, tmp_path
) -> None:
    """Each page: parse_article returns a clean record or raises ParseError (nothing else);
    ingest keeps it as one byte-exact capture, a version only when it parsed, and the SQLite
    file passes its integrity check. One test per shard: each page is parsed once (inside
    ingest, by the real parser, its outcome recorded) and the shards run in parallel.
    """
    pages = shard_pages(shard)
    outcomes: list[ArticleRecord | str | BaseException] = []

    def recording_parser(body: bytes, url: str, fetched_at) -> ArticleRecord:
        try:
            record = parse_article(body, url, fetched_at)
        except BaseException as error:
            outcomes.append(error.reason if isinstance(error, ParseError) else error)
            raise
        outcomes.append(record)
        return record

    engine = open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}", for_writing=True)
    problems: list[str] = []
    try:
        sessions = make_session_factory(engine)
        results = []
        with sessions() as session:
            for page in pages:
                fetched = FetchedPage(
                    url=page.url,
                    status=200,
                    headers={"Content-Type": page.content_type},
                    body=page.body,
                    fetched_at=page.fetched_at,
                )
                before = len(outcomes)
                results.append(ingest(session, fetched, parser=recording_parser))
                if len(outcomes) == before:  # an empty body never reaches the parser
                    outcomes.append(parse_or_reason(page))
        for page, outcome, result in zip(pages, outcomes, results, strict=True):
            problems.extend(f"{where(page)}: {p}" for p in page_problems(outcome, result))
        with engine.connect() as connection:
            integrity = connection.execute(text("PRAGMA integrity_check")).scalars().all()
            foreign = connection.execute(text("PRAGMA foreign_key_check")).all()
        if integrity != ["ok"] or foreign:
            problems.append(f"archive not sound: {integrity[:3]} {foreign[:3]}")
        with sessions() as session:
            problems.extend(archive_problems(session, pages, outcomes, results))
    finally:
        engine.dispose()
    records = sum(isinstance(outcome, ArticleRecord) for outcome in outcomes)
    print(f"shard {shard}: {len(pages)} hostile pages, {records} records, "
          f"{len(pages) - records} refused, {len(problems)} problems")
    assert problems == []


def page_problems(outcome: ArticleRecord | str | BaseException, result) -> list[str]:
    if isinstance(outcome, BaseException):
        return [f"parser crashed: {type(outcome).__name__}: {outcome}"[:300]]
    if isinstance(outcome, str):
        if not outcome or "\n" in outcome:
            return [f"parse error reason not one line: {outcome!r}"]
        if result.outcome != OUTCOME_FAILED or not result.error:
            return [f"failed page ingested as {result.outcome!r}"]
        return []
    problems = record_problems(outcome)
    if result.outcome not in RECORD_OUTCOMES or result.article_id != outcome.article_id:
        problems.append(f"record ingested as {result.outcome!r} for {result.article_id!r}")
    return problems


def archive_problems(session, pages, outcomes, results) -> list[str]:
    """Captures byte-exact, no version from a failed capture, each record stored as parsed."""
    problems = []
    captures = {capture.capture_id: capture for capture in session.scalars(select(Capture))}
    if len(captures) != len(pages):
        problems.append(f"{len(captures)} captures for {len(pages)} pages")
    failed = {
        result.capture_id
        for outcome, result in zip(outcomes, results, strict=True)
        if not isinstance(outcome, ArticleRecord)
    }
    for version in session.scalars(select(Version)):
        if {version.first_capture_id, version.last_capture_id} & failed:
            problems.append(f"version {version.version_id} comes from a failed capture")
    for page, outcome, result in zip(pages, outcomes, results, strict=True):
        capture = captures.get(result.capture_id)
        if capture is None or (capture.url, capture.fetched_at) != (page.url, page.fetched_at):
            problems.append(f"{where(page)}: capture {result.capture_id} missing or not its own")
            continue
        if page.body and load_body(session, capture.body_hash) != page.body:
            problems.append(f"{where(page)}: stored body differs from the page")
        if not page.body and capture.body_hash is not None:
            problems.append(f"{where(page)}: an empty page got a body")
        if isinstance(outcome, ArticleRecord):
            stored = session.scalars(
                select(Version).where(
                    Version.article_id == outcome.article_id,
                    Version.content_hash == outcome.content_hash,
                )
            ).first()
            if stored is None or (stored.headline, stored.body, stored.published_at) != (
                outcome.headline, list(outcome.body), outcome.published_at
            ):
                problems.append(f"{where(page)}: no version holds its record")
    return problems


def test_corpus_covers_every_kind_of_hostile_page() -> None:
    from tests.support.hostile_corpus import MUTATIONS, corpus_plan

    plan = corpus_plan(CORPUS_SIZE)
    assert len(plan) >= 1000
    assert {mutation for mutation, _ in plan} == set(MUTATIONS)
    pages = [page for shard in range(SHARDS) for page in shard_pages(shard)]
    assert len(pages) == len(plan)
    assert any(len(page.body) > 5 * 1024 * 1024 for page in pages)
    assert any(b"\x00" in page.body for page in pages)


@pytest.mark.parametrize("variant", CHARSET_VARIANTS)
def test_page_with_a_lying_charset_gives_a_clean_record_or_a_parse_error(variant: str) -> None:
    bad = []
    for base in base_pages(SEED)[:8]:
        # Both parities: a UTF-16 decode of an odd number of bytes ends mid-character.
        for extra in (b"", b"\n"):
            body, url, content_type = charset_variant(variant, random.Random(0), base)
            page = HostilePage(f"{base.name}/{variant}", variant, url, body + extra,
                               CAPTURE_BASE, content_type)
            try:
                outcome = parse_or_reason(page)
            except Exception as error:
                bad.append(f"{page.name}: crashed with {type(error).__name__}")
                continue
            if isinstance(outcome, ArticleRecord):
                bad.extend(f"{page.name}: {problem}" for problem in record_problems(outcome))
    assert bad == []

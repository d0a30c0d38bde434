"""Issue 16 #10: a date or time outside the plausible range is the page's error, never the
archive's: the parser says why, ingest keeps the capture with that reason and adds no version."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.archiving import ingest
from crawler.parsers import ParseError
from crawler.parsers import text as kt
from crawler.publishers import parse_article
from storage.db import open_archive, upgrade
from storage.models import Article, Capture, Version
from tests.support.storage_fixtures import example_page, fetched

SEED_LINE = "<span>등록 2024.11.15 06:30:00</span><span>수정 2024.11.15 06:34:16</span>"
OLDER_LINE = "등록 2019-03-04 17:21:33"
META = '"article:published_time" content="2024-11-15T06:30:00+09:00"'


def bad_times(seed: int, count: int) -> list[tuple[str, str, str, str, str, str]]:
    """(y, m, d, H, M, S) strings that are no plausible Newsis time: impossible fields, years
    before 1990, years far ahead, and times whose UTC conversion overflows."""
    rng = random.Random(seed)
    fixed = [
        ("0001", "01", "01", "00", "00", "00"), ("9999", "12", "31", "23", "59", "59"),
        ("2024", "13", "01", "06", "30", "00"), ("2024", "11", "32", "06", "30", "00"),
        ("2024", "11", "15", "25", "30", "00"), ("2024", "11", "15", "06", "61", "00"),
        ("2024", "02", "30", "06", "30", "00"), ("2023", "02", "29", "06", "30", "00"),
        ("1989", "12", "31", "23", "59", "59"), ("2100", "01", "01", "00", "00", "00"),
        ("0000", "01", "01", "00", "00", "00"), ("2024", "00", "10", "00", "00", "00"),
        ("2024", "11", "00", "00", "00", "00"), ("2024", "11", "15", "06", "30", "60"),
    ]
    generated = []
    for _ in range(count):
        kind = rng.randrange(5)
        year, month, day = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
        hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        if kind == 0:
            year = rng.randint(0, 1989)
        elif kind == 1:
            year = rng.randint(datetime.now(UTC).year + 2, 9999)
        elif kind == 2:
            month = rng.choice([0, 13, 14, 20, 99])
        elif kind == 3:
            day = rng.choice([0, 32, 40, 99])
        else:
            hour = rng.choice([24, 25, 30, 99])
        generated.append(
            (f"{year:04d}", f"{month:02d}", f"{day:02d}", f"{hour:02d}", f"{minute:02d}",
             f"{second:02d}")
        )
    return fixed + generated


def pages_with(time: tuple[str, ...]) -> list[tuple[str, bytes, str]]:
    """The bad time as the current design's 등록 and 수정 lines, the older design's, and the
    article:published_time a page without a time line falls back on."""
    y, m, d, hh, mm, ss = time
    seed, seed_url, _ = example_page("seed-l3")
    older, older_url, _ = example_page("older-l2")
    seed_text, older_text = seed.decode(), older.decode()
    line = f"{y}.{m}.{d} {hh}:{mm}:{ss}"
    variants = [
        ("registered", seed_text.replace("등록 2024.11.15 06:30:00", f"등록 {line}"), seed_url),
        ("modified", seed_text.replace("수정 2024.11.15 06:34:16", f"수정 {line}"), seed_url),
        ("older", older_text.replace(OLDER_LINE, f"등록 {y}-{m}-{d} {hh}:{mm}:{ss}"), older_url),
        ("meta", seed_text.replace(SEED_LINE, "").replace(
            META, f'"article:published_time" content="{y}-{m}-{d}T{hh}:{mm}:{ss}+09:00"'
        ), seed_url),
    ]
    for _, text, _ in variants:
        assert text not in (seed_text, older_text)
    return [(where, text.encode(), url) for where, text, url in variants]


def test_an_implausible_time_is_a_parse_error_that_says_so():
    wrong = []
    for time in bad_times(seed=10, count=150):
        for where, body, url in pages_with(time):
            if where == "meta" and not _is_iso(time):
                continue  # no ISO time at all: the page has no registration time
            try:
                record = parse_article(body, url)
            except ParseError as error:
                if "time" not in error.reason:
                    wrong.append(f"{where} {time}: {error.reason}")
                continue
            wrong.append(f"{where} {time}: a record, published {record.published_at}")
    assert wrong == []


def _is_iso(time: tuple[str, ...]) -> bool:
    try:
        datetime.fromisoformat("{}-{}-{}T{}:{}:{}".format(*time))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+09:00", "0001-01-01T05:00:00+14:00", "9999-12-31T23:59:59-12:00",
     "1970-01-01T00:00:00Z", "2999-01-01T00:00:00"],
)
def test_an_iso_time_outside_the_range_is_refused_not_overflowed(value):
    with pytest.raises(ParseError, match="out of range"):
        kt.parse_iso_time(value)


def test_the_edges_of_the_range_are_accepted():
    assert kt.parse_kst_times("등록 1990.01.01 00:00:00")[0] == kt.EARLIEST_TIME
    near_future = datetime.now(kt.KST) + timedelta(days=30)
    line = f"등록 {near_future:%Y.%m.%d %H:%M:%S}"
    assert kt.parse_kst_times(line)[0] == near_future.replace(microsecond=0)


def test_a_photo_stamp_outside_the_range_stays_in_the_caption():
    parts = kt.parse_caption("장면. 0001.11.02. hwang@newsis.com")
    assert (parts.photo_date, parts.text) == (None, "장면. 0001.11.02.")
    assert kt.parse_caption("장면. 1950.06.25.").photo_date == "1950-06-25"


def test_ingest_keeps_a_page_with_an_implausible_time_as_a_failed_capture(db_url):
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    start = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
    pages = [
        (where, body, url)
        for time in bad_times(seed=11, count=12)
        for where, body, url in pages_with(time)
    ]
    try:
        with Session(engine) as session:
            for number, (where, body, url) in enumerate(pages):
                result = ingest(session, fetched(body, url, start + timedelta(minutes=number)))
                assert result.outcome == "failed", where
                assert result.error, where
            assert session.scalar(select(func.count()).select_from(Version)) == 0
            assert session.scalar(select(func.count()).select_from(Article)) == 0
            errors = session.scalars(select(Capture.parse_error)).all()
            assert len(errors) == len(pages)
            assert all(error and "time" in error for error in errors)
    finally:
        engine.dispose()

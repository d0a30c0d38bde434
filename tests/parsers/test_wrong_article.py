"""Issue 16 #5: a page that is another article (a redirect, a mislinked page) never becomes a
version of the article asked for: the capture is kept, failed, with "page is article X, not Y"."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.archiving import ingest
from crawler.localsite.server import NewsisSite
from crawler.parsers import ParseError
from crawler.publishers import parse_article
from storage.db import open_archive, upgrade
from storage.fetched_page import FetchedPage
from storage.models import Capture, Version
from tests.support.crawl_support import rows, run_crawl
from tests.support.storage_fixtures import example_page

SEED, SEED_URL, _ = example_page("seed-l3")
SEED_ID = "NISX20241115_0002960118"
CANONICAL_RE = re.compile(r'<link rel="canonical" href="[^"]*">\n')
OG_URL_RE = re.compile(r'<meta property="og:url" content="[^"]*">\n')


def other_ids(article_id: str, count: int, seed: int = 5) -> list[str]:
    """Ids of other articles: another serial, another date part, the other kind, and mixes."""
    rng = random.Random(seed)
    kind, day, serial = article_id[:4], article_id[4:12], article_id[13:]
    found = {"NISI" + article_id[4:], f"{kind}{day}_{int(serial) + 1:010d}"}
    while len(found) < count:
        new_day = day
        if rng.random() < 0.5:
            new_day = f"{rng.randint(2001, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        new_serial = f"{rng.randrange(10**10):010d}"
        if new_day != day and rng.random() < 0.5:
            new_serial = serial
        candidate = f"{rng.choice([kind, 'NISX', 'NISI'])}{new_day}_{new_serial}"
        if candidate != article_id:
            found.add(candidate)
    return sorted(found)


def page_of(
    other: str, *, canonical: bool = True, og_url: bool = True, lower: bool = False
) -> bytes:
    """The seed page as if it were article `other` (its canonical link and og:url name it)."""
    text = SEED.decode("utf-8")
    named = other.lower() if lower else other
    link = f'<link rel="canonical" href="https://www.newsis.com/view/?id={named}">\n'
    meta = f'<meta property="og:url" content="https://www.newsis.com/view/{other}">\n'
    text = CANONICAL_RE.sub(link if canonical else "", text)
    text = OG_URL_RE.sub(meta if og_url else "", text)
    return text.encode("utf-8")


def test_a_page_naming_another_article_is_a_parse_error_naming_both():
    for other in other_ids(SEED_ID, 40):
        for canonical, og_url in ((True, True), (True, False), (False, True)):
            with pytest.raises(ParseError) as error:
                parse_article(page_of(other, canonical=canonical, og_url=og_url), SEED_URL)
            assert error.value.reason == f"page is article {other}, not {SEED_ID}"


def test_a_page_naming_its_own_id_in_another_case_or_form_is_its_record():
    record = parse_article(page_of(SEED_ID, lower=True), SEED_URL)
    assert record.article_id == SEED_ID
    for url in (f"https://m.newsis.com/view.html?ar_id={SEED_ID.lower()}", SEED_URL):
        assert parse_article(SEED, url).article_id == SEED_ID


def test_a_page_naming_two_articles_is_refused():
    text = page_of(SEED_ID).decode().replace(
        f'content="https://www.newsis.com/view/{SEED_ID}"',
        'content="https://www.newsis.com/view/NISX20241115_0002960119"',
    )
    with pytest.raises(ParseError, match="several articles"):
        parse_article(text.encode(), SEED_URL)


def mismatches(count: int) -> list[tuple[str, FetchedPage]]:
    """Captures filed under the seed article whose page is another one, in every way a crawl
    can get one: the page says so, the URL fetched says so, the response URL says so."""
    when = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
    pages = []
    for number, other in enumerate(other_ids(SEED_ID, count)):
        at = when + timedelta(minutes=number)
        other_url = f"https://www.newsis.com/view/{other}"
        headers = {"Content-Type": "text/html; charset=utf-8"}
        pages += [
            (other, FetchedPage(SEED_URL, 200, headers, page_of(other), at, SEED_ID)),
            (other, FetchedPage(SEED_URL, 200, headers, page_of(other, og_url=False), at, None)),
            (other, FetchedPage(
                other_url, 200, headers, page_of(other, canonical=False, og_url=False),
                at + timedelta(seconds=1), SEED_ID.lower(),
            )),
            (other, FetchedPage(
                SEED_URL, 200, headers, page_of(other, canonical=False, og_url=False),
                at + timedelta(seconds=2), SEED_ID,
                extra={"fetched_url": f"http://127.0.0.1:8080/view/{other}"},
            )),
        ]
    return pages


def test_ingest_files_another_articles_page_as_a_failed_capture(db_url):
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    pages = mismatches(15)
    try:
        with Session(engine) as session:
            for other, page in pages:
                result = ingest(session, page)
                assert (result.outcome, result.article_id, result.error) == (
                    "failed", SEED_ID, f"page is article {other}, not {SEED_ID}"
                )
            assert session.scalars(select(Version)).all() == []
            captures = session.scalars(select(Capture)).all()
            assert len(captures) == len(pages)
            assert {capture.article_id for capture in captures} == {SEED_ID}
            # The seed page itself, asked for in lower case, is still its version.
            right = FetchedPage(SEED_URL, 200, {}, SEED, datetime(2024, 12, 1, tzinfo=UTC),
                                SEED_ID.lower())
            assert ingest(session, right).outcome == "new_article"
    finally:
        engine.dispose()


class SwappingSite(NewsisSite):
    """The local site, serving article B's page at article A's URL (a mislinked page)."""

    swapped: dict[str, str]

    def _article_answer(self, article_id: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        return super()._article_answer(self.swapped.get(article_id, article_id), headers)


def test_a_crawl_never_files_another_articles_page_under_the_one_asked_for(tmp_path: Path):
    db_path = tmp_path / "archive.sqlite3"
    with SwappingSite(seed=21, articles=12) as site:
        live = [article.article_id for article in site.live_articles()]
        asked, served = live[0], live[1]
        site.swapped = {asked: served}
        result = run_crawl(db_path, site)
        served_headline = site.article(served).headline
    assert result.returncode == 0, result.stderr[-2000:]
    assert rows(db_path, "SELECT count(*) FROM versions WHERE article_id = ?", (asked,)) == [(0,)]
    assert rows(
        db_path, "SELECT count(*) FROM versions WHERE headline = ? AND article_id != ?",
        (served_headline, served),
    ) == [(0,)]
    captures = "SELECT outcome, parse_error FROM captures WHERE article_id = ?"
    assert rows(db_path, captures, (asked,)) == [
        ("failed", f"page is article {served}, not {asked}")
    ]

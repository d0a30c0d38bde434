"""Layout drift counts pages fetched whole that fail to parse; transport failures never count."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.drift import DRIFT_EXIT_CODE, INCOMPLETE_BODY_REASONS
from crawler.localsite.server import NewsisSite
from crawler.publishers import parse_article as parse_page
from tests.support.crawl_support import rows, run_crawl

# Every kind of transport failure the local site makes, alone and mixed.
FAULT_MIXES = [
    {"truncate_nolength": 1.0},
    {"truncate": 1.0},
    {"truncate_nolength": 0.4, "truncate": 0.2, "reset": 0.1, "503": 0.1, "429": 0.1},
    {"5xx": 0.5, "truncate_nolength": 0.5},
]


def redesign(site: NewsisSite) -> None:
    """Serve every article in a new markup: the headline and body boxes renamed."""
    original = site.page

    def page(article_id: str) -> bytes:
        return (
            original(article_id)
            .replace(b'class="tit title_area"', b'class="article-headline"')
            .replace(b'class="viewer"', b'class="article-body"')
        )

    site.page = page  # type: ignore[method-assign]


@pytest.mark.parametrize("rates", FAULT_MIXES)
def test_a_crawl_through_cut_and_failed_transfers_raises_no_drift(
    tmp_path: Path, rates: dict[str, float]
) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=81, articles=30) as site:
        assert run_crawl(db_path, site).returncode == 0
        assert len(site.advance(180)) >= 10
        site.set_faults(seed=8, rates=rates, only="/view/*", retry_after=0)
        result = run_crawl(db_path, site, "-s", "RETRY_TIMES=0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "layout drift?" not in result.stderr
    assert rows(db_path, "SELECT count(*) FROM captures WHERE crawl_run_id = 2")[0][0] >= 10


def test_a_redesign_still_raises_drift(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=82, articles=30) as site:
        assert run_crawl(db_path, site).returncode == 0
        assert len(site.advance(180)) >= 10
        redesign(site)
        result = run_crawl(db_path, site)
    assert result.returncode == DRIFT_EXIT_CODE, result.stderr[-3000:]
    assert "layout drift?" in result.stderr


def test_the_parser_names_a_cut_body_as_drift_leaves_it_out() -> None:
    from datetime import UTC, datetime

    from crawler.parsers.errors import ParseError
    from crawler.publishers.newsis.urls import canonical_article_url

    with NewsisSite(seed=83, articles=5) as site:
        pages = [(a.article_id, site.page(a.article_id)) for a in site.live_articles()]
    for article_id, page in pages:
        for cut in (page[: len(page) // 2], page[: len(page) // 5], b"", b"  \n"):
            with pytest.raises(ParseError) as error:
                parse_page(cut, canonical_article_url(article_id), datetime.now(UTC))
            assert error.value.reason.startswith(INCOMPLETE_BODY_REASONS)

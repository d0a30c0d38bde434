"""Search plans (walk newest first, window, sort the matches) all give the same hits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import db
from storage.search import postgres as search_postgres
from storage.search import search
from storage.search import sqlite as search_sqlite
from tests.support.storage_fixtures import SEED_ID, fill, reading

# 3+ characters (trigram index), 2 (pair index / term prefixes), 1 (no index), absent words.
QUERIES = ["있다.", "에서", "엔비디아", "세계적 수준의", "세계 최고 수준의", "황,", "없는말"]
QUERIES += ["다", "AI", "뉴"]
FILTERS = [
    {},
    {"limit": 1},
    {"limit": 2},
    {"since": datetime(2024, 11, 15, tzinfo=UTC)},
    {"until": datetime(2024, 11, 15, tzinfo=UTC)},
    {"section": "사회"},
    {"reporter": "이현주"},
]
# (WALK_FROM_MATCHES, LIKE_WINDOW): walk or sort for 3+ characters; window hit, window then scan.
PLANS = [(0, 0), (0, 1), (10**9, 2), (1, 10**9)]


@pytest.fixture
def archive(db_url) -> str:
    fill(db_url)
    return db_url


def outcome(session, query, filters) -> list[tuple[str, int, int]]:
    return [
        (hit.article_id, hit.version, hit.current_version)
        for hit in search(session, query, **filters)
    ]


def test_every_plan_returns_the_same_hits(archive, monkeypatch):
    plans_module = search_sqlite if db.is_sqlite(archive) else search_postgres
    with reading(archive) as session:
        expected = {
            (query, index): outcome(session, query, filters)
            for query in QUERIES
            for index, filters in enumerate(FILTERS)
        }
        # The edited article matches in both versions: the newest one is the hit.
        assert (SEED_ID, 2, 2) in expected[("있다.", 0)]
        for walk_from, window in PLANS:
            monkeypatch.setattr(plans_module, "WALK_FROM_MATCHES", walk_from)
            monkeypatch.setattr(search_sqlite, "LIKE_WINDOW", window)
            for query in QUERIES:
                for index, filters in enumerate(FILTERS):
                    got = outcome(session, query, filters)
                    assert got == expected[(query, index)], (walk_from, window, query, filters)

"""The read path: history, show, diff and stats over archives filled by the real ingest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crawler.publishers import parse_article
from storage import diff as diffs
from storage import queries
from storage.stats import stats
from tests.support.storage_fixtures import (
    EDITED_HEADLINE,
    OLDER_ID,
    PHOTO_ID,
    SEED_ID,
    SEED_URL,
    T0,
    example,
    fill,
    reading,
    seed_v1,
    seed_v2,
)


@pytest.fixture
def archive(db_url) -> str:
    fill(db_url)
    return db_url


def test_history_after_an_edit_shows_two_versions_with_their_seen_times(archive):
    with reading(archive) as session:
        found = queries.history(session, SEED_ID)
    assert [v.version for v in found.versions] == [1, 2]
    first, second = found.versions
    assert (first.first_seen_at, first.last_seen_at) == (T0, T0 + timedelta(hours=1))
    assert (second.first_seen_at, second.last_seen_at) == (
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=5),
    )
    assert second.headline == EDITED_HEADLINE
    assert found.current_version == 2 and second.is_current and not first.is_current


def test_history_of_an_unknown_article_raises_not_found(archive):
    with reading(archive) as session, pytest.raises(queries.NotFound, match="no article"):
        queries.history(session, "NISX20991231_0000000001")


def test_show_version_one_equals_the_parsers_record_of_the_first_capture(archive):
    expected = parse_article(seed_v1(), SEED_URL, T0).to_dict()
    with reading(archive) as session:
        shown = queries.show(session, SEED_ID, 1)
    assert {key: shown[key] for key in expected} == expected
    assert set(shown) == set(expected) | {"version", "first_seen_at", "last_seen_at", "deleted_at"}
    assert shown["version"] == 1
    assert shown["published_at"] == "2024-11-15T06:30:00+09:00"
    assert shown["first_seen_at"] == T0.isoformat()


def test_show_defaults_to_the_current_version(archive):
    with reading(archive) as session:
        assert queries.show(session, SEED_ID)["headline"] == EDITED_HEADLINE


def test_show_of_a_version_that_does_not_exist_raises_not_found(archive):
    with reading(archive) as session, pytest.raises(queries.NotFound, match="no version 7"):
        queries.show(session, SEED_ID, 7)


def test_show_of_the_reference_examples_equals_their_expected_json(archive):
    with reading(archive) as session:
        for article_id, name in ((OLDER_ID, "older-l2"), (PHOTO_ID, "photo-item")):
            expected = json.loads(example(f"{name}.json"))
            shown = queries.show(session, article_id)
            assert {key: shown[key] for key in expected} == expected


def test_diff_names_the_headline_and_the_edited_paragraph(archive):
    with reading(archive) as session:
        found = diffs.diff(session, SEED_ID)
    assert (found.from_version["version"], found.to_version["version"]) == (1, 2)
    summary = [(c.field, c.index, c.change) for c in found.changes]
    assert summary == [("headline", None, "changed"), ("body", 4, "changed")]
    body_change = found.changes[1]
    assert "세계적 수준의" in body_change.old and "세계 최고 수준의" in body_change.new


def test_diff_of_an_article_with_one_version_is_empty(archive):
    with reading(archive) as session:
        found = diffs.diff(session, OLDER_ID)
    assert found.changes == []


def test_diff_records_aligns_inserted_and_removed_paragraphs():
    old = {"body": ["하나", "둘", "셋", "넷"], "captions": [], "headline": "제목"}
    new = {
        "body": ["하나", "새 문단", "둘", "넷"],
        "captions": [{"text": "사진"}],
        "headline": "제목",
    }
    changes = [(c.field, c.index, c.change) for c in diffs.diff_records(old, new)]
    assert changes == [
        ("captions", 1, "added"),
        ("body", 2, "added"),
        ("body", 3, "removed"),
    ]


def test_diff_records_reports_a_subheadline_added_and_a_section_changed():
    old = {"subheadlines": [], "section": "정치", "modified_at": None}
    new = {"subheadlines": ["요약"], "section": "사회", "modified_at": "2024-11-15T07:00:00+09:00"}
    changes = [(c.field, c.change, c.old, c.new) for c in diffs.diff_records(old, new)]
    assert changes == [
        ("subheadlines", "added", None, "요약"),
        ("section", "changed", "정치", "사회"),
        ("modified_at", "added", None, "2024-11-15T07:00:00+09:00"),
    ]


def test_word_diff_marks_only_the_changed_words():
    runs = diffs.word_diff("세계적 수준의 메카트로닉스", "세계 최고 수준의 메카트로닉스")
    assert ("removed", "세계적") in runs
    assert ("added", "세계 최고") in runs
    assert "".join(text for op, text in runs if op != "removed") == "세계 최고 수준의 메카트로닉스"


def test_iter_records_gives_current_versions_or_all_of_them(archive):
    with reading(archive) as session:
        current = list(queries.iter_records(session, batch_size=1))
        every = list(queries.iter_records(session, all_versions=True, batch_size=1))
        recent = list(queries.iter_records(session, since=T0 + timedelta(hours=1)))
    assert [(r["article_id"], r["version"]) for r in current] == [
        (PHOTO_ID, 1),
        (OLDER_ID, 1),
        (SEED_ID, 2),
    ]
    assert len(every) == 4
    assert [(r["article_id"], r["version"]) for r in recent] == [(SEED_ID, 2)]


def test_stats_counts_articles_versions_captures_and_bodies(archive):
    with reading(archive) as session:
        numbers = stats(session)
    assert numbers["articles"] == 3
    assert numbers["versions"] == 4
    assert numbers["captures"] == 6
    assert numbers["captures_by_outcome"] == {
        "new_article": 3,
        "new_version": 1,
        "unchanged": 2,
    }
    # Re-fetched identical pages are stored once: 4 distinct bodies.
    assert numbers["bodies"] == 4
    raw = sum(len(b) for b in (example("older-l2.html"), example("photo-item.html")))
    assert numbers["bodies_raw_bytes"] == raw + len(seed_v1()) + len(seed_v2())
    assert numbers["compression_ratio"] > 2
    assert numbers["database_bytes"] > 0
    assert numbers["crawl_runs"] == 0 and numbers["last_run"] is None

"""Search: Korean substrings (2 and 3+ characters), filters, order, hostile input, the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, literal_column, text, update
from sqlalchemy.orm import Session

from storage import db
from storage.models import Article, Capture, Version
from storage.queries import KST, iter_records
from storage.search import fts5_phrase, like_pattern, search
from tests.support.storage_fixtures import OLDER_ID, PHOTO_ID, SEED_ID, fill, reading

HOSTILE = ['"', "' OR 1=1 --", "NEAR(", "*", "%_\\", "%", "_", "a OR b", "(x)", '""', "\\"]
NOW = datetime(2024, 11, 20, tzinfo=UTC)


@pytest.fixture
def archive(db_url) -> str:
    fill(db_url)
    return db_url


def ids(hits) -> list[str]:
    return [hit.article_id for hit in hits]


def test_three_character_query_finds_the_article_holding_it(archive):
    with reading(archive) as session:
        hits = search(session, "엔비디아")
    assert ids(hits) == [SEED_ID]
    assert "엔비디아" in hits[0].snippet


def test_two_character_query_falls_back_and_still_finds_every_holder_newest_first(archive):
    with reading(archive) as session:
        assert ids(search(session, "에서")) == [SEED_ID, PHOTO_ID, OLDER_ID]
        assert ids(search(session, "황,")) == [SEED_ID]


def test_results_are_newest_published_first(archive):
    with reading(archive) as session:
        hits = search(session, "있다.")
    assert ids(hits) == [SEED_ID, PHOTO_ID, OLDER_ID]
    assert [hit.published_at for hit in hits] == sorted(
        (hit.published_at for hit in hits), reverse=True
    )


def test_limit_keeps_the_newest(archive):
    with reading(archive) as session:
        assert ids(search(session, "있다.", limit=2)) == [SEED_ID, PHOTO_ID]


def test_since_and_until_bound_the_publication_time(archive):
    day = datetime(2024, 11, 15, tzinfo=KST)
    with reading(archive) as session:
        assert ids(search(session, "있다.", since=day)) == [SEED_ID]
        assert ids(search(session, "있다.", until=day)) == [PHOTO_ID, OLDER_ID]
        assert ids(search(session, "에서", since=day - timedelta(days=1), until=day)) == [PHOTO_ID]


def test_section_and_reporter_filters(archive):
    with reading(archive) as session:
        assert ids(search(session, "있다.", section="사회")) == [OLDER_ID]
        assert ids(search(session, "있다.", reporter="이현주")) == [SEED_ID]
        assert ids(search(session, "에서", reporter="이윤희")) == [OLDER_ID]
        assert search(session, "있다.", reporter="없는사람") == []


def test_text_an_edit_removed_is_found_in_the_old_version(archive):
    with reading(archive) as session:
        removed = search(session, "세계적 수준의")
        added = search(session, "세계 최고 수준의")
    assert [(h.article_id, h.version, h.current_version) for h in removed] == [(SEED_ID, 1, 2)]
    assert [(h.article_id, h.version) for h in added] == [(SEED_ID, 2)]


def test_query_white_space_is_collapsed_like_stored_text(archive):
    with reading(archive) as session:
        assert ids(search(session, "  세계   최고\t수준의 ")) == [SEED_ID]


def test_empty_query_is_refused(archive):
    with reading(archive) as session, pytest.raises(ValueError, match="empty"):
        search(session, "   ")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_are_searched_literally_and_never_error(archive, hostile):
    with reading(archive) as session:
        expected = holders(session, hostile)
        assert ids(search(session, hostile)) == expected
    # Only '"' occurs in the examples: a wildcard left unescaped would match articles instead.
    assert expected == [] or hostile == '"'


def holders(session: Session, needle: str) -> list[str]:
    """Ids of the articles some version of which holds `needle`, by Python, newest first."""
    found = {}
    for record in iter_records(session, all_versions=True):
        texts = [
            record["headline"],
            *record["subheadlines"],
            *record["body"],
            *(caption["text"] for caption in record["captions"]),
        ]
        if any(needle.casefold() in text.casefold() for text in texts):
            found[record["article_id"]] = record["published_at"]
    return sorted(found, key=lambda article_id: datetime.fromisoformat(found[article_id]))[::-1]


def test_quotes_and_operators_inside_stored_text_are_found_literally(db_url):
    fill(db_url, [])
    strange = '따옴표 "인용" NEAR(가, 나) 50% 할인_코드 C:\\경로 * 별표 \' OR 1=1 --'
    add_version(db_url, "NISX20241116_0000000001", body=[strange])
    with reading(db_url) as session:
        for needle in ('"인용"', "NEAR(", "50%", "%", "_코", "C:\\경", "\\", "*", "' OR 1=1 --"):
            assert ids(search(session, needle)) == ["NISX20241116_0000000001"], needle
        assert search(session, "50%할인") == []


def test_index_follows_updates_and_deletes_of_versions(archive):
    engine = db.open_archive(archive, for_writing=True)
    with Session(engine) as session, session.begin():
        session.execute(
            update(Version)
            .where(Version.article_id == OLDER_ID)
            .values(body=["고쳐 쓴 본문입니다."])
        )
    with reading(archive) as session:
        assert ids(search(session, "고쳐 쓴")) == [OLDER_ID]
        assert search(session, "비상저감조치가 시행된다") == []
    with Session(engine) as session, session.begin():
        session.execute(update(Version).where(Version.article_id == OLDER_ID).values(headline="새"))
        session.query(Version).filter(Version.article_id == PHOTO_ID).delete()
    engine.dispose()
    with reading(archive) as session:
        assert ids(search(session, "수험생")) == []
        assert ids(search(session, "고쳐 쓴")) == [OLDER_ID]


def test_upgrade_backfills_the_index_for_versions_stored_before_it(db_url):
    db.upgrade(db_url, "0001")
    add_version(db_url, "NISX20241116_0000000002", body=["백필 이전에 저장된 문단"], legacy=True)
    db.upgrade(db_url)
    with reading(db_url) as session:
        assert ids(search(session, "저장된")) == ["NISX20241116_0000000002"]
        assert ids(search(session, "백필")) == ["NISX20241116_0000000002"]


def test_downgrade_removes_the_index_and_upgrade_restores_it(archive):
    db.downgrade(archive, "0001")
    engine = create_engine(archive)
    with engine.connect() as connection:
        if db.is_sqlite(archive):
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE name LIKE 'versions_search%'")
            ).all()
        else:
            names = connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_versions_search_trgm'")
            ).all()
    engine.dispose()
    assert names == []
    db.upgrade(archive)
    with reading(archive) as session:
        assert ids(search(session, "엔비디아")) == [SEED_ID]


def test_fts5_phrase_doubles_quotes_and_like_pattern_escapes_wildcards():
    assert fts5_phrase('a"b') == '"a""b"'
    assert like_pattern("5%_\\") == "%5\\%\\_\\\\%"


def add_version(
    db_url: str, article_id: str, *, body: list[str], headline: str = "제목", legacy: bool = False
) -> None:
    """One article with one version, written directly (the index triggers do the rest).

    `legacy`: the database is at a revision before 0006, whose digests are text on PostgreSQL
    too: the content hash goes in as an SQL literal, past the models' conversion to bytes."""
    content_hash: Any = "0" * 64
    if legacy:
        content_hash = literal_column(f"'{content_hash}'")
    # The publisher columns came with 0011, after every legacy revision.
    publisher = {} if legacy else {"publisher": "newsis"}
    engine = create_engine(db_url)
    with Session(engine) as session, session.begin():
        # Core, naming its columns: the ORM would also read back those a later revision added.
        capture_id = session.execute(
            insert(Capture.__table__)
            .values(
                url=f"https://www.newsis.com/view/{article_id}",
                article_id=article_id,
                **publisher,
                fetched_at=NOW,
                status=200,
                outcome="new_article",
            )
            .returning(Capture.__table__.c.capture_id)
        ).scalar_one()
        url = f"https://www.newsis.com/view/{article_id}"
        capture = SimpleNamespace(url=url, capture_id=capture_id)
        session.execute(
            insert(Article.__table__).values(
                article_id=article_id,
                **publisher,
                url=capture.url,
                first_seen_at=NOW,
                last_checked_at=NOW,
                last_changed_at=NOW,
                current_version_no=1,
            )
        )
        session.add(
            Version(
                article_id=article_id,
                version_no=1,
                headline=headline,
                published_at=NOW,
                subheadlines=[],
                reporters=[],
                captions=[],
                body=body,
                content_hash=content_hash,
                parser_version="test",
                first_capture_id=capture.capture_id,
                last_capture_id=capture.capture_id,
                first_seen_at=NOW,
                last_seen_at=NOW,
            )
        )
    engine.dispose()


def test_two_character_query_is_found_at_the_end_of_each_text_and_in_any_case(db_url):
    fill(db_url, [])
    # The last two characters of a column start no trigram unless the index adds a line break.
    add_version(db_url, "NISX20241116_0000000003", headline="위기의 한국 경제", body=["본문"])
    add_version(db_url, "NISX20241116_0000000004", headline="Ai", body=["첫 문단", "끝 문단 AI"])
    with reading(db_url) as session:
        for needle in ("경제", "본문", "Ai", "ai", "AI", "문단", "단", "없음"):
            assert ids(search(session, needle)) == holders(session, needle), needle
        assert ids(search(session, "경제")) == ["NISX20241116_0000000003"]
        assert ids(search(session, "ai")) == ["NISX20241116_0000000004"]
        assert search(session, "없음") == []


def test_two_character_index_follows_updates(archive):
    engine = db.open_archive(archive, for_writing=True)
    with Session(engine) as session, session.begin():
        session.execute(
            update(Version).where(Version.article_id == OLDER_ID).values(body=["곶감 이야기"])
        )
    engine.dispose()
    with reading(archive) as session:
        assert ids(search(session, "곶감")) == [OLDER_ID]
        assert ids(search(session, "시행")) == holders(session, "시행")


# --- several words --------------------------------------------------------------------------


def _reference_hits(archive: str, terms: list[str]) -> list[tuple[str, int]]:
    """(article, version) of the newest version holding every term in one of its texts, by a
    plain scan of every version: what search must answer, newest published first."""
    with reading(archive) as session:
        versions = session.query(Version).order_by(Version.version_no).all()
        newest: dict[str, Version] = {}
        for version in versions:
            texts = [
                version.headline,
                *version.subheadlines,
                *version.body,
                *(caption.get("text") or "" for caption in version.captions),
            ]
            if all(any(term in text for text in texts) for term in terms):
                newest[version.article_id] = version
        ordered = sorted(
            newest.values(), key=lambda v: (v.published_at, v.article_id), reverse=True
        )
        return [(version.article_id, version.version_no) for version in ordered]


def _words_of_the_archive(archive: str) -> list[str]:
    with reading(archive) as session:
        texts = [
            text
            for version in session.query(Version)
            for text in (version.headline, *version.body)
        ]
    return [word for text in texts for word in text.split()]


def test_several_words_must_all_appear_anywhere_in_the_version(archive):
    import random

    rng = random.Random(15)
    words = _words_of_the_archive(archive)
    # Pieces of 1, 2 and 3+ characters (each index path), and words no version holds.
    pieces = [word[: rng.randint(1, 4)] for word in rng.sample(words, 60)]
    pieces += ["없는말", "수시", "모"]
    with reading(archive) as session:
        for _ in range(60):
            terms = rng.sample(pieces, rng.randint(2, 4))
            got = [(hit.article_id, hit.version) for hit in search(session, terms)]
            assert got == _reference_hits(archive, terms), terms


def test_a_version_holding_only_some_of_the_words_is_no_hit(archive):
    with reading(archive) as session:
        assert ids(search(session, ["엔비디아", "미세먼지"])) == []
        assert ids(search(session, ["엔비디아", "손정의"])) == [SEED_ID]
        # One string is one phrase, as before: its words side by side.
        assert ids(search(session, "엔비디아 손정의")) == []

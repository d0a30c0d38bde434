"""An archive made before publishers (revision 0010) upgrades to head with every row kept, all of
it Newsis's, and takes both publishers' pages afterwards (issue 19)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from crawler.archiving import ingest
from storage import db
from storage.fetched_page import FetchedPage
from storage.models import Article, Capture
from storage.queries import iter_records
from tests.storage.test_migration_upgrades import lost_rows, snapshot
from tests.storage.test_publishers_archive import YONHAP_ID, YONHAP_URL, yonhap_v1
from tests.support.storage_fixtures import (
    HEADERS,
    SEED_ID,
    SEED_URL,
    T0,
    fill,
    seed_v2,
)

BEFORE_PUBLISHERS = "0010"


def archive_at_0010(db_url: str) -> None:
    """A real archive as 0010 held it: Newsis pages through the write path, with an edit and a
    deletion, then taken down to 0010 (whose rows are these but the publisher columns)."""
    fill(db_url)
    engine = db.open_archive(db_url, for_writing=True)
    with Session(engine) as session:
        taken_down = FetchedPage(SEED_URL, 404, {}, b"", T0 + timedelta(hours=6), gone=True)
        assert ingest(session, taken_down).outcome == "deleted"
    engine.dispose()
    db.downgrade(db_url, BEFORE_PUBLISHERS)


def test_an_archive_of_0010_upgrades_with_every_row_kept_and_all_of_it_newsis(db_url):
    archive_at_0010(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            assert db.current_revision(engine) == BEFORE_PUBLISHERS
            columns = inspect(connection).get_columns("articles")
            assert "publisher" not in {column["name"] for column in columns}
            before = snapshot(connection)
        assert len(before["captures"]) == 7 and len(before["articles"]) == 3
        assert len(before["versions"]) == 4 and before["events"]

        db.upgrade(db_url)
        with engine.connect() as connection:
            after = snapshot(connection)
        assert lost_rows(before, after) == []
        for table in ("articles", "captures"):
            assert {row["publisher"] for row in after[table].values()} == {"newsis"}, table
    finally:
        engine.dispose()


def test_an_upgraded_archive_takes_both_publishers_pages(db_url):
    archive_at_0010(db_url)
    db.upgrade(db_url)
    engine = db.open_archive(db_url, for_writing=True)
    try:
        with Session(engine) as session:
            later = [
                FetchedPage(SEED_URL, 200, dict(HEADERS), seed_v2(), T0 + timedelta(hours=7)),
                FetchedPage(YONHAP_URL, 200, dict(HEADERS), yonhap_v1(), T0 + timedelta(hours=8)),
            ]
            outcomes = [ingest(session, page).outcome for page in later]
            assert outcomes == ["unchanged", "new_article"]  # the seed restored, as it was
            publishers = dict(
                session.execute(select(Article.article_id, Article.publisher)).all()
            )
            assert publishers[SEED_ID] == "newsis" and publishers[YONHAP_ID] == "yonhap"
            assert session.scalar(
                select(Capture.publisher).where(Capture.article_id == YONHAP_ID)
            ) == "yonhap"
            sources = {r["article_id"]: r["source"] for r in iter_records(session)}
            assert sources[YONHAP_ID] == "yonhap"
            assert set(sources.values()) == {"newsis", "yonhap"}
    finally:
        engine.dispose()

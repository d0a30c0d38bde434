"""A page the database refuses fails alone: the rest of its ingest batch is stored."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from crawler.archiving import ingest_many
from storage.ingest.transaction import OUTCOME_LOST
from storage.models import Capture, Version
from tests.support.storage_fixtures import example_page, fetched

T0 = datetime(2024, 11, 15, tzinfo=UTC)
MARK = "REFUSED-BY-THE-DATABASE"
BATCH = 10


def refuse(engine: Engine, table: str, condition: str) -> None:
    """A trigger that makes the database itself refuse rows of `table` matching `condition`
    (NEW.<column> ...): a per-page database error no parser check stands in front of."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {condition} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
                )
            )
            return
        connection.execute(
            text(
                f"CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ BEGIN "
                f"IF {condition} THEN RAISE EXCEPTION 'refused by the database'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
            )
        )


def pages(bad: set[int], *, bad_url: bool = False):
    """BATCH fetches of the seed article a minute apart, each an edit; those in `bad` carry
    MARK in the body (or, with bad_url, in the URL's query)."""
    raw, url, _ = example_page("seed-l3")
    found = []
    for n in range(BATCH):
        words = f"{n + 1}번째 업계에 따르면" + (f" {MARK}" if n in bad and not bad_url else "")
        body = raw.replace("15일 업계에 따르면".encode(), words.encode())
        page_url = f"{url}?from={MARK}" if n in bad and bad_url else url
        found.append(fetched(body, page_url, T0 + timedelta(minutes=n)))
    return found


def body_text(engine: Engine) -> str:
    return "CAST(NEW.body AS TEXT)" if engine.dialect.name == "sqlite" else "NEW.body::text"


@pytest.mark.parametrize("seed", range(6))
def test_a_version_the_database_refuses_is_a_failed_capture_and_the_rest_is_stored(
    archive_engine, seed
):
    refuse(archive_engine, "versions", f"{body_text(archive_engine)} LIKE '%{MARK}%'")
    chosen = random.Random(seed)
    bad = set(chosen.sample(range(BATCH), chosen.randint(1, 3)))
    with Session(archive_engine) as session:
        results = ingest_many(session, pages(bad))
    assert [r.outcome == "failed" for r in results] == [n in bad for n in range(BATCH)]
    for n in bad:
        assert results[n].error.startswith("database refused the page: ")
    with Session(archive_engine) as session:
        captures = session.scalars(select(Capture).order_by(Capture.fetched_at)).all()
        versions = session.scalar(select(text("count(*)")).select_from(Version))
    assert len(captures) == BATCH
    assert [c.parse_error is not None for c in captures] == [n in bad for n in range(BATCH)]
    assert all(c.body_hash for c in captures)  # the refused page's body is kept for a reparse
    assert versions == BATCH - len(bad)


@pytest.mark.parametrize("bad_index", [0, 4, BATCH - 1])
def test_a_capture_the_database_refuses_is_named_lost_and_the_rest_is_stored(
    archive_engine, bad_index
):
    refuse(archive_engine, "captures", f"NEW.url LIKE '%{MARK}%'")
    with Session(archive_engine) as session:
        results = ingest_many(session, pages({bad_index}, bad_url=True))
    lost = results[bad_index]
    assert lost.outcome == OUTCOME_LOST and lost.capture_id is None
    assert "refused by the database" in lost.error
    assert all(r.capture_id for n, r in enumerate(results) if n != bad_index)
    with Session(archive_engine) as session:
        stored = session.scalars(select(Capture.url)).all()
    assert len(stored) == BATCH - 1 and not any(MARK in url for url in stored)

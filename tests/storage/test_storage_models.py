"""Models: aware UTC times on both databases, the revisit schedule, the naming convention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from storage.models import Base, CrawlRun
from storage.versioning import next_check_at

KST = timezone(timedelta(hours=9))
PUBLISHED = datetime(2024, 11, 15, 6, 30, tzinfo=KST)


def test_kst_time_is_stored_and_read_back_as_the_same_instant_in_utc(session_factory):
    with session_factory() as session:
        run = CrawlRun(started_at=PUBLISHED)
        session.add(run)
        session.commit()
        run_id = run.crawl_run_id
    with session_factory() as session:
        stored = session.get(CrawlRun, run_id).started_at
    assert stored == PUBLISHED
    assert stored.tzinfo == UTC
    assert stored.hour == 21  # 06:30 KST is 21:30 UTC the day before


def test_naive_time_is_refused(session_factory):
    with session_factory() as session:
        session.add(CrawlRun(started_at=datetime(2024, 11, 15, 6, 30)))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(0), timedelta(minutes=15)),
        (timedelta(hours=2, minutes=59), timedelta(minutes=15)),
        (timedelta(hours=3), timedelta(hours=1)),
        (timedelta(hours=23), timedelta(hours=1)),
        (timedelta(days=1), timedelta(days=1)),
        (timedelta(days=6, hours=23), timedelta(days=1)),
        (timedelta(days=7), timedelta(days=7)),
        (timedelta(days=29), timedelta(days=7)),
        (timedelta(days=30), timedelta(days=30)),
        (timedelta(days=364), timedelta(days=30)),
        (timedelta(days=365), timedelta(days=90)),
        (timedelta(days=3650), timedelta(days=90)),
    ],
)
def test_revisits_thin_out_with_age(age, interval):
    assert next_check_at(PUBLISHED, PUBLISHED + age) == PUBLISHED + age + interval


def test_revisits_never_stop():
    checked = PUBLISHED + timedelta(days=20 * 365)
    assert next_check_at(PUBLISHED, checked) == checked + timedelta(days=90)


def test_unknown_publication_time_counts_as_fresh():
    checked = datetime(2024, 11, 15, tzinfo=UTC)
    assert next_check_at(None, checked) == checked + timedelta(minutes=15)


def test_every_constraint_is_named_by_the_convention(archive_engine):
    inspector = inspect(archive_engine)
    for table in Base.metadata.sorted_tables:
        assert inspector.get_pk_constraint(table.name)["name"] in (f"pk_{table.name}", None)
        for foreign_key in inspector.get_foreign_keys(table.name):
            assert foreign_key["name"].startswith(f"fk_{table.name}_")
        for unique in inspector.get_unique_constraints(table.name):
            assert unique["name"].startswith(f"uq_{table.name}_")

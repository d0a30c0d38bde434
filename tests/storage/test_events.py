"""Events from captures: deletions (only on the publisher's word), restorations, touches, and
reparse deriving the same ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crawler.archiving import ingest, reparse
from storage.changes import list_changes
from storage.fetched_page import FetchedPage
from storage.models import Article, Capture, Event
from tests.support.event_pages import ERROR_PAGE, gone, page, touched_v1
from tests.support.storage_fixtures import SEED_ID, T0, seed_v1, seed_v2


def store(session_factory, pages: list[FetchedPage]) -> list[str]:
    with session_factory() as session:
        return [ingest(session, one).outcome for one in pages]


def events(session_factory) -> list[tuple]:
    with session_factory() as session:
        return [
            (change.kind, change.version, change.fields, change.at - T0)
            for change in list_changes(session)
        ]


def article(session_factory) -> Article:
    with session_factory() as session:
        found = session.get(Article, SEED_ID)
        session.expunge_all()
        return found


@pytest.mark.parametrize("status", [200, 302, 404, 410])
def test_a_gone_capture_deletes_and_a_page_restores(session_factory, status):
    outcomes = store(session_factory, [page(seed_v1(), 0), gone(1, status), gone(2, status),
                                       page(seed_v1(), 3)])
    assert outcomes == ["new_article", "deleted", "gone", "unchanged"]
    assert events(session_factory) == [
        ("new_article", 1, None, timedelta(0)),
        ("deleted", 1, None, timedelta(hours=1)),
        ("restored", 1, None, timedelta(hours=3)),
    ]
    assert article(session_factory).deleted_at is None


def test_a_deleted_article_stays_deleted_and_keeps_being_checked(session_factory):
    store(session_factory, [page(seed_v1(), 0), gone(1, 404)])
    deleted = article(session_factory)
    assert deleted.deleted_at == T0 + timedelta(hours=1)
    assert deleted.current_version_no == 1
    assert deleted.next_check_at is not None and deleted.next_check_at > deleted.deleted_at


def test_a_restoration_with_an_edit_is_restored_and_a_new_version(session_factory):
    store(session_factory, [page(seed_v1(), 0), gone(1, 410), page(seed_v2(), 2)])
    assert events(session_factory) == [
        ("new_article", 1, None, timedelta(0)),
        ("deleted", 1, None, timedelta(hours=1)),
        ("restored", 2, None, timedelta(hours=2)),
        ("new_version", 2, ["headline", "body"], timedelta(hours=2)),
    ]


def test_a_new_edit_time_alone_is_a_touch_not_a_version(session_factory):
    outcomes = store(session_factory, [page(seed_v1(), 0), page(touched_v1(), 1),
                                       page(touched_v1(), 2)])
    assert outcomes == ["new_article", "unchanged", "unchanged"]
    assert events(session_factory) == [
        ("new_article", 1, None, timedelta(0)),
        ("touched", 1, None, timedelta(hours=1)),
    ]


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "body": b"busy"},
        {"status": 429, "body": b""},
        {"status": None, "body": b"", "fetch_error": "TimeoutError: took too long"},
        {"status": 404, "body": ERROR_PAGE},  # a 404 the publisher rules did not call gone
    ],
)
def test_a_failed_fetch_never_deletes(session_factory, failure):
    failure = dict(failure)
    body = failure.pop("body")
    outcomes = store(session_factory, [page(seed_v1(), 0), page(body, 1, **failure)])
    assert outcomes == ["new_article", "failed"]
    assert [kind for kind, *_ in events(session_factory)] == ["new_article"]
    assert article(session_factory).deleted_at is None


def test_reparse_derives_the_same_events_and_keeps_their_ids(session_factory, archive_engine):
    store(session_factory, [page(seed_v1(), 0), page(touched_v1(), 1), gone(2, 404),
                            gone(3, 404), page(seed_v2(), 4)])
    with session_factory() as session:
        before = session.execute(select(Event.event_id, Event.kind).order_by(Event.event_id)).all()
    expected = events(session_factory)
    summary = reparse(archive_engine, workers=1)
    assert summary.changed == 0
    assert events(session_factory) == expected
    with session_factory() as session:
        after = session.execute(select(Event.event_id, Event.kind).order_by(Event.event_id)).all()
        # The gone word is kept on the captures: it is what reparse derives deletions from.
        assert session.scalars(select(Capture.is_gone).order_by(Capture.fetched_at)).all() == [
            False, False, True, True, False
        ]
    assert after == before


def test_reparse_rebuilds_events_that_were_lost(session_factory, archive_engine):
    store(session_factory, [page(seed_v1(), 0), gone(1, 404), page(seed_v2(), 2)])
    expected = events(session_factory)
    with session_factory() as session:
        session.execute(Event.__table__.delete())
        session.commit()
    assert reparse(archive_engine, workers=1).changed == 1
    assert events(session_factory) == expected


def test_a_late_import_before_a_deletion_is_filed_in_time_order(session_factory):
    store(session_factory, [page(seed_v1(), 0), gone(5, 404), page(seed_v1(), 3)])
    assert [(kind, at) for kind, _, _, at in events(session_factory)] == [
        ("new_article", timedelta(0)),
        ("deleted", timedelta(hours=5)),
    ]
    assert article(session_factory).deleted_at == T0 + timedelta(hours=5)

"""One archive for all publishers (issue 19): Newsis and Yonhap pages side by side, each article
and capture under its publisher, edits and deletions alike; a page never lands under another
publisher's article."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crawler.archiving import UNKNOWN_PUBLISHER, filed, ingest, parse_page, reparse
from storage.changes import list_changes
from storage.fetched_page import FetchedPage
from storage.models import Article, Capture, Event, Version
from storage.queries import iter_records, show
from tests.support.paths import NEWSIS_EXAMPLES, YONHAP_EXAMPLES
from tests.support.storage_fixtures import SEED_ID, SEED_URL, seed_v1, seed_v2

T0 = datetime(2026, 7, 16, 12, 0, tzinfo=UTC)
YONHAP_ID = "AKR20260716091200003"
YONHAP_URL = f"https://www.yna.co.kr/view/{YONHAP_ID}"


def example(folder, name: str) -> tuple[bytes, str, dict]:
    """(page, URL it was fetched from, its expected record) of an example page."""
    meta = json.loads((folder / f"{name}.meta.json").read_text(encoding="utf-8"))
    expected = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return (folder / f"{name}.html").read_bytes(), meta["url"], expected


EXAMPLES = [
    (NEWSIS_EXAMPLES, "seed-l3"),
    (NEWSIS_EXAMPLES, "older-l2"),
    (NEWSIS_EXAMPLES, "photo-item"),
    (YONHAP_EXAMPLES, "y3-article"),
    (YONHAP_EXAMPLES, "y2-article"),
    (YONHAP_EXAMPLES, "photo-item"),
]


def page(body: bytes, url: str, hours: float, **more) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=more.pop("status", 200),
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=body,
        fetched_at=T0 + timedelta(hours=hours),
        **more,
    )


def yonhap_v1() -> bytes:
    return example(YONHAP_EXAMPLES, "y3-article")[0]


def yonhap_v2() -> bytes:
    """The Yonhap article as edited: its first paragraph says 사흘째."""
    raw = yonhap_v1()
    edited = raw.replace("이틀째 이어진 폭염".encode(), "사흘째 이어진 폭염".encode())
    assert edited != raw
    return edited


def store(session_factory, pages: list[FetchedPage]) -> list[tuple[str, str | None]]:
    with session_factory() as session:
        return [(r.outcome, r.error) for r in (ingest(session, one) for one in pages)]


def rows(session_factory, model) -> list[dict]:
    """Every row of a table, as column dicts, in key order."""
    table = model.__table__
    with session_factory() as session:
        statement = select(table).order_by(*table.primary_key.columns)
        return [dict(row) for row in session.execute(statement).mappings()]


def test_both_publishers_pages_give_their_records_under_their_publisher(session_factory):
    pages = []
    for hour, (folder, name) in enumerate(EXAMPLES):
        body, url, _expected = example(folder, name)
        pages.append(page(body, url, hour))
    assert [outcome for outcome, _ in store(session_factory, pages)] == ["new_article"] * 6

    with session_factory() as session:
        exported = {record["article_id"]: record for record in iter_records(session)}
        publishers = dict(session.execute(select(Article.article_id, Article.publisher)).all())
        capture_publishers = dict(
            session.execute(select(Capture.article_id, Capture.publisher)).all()
        )
    for folder, name in EXAMPLES:
        expected = example(folder, name)[2]
        record = exported[expected["article_id"]]
        assert {key: record[key] for key in expected} == expected, name
        assert publishers[expected["article_id"]] == expected["source"]
        assert capture_publishers[expected["article_id"]] == expected["source"]
    assert sorted(set(publishers.values())) == ["newsis", "yonhap"]


def test_yonhap_edits_make_versions_and_a_gone_page_a_deletion_beside_newsis(session_factory):
    outcomes = store(session_factory, [
        page(yonhap_v1(), YONHAP_URL, 0),
        page(seed_v1(), SEED_URL, 0.5),
        page(yonhap_v1(), YONHAP_URL, 1),
        page(yonhap_v2(), YONHAP_URL, 2),
        page(seed_v2(), SEED_URL, 2.5),
        page(b"", YONHAP_URL, 3, status=404, gone=True),
        page(b"", SEED_URL, 3.5, status=404, gone=True),
    ])
    assert [outcome for outcome, _ in outcomes] == [
        "new_article", "new_article", "unchanged", "new_version", "new_version", "deleted",
        "deleted",
    ]
    with session_factory() as session:
        for article_id in (YONHAP_ID, SEED_ID):
            kinds = [
                (change.kind, change.version)
                for change in list_changes(session, article_id=article_id)
            ]
            assert kinds == [("new_article", 1), ("new_version", 2), ("deleted", 2)]
        assert show(session, YONHAP_ID, 1)["source"] == "yonhap"
        edited = show(session, YONHAP_ID)
        assert edited["source"] == "yonhap" and edited["body"][0].startswith("사흘째")
        assert edited["deleted_at"] is not None
        assert show(session, SEED_ID)["source"] == "newsis"


def test_reparse_keeps_each_articles_publisher_and_changes_nothing(db_url, archive_engine,
                                                                   session_factory):
    store(session_factory, [
        page(yonhap_v1(), YONHAP_URL, 0),
        page(yonhap_v2(), YONHAP_URL, 1),
        page(seed_v1(), SEED_URL, 1.5),
        page(b"", YONHAP_URL, 2, status=404, gone=True),
    ])
    before = [rows(session_factory, model) for model in (Article, Capture, Version, Event)]
    summary = reparse(archive_engine, workers=1)
    assert (summary.articles, summary.changed) == (2, 0)
    assert [rows(session_factory, model) for model in (Article, Capture, Version, Event)] \
        == before
    with session_factory() as session:
        sources = {r["article_id"]: r["source"] for r in iter_records(session, all_versions=True)}
    assert sources == {YONHAP_ID: "yonhap", SEED_ID: "newsis"}


def test_a_page_of_another_publisher_than_the_crawls_is_a_failed_capture(session_factory):
    outcomes = store(session_factory, [
        page(yonhap_v1(), YONHAP_URL, 0, publisher="newsis"),
        page(seed_v1(), SEED_URL, 1, publisher="yonhap"),
    ])
    assert outcomes == [
        ("failed", "page is a yonhap article, not newsis's"),
        ("failed", "page is a newsis article, not yonhap's"),
    ]
    assert rows(session_factory, Article) == []
    assert [(c["publisher"], c["article_id"]) for c in rows(session_factory, Capture)] == [
        ("newsis", YONHAP_ID), ("yonhap", SEED_ID)
    ]


def mirror_parser(body: bytes, url: str, fetched_at: datetime):
    """A publisher republishing Newsis's pages under its own name and ids (a plug-in whose id
    pattern overlaps Newsis's): the case the archive's collision guard is for."""
    return dataclasses.replace(parse_page(body, url, fetched_at), source="mirror")


def test_a_page_whose_article_another_publisher_holds_fails_and_changes_nothing(
    archive_engine, session_factory
):
    store(session_factory, [page(seed_v1(), SEED_URL, 0), page(seed_v1(), SEED_URL, 1)])
    before = [rows(session_factory, model) for model in (Article, Version, Event)]
    with session_factory() as session:
        edit = ingest(session, page(seed_v2(), SEED_URL, 2, publisher="mirror"),
                      parser=mirror_parser)
        takedown = ingest(session, page(b"", SEED_URL, 3, status=404, gone=True,
                                        publisher="mirror"), parser=mirror_parser)
    clash = f"article {SEED_ID} is newsis's: a mirror capture is not filed under it"
    assert (edit.outcome, edit.error) == ("failed", clash)
    assert (takedown.outcome, takedown.error) == ("failed", clash)
    assert [rows(session_factory, model) for model in (Article, Version, Event)] == before
    captures = rows(session_factory, Capture)
    assert [(c["publisher"], c["outcome"]) for c in captures] == [
        ("newsis", "new_article"), ("newsis", "unchanged"), ("mirror", "failed"),
        ("mirror", "failed"),
    ]

    # A reparse of the article derives the same: the mirror's captures stay apart.
    summary = reparse(archive_engine, workers=1)
    assert summary.changed == 0
    assert [rows(session_factory, model) for model in (Article, Version, Event)] == before
    assert rows(session_factory, Capture) == captures


def test_the_publisher_is_the_crawls_else_the_urls_else_the_asked_ids():
    def publisher_of(url: str, **more) -> tuple[str | None, str | None]:
        found = filed(FetchedPage(url, 200, {}, b"x", T0, **more))
        return found.publisher, found.article_id

    assert publisher_of(YONHAP_URL) == ("yonhap", YONHAP_ID)
    assert publisher_of(SEED_URL) == ("newsis", SEED_ID)
    assert publisher_of(SEED_URL, publisher="yonhap") == ("yonhap", SEED_ID)
    # A mirror of the site (the local one) on a host of no publisher.
    assert publisher_of("http://127.0.0.1:8080/x", article_id=f" {YONHAP_ID} ") == (
        "yonhap", YONHAP_ID
    )
    assert publisher_of("http://127.0.0.1:8080/x") == (UNKNOWN_PUBLISHER, None)


def test_a_page_of_no_publisher_is_kept_as_failed_evidence(session_factory):
    elsewhere = page(b"<html></html>", "https://example.com/a", 0)
    [(outcome, error)] = store(session_factory, [elsewhere])
    assert outcome == "failed" and "no publisher" in (error or "")
    [capture] = rows(session_factory, Capture)
    assert (capture["publisher"], capture["article_id"]) == (UNKNOWN_PUBLISHER, None)
    assert rows(session_factory, Article) == []

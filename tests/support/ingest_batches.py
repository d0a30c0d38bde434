"""Pages for the ingest_many tests: the stored seed article, and a batch of every kind of page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.fetched_page import FetchedPage
from storage.models import Article, Body, Capture, CrawlRun, Version
from tests.support.storage_fixtures import T0, chrome_changed, edited, example_page, fetched


def seed_raw() -> bytes:
    return example_page("seed-l3")[0]


def seed(minutes: float, body: bytes | None = None, **kwargs: Any) -> FetchedPage:
    raw, url, _ = example_page("seed-l3")
    return fetched(raw if body is None else body, url, T0 + timedelta(minutes=minutes), **kwargs)


def other(name: str, minutes: float, **kwargs: Any) -> FetchedPage:
    raw, url, _ = example_page(name)
    return fetched(raw, url, T0 + timedelta(minutes=minutes), **kwargs)


def stored_before() -> list[FetchedPage]:
    """What the archive holds when the batch comes: the seed article, edited once."""
    return [seed(0), seed(120, edited(seed_raw()))]


def mixed_batch() -> list[FetchedPage]:
    """Every kind of page a batch can hold, the seed article several times among them."""
    raw = seed_raw()
    older_raw, older_url, _ = example_page("older-l2")
    photo_raw, photo_url, _ = example_page("photo-item")
    older_id = "NISX20190304_0000577521"
    return [
        seed(180, chrome_changed(edited(raw), 3)),  # unchanged
        seed(240, edited(raw, 17)),  # new version
        seed(0),  # duplicate of a stored capture
        other("older-l2", 10),  # new article
        other("older-l2", 10),  # duplicate of a capture of this batch
        seed(300, b"", status=304, headers={"ETag": '"e2"'}),  # not modified
        seed(330, b"captcha", status=429),  # failed: blocked
        other("older-l2", 60, status=None, fetch_error="timeout 30 s"),  # failed: fetch error
        other("not-found", 20),  # failed: no article
        seed(60, edited(raw)),  # late: older than the current version's last capture
        seed(360, chrome_changed(edited(raw, 17), 4)),  # unchanged, after the rebuild
        # Requested as one article, the page is another: failed, no version (issue 16 #5).
        FetchedPage(
            url=photo_url,
            status=200,
            headers={"Content-Type": "text/html; charset=utf-8"},
            body=photo_raw,
            fetched_at=T0 + timedelta(minutes=30),
            article_id=older_id,
        ),
        other("older-l2", 90, status=200),  # unchanged (another article than the seed)
        fetched(chrome_changed(older_raw, 5), older_url, T0 + timedelta(minutes=100)),
    ]


def picture(session: Session) -> dict[str, Any]:
    """Every column of every row ingest writes; row ids replaced by what they stand for."""
    captures = {c.capture_id: c for c in session.scalars(select(Capture))}

    def capture_key(capture_id: int | None) -> tuple[Any, ...] | None:
        if capture_id is None:
            return None
        c = captures[capture_id]
        return (c.url, c.fetched_at, c.body_hash)

    def columns(obj: Any, *skip: str) -> dict[str, Any]:
        return {
            column.key: getattr(obj, column.key)
            for column in obj.__table__.columns
            if column.key not in skip
        }

    versions = []
    for v in session.scalars(select(Version).order_by(Version.article_id, Version.version_no)):
        row = columns(v, "version_id", "first_capture_id", "last_capture_id")
        row["first_capture"] = capture_key(v.first_capture_id)
        row["last_capture"] = capture_key(v.last_capture_id)
        versions.append(row)
    runs = [
        columns(run, "crawl_run_id", "started_at", "finished_at")
        for run in session.scalars(select(CrawlRun).order_by(CrawlRun.crawl_run_id))
    ]
    return {
        "captures": sorted(
            (columns(c, "capture_id", "crawl_run_id") for c in captures.values()), key=repr
        ),
        "bodies": [columns(b) for b in session.scalars(select(Body).order_by(Body.body_hash))],
        "articles": [
            columns(a) for a in session.scalars(select(Article).order_by(Article.article_id))
        ],
        "versions": versions,
        "runs": runs,
    }

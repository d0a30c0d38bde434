"""Read path of one article's evidence: its captures, one capture, which ids the archive holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Article, Capture

CAPTURES_SHOWN = 200


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """One fetch as the viewer lists it: when, what came back, what ingest made of it."""

    capture_id: int
    url: str
    article_id: str | None
    fetched_at: datetime
    status: int | None
    outcome: str
    content_type: str | None
    body_hash: str | None
    fetch_error: str | None
    parse_error: str | None
    missing_fields: str | None
    crawl_run_id: int | None


_COLUMNS = (
    Capture.capture_id,
    Capture.url,
    Capture.article_id,
    Capture.fetched_at,
    Capture.status,
    Capture.outcome,
    Capture.content_type,
    Capture.body_hash,
    Capture.fetch_error,
    Capture.parse_error,
    Capture.missing_fields,
    Capture.crawl_run_id,
)


def captures_of(
    session: Session, article_id: str, limit: int = CAPTURES_SHOWN
) -> list[CaptureSummary]:
    """The article's latest `limit` captures, oldest first."""
    rows = session.execute(
        select(*_COLUMNS)
        .where(Capture.article_id == article_id)
        .order_by(Capture.fetched_at.desc(), Capture.capture_id.desc())
        .limit(limit)
    ).all()
    return [CaptureSummary(*row) for row in reversed(rows)]


def capture(session: Session, capture_id: int) -> CaptureSummary | None:
    row = session.execute(select(*_COLUMNS).where(Capture.capture_id == capture_id)).first()
    return None if row is None else CaptureSummary(*row)


def archived_ids(session: Session, article_ids: Iterable[str]) -> set[str]:
    """Those of `article_ids` the archive holds an article for."""
    wanted = sorted(set(article_ids))
    found: set[str] = set()
    # Chunks keep under SQLite's bound-parameter limit on a page of many links.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(session.scalars(select(Article.article_id).where(Article.article_id.in_(chunk))))
    return found

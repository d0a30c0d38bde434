"""Read path of crawl health: runs over time with their counts, and the captures that failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import OUTCOME_FAILED, Capture, CrawlRun

RUNS_SHOWN = 60
FAILURES_SHOWN = 50
# Failures are looked for in the last runs only: the captures of one run are found by index,
# while "every failure ever, newest first" would scan the table when failures are rare.
FAILURE_RUNS = 10


@dataclass(frozen=True, slots=True)
class RunSummary:
    crawl_run_id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    new_articles: int
    new_versions: int
    unchanged: int
    not_modified: int
    failed: int
    duplicates: int
    missing_fields: int
    deleted: int
    restored: int
    touched: int
    note: str | None


def recent_runs(session: Session, limit: int = RUNS_SHOWN) -> list[RunSummary]:
    """The last `limit` crawl and import runs, oldest first."""
    rows = session.execute(
        select(
            CrawlRun.crawl_run_id,
            CrawlRun.kind,
            CrawlRun.started_at,
            CrawlRun.finished_at,
            CrawlRun.outcome,
            CrawlRun.new_article_count,
            CrawlRun.new_version_count,
            CrawlRun.unchanged_count,
            CrawlRun.not_modified_count,
            CrawlRun.failed_count,
            CrawlRun.duplicate_count,
            CrawlRun.missing_field_count,
            CrawlRun.deleted_count,
            CrawlRun.restored_count,
            CrawlRun.touched_count,
            CrawlRun.note,
        )
        .order_by(CrawlRun.crawl_run_id.desc())
        .limit(limit)
    ).all()
    return [RunSummary(*row) for row in reversed(rows)]


@dataclass(frozen=True, slots=True)
class Failure:
    capture_id: int
    crawl_run_id: int | None
    url: str
    article_id: str | None
    fetched_at: datetime
    status: int | None
    fetch_error: str | None
    parse_error: str | None
    missing_fields: str | None


def failures(
    session: Session, runs: int = FAILURE_RUNS, limit: int = FAILURES_SHOWN
) -> list[Failure]:
    """Captures of the last `runs` runs that failed, did not parse or lack a field; newest first."""
    run_ids = list(
        session.scalars(
            select(CrawlRun.crawl_run_id).order_by(CrawlRun.crawl_run_id.desc()).limit(runs)
        )
    )
    if not run_ids:
        return []
    rows = session.execute(
        select(
            Capture.capture_id,
            Capture.crawl_run_id,
            Capture.url,
            Capture.article_id,
            Capture.fetched_at,
            Capture.status,
            Capture.fetch_error,
            Capture.parse_error,
            Capture.missing_fields,
        )
        .where(
            Capture.crawl_run_id.in_(run_ids),
            or_(
                Capture.outcome == OUTCOME_FAILED,
                Capture.parse_error.is_not(None),
                func.coalesce(Capture.missing_fields, "") != "",
            ),
        )
        .order_by(Capture.fetched_at.desc(), Capture.capture_id.desc())
        .limit(limit)
    ).all()
    return [Failure(*row) for row in rows]

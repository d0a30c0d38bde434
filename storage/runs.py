"""Crawl runs: open one, close it with its counts taken from its captures."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    EVENT_DELETED,
    EVENT_RESTORED,
    EVENT_TOUCHED,
    OUTCOME_DUPLICATE,
    OUTCOME_FAILED,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
    Capture,
    CrawlRun,
    Event,
)

_COUNT_COLUMNS = {
    OUTCOME_NEW_ARTICLE: CrawlRun.new_article_count,
    OUTCOME_NEW_VERSION: CrawlRun.new_version_count,
    OUTCOME_UNCHANGED: CrawlRun.unchanged_count,
    OUTCOME_NOT_MODIFIED: CrawlRun.not_modified_count,
    OUTCOME_FAILED: CrawlRun.failed_count,
    OUTCOME_DUPLICATE: CrawlRun.duplicate_count,
}
# The events a run counts (the others are its captures' outcomes already).
_EVENT_COUNT_COLUMNS = {
    EVENT_DELETED: CrawlRun.deleted_count,
    EVENT_RESTORED: CrawlRun.restored_count,
    EVENT_TOUCHED: CrawlRun.touched_count,
}


def run_event_counts(session: Session, crawl_run_id: int) -> dict[str, int]:
    """The run's deleted, restored and touched events (each kind present, zero or not)."""
    rows = session.execute(
        select(Event.kind, func.count())
        .where(Event.crawl_run_id == crawl_run_id, Event.kind.in_(list(_EVENT_COUNT_COLUMNS)))
        .group_by(Event.kind)
    )
    found = dict(rows.all())
    return {kind: found.get(kind, 0) for kind in _EVENT_COUNT_COLUMNS}


def _fill_counts(session: Session, run: CrawlRun) -> None:
    """Set a run's counts from its captures: what was really kept, whoever ingested it."""
    rows = session.execute(
        select(
            Capture.outcome,
            func.count(),
            func.count(Capture.missing_fields),
        )
        .where(Capture.crawl_run_id == run.crawl_run_id)
        .group_by(Capture.outcome)
    ).all()
    by_outcome = {outcome: count for outcome, count, _ in rows}
    for outcome, column in _COUNT_COLUMNS.items():
        if outcome != OUTCOME_DUPLICATE:
            setattr(run, column.key, by_outcome.get(outcome, 0))
    run.missing_field_count = sum(missing for _, _, missing in rows)
    for kind, count in run_event_counts(session, run.crawl_run_id).items():
        setattr(run, _EVENT_COUNT_COLUMNS[kind].key, count)



def start_run(session: Session, *, kind: str = "crawl", note: str | None = None) -> int:
    """Open a crawl run (committed) and return its id for the captures it makes."""
    run = CrawlRun(kind=kind, started_at=datetime.now(UTC), outcome="running", note=note)
    for column in (*_COUNT_COLUMNS.values(), *_EVENT_COUNT_COLUMNS.values()):
        setattr(run, column.key, 0)
    run.missing_field_count = 0
    session.add(run)
    session.commit()
    return run.crawl_run_id


def finish_run(
    session: Session, crawl_run_id: int, *, outcome: str = "finished", note: str | None = None
) -> CrawlRun:
    """Close a crawl run (committed), with its counts taken from its captures.

    Until then a running run shows only its duplicate count.
    """
    run = session.get(CrawlRun, crawl_run_id, populate_existing=True)
    if run is None:
        raise KeyError(f"no crawl run {crawl_run_id}")
    _fill_counts(session, run)
    run.finished_at = datetime.now(UTC)
    run.outcome = outcome
    if note is not None:
        run.note = note
    session.commit()
    return run


# Values of CrawlRun.notify_state: the run's events wait for a webhook, or were delivered.
NOTIFY_PENDING = "pending"
NOTIFY_DELIVERED = "delivered"


def pending_notifications(session: Session, crawl_run_id: int) -> list[int]:
    """Mark the run's events as waiting for the webhook (committed); every run whose events
    wait, this one included, oldest first: a failed delivery goes with the next one."""
    run = session.get(CrawlRun, crawl_run_id)
    if run is None:
        raise KeyError(f"no crawl run {crawl_run_id}")
    run.notify_state = NOTIFY_PENDING
    session.commit()
    return list(
        session.scalars(
            select(CrawlRun.crawl_run_id)
            .where(CrawlRun.notify_state == NOTIFY_PENDING)
            .order_by(CrawlRun.crawl_run_id)
        )
    )


def mark_notified(session: Session, crawl_run_ids: list[int]) -> None:
    """The runs' events were delivered (committed)."""
    for run in session.scalars(select(CrawlRun).where(CrawlRun.crawl_run_id.in_(crawl_run_ids))):
        run.notify_state = NOTIFY_DELIVERED
    session.commit()

"""A crawl run's bookkeeping: open and close its crawl_runs row, judge it, say it in one line.

Used by `newsarchive crawl` (crawler.crawl_run), plain `scrapy crawl` (the pipeline), scale-out
workers and rounds alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.drift import DRIFT_EXIT_CODE, DriftReport, check_drift
from crawler.writer_process import MAX_BATCH
from storage.models import Capture, CrawlRun
from storage.runs import finish_run, run_event_counts, start_run

FAILED_EXIT_CODE = 1
OUTCOMES = ("new_article", "new_version", "unchanged", "not_modified", "failed", "duplicate")
# Events a summary names when there are any (deleted, restored, touched).
EVENT_COUNTS = ("deleted", "restored", "touched")
# The crawl_runs kind of a scale-out round (crawler.scaleout.rounds); a crawl's is "crawl".
ROUND_KIND = "round"

# Pages in a row the archive could not store (disk full, database down or refusing writes):
# past a batch's worth the crawl stops, rather than fetch the rest of the site only to lose
# every page (each would be fetched again by the next run anyway).
STORE_FAILURES_TO_STOP = MAX_BATCH
# The finish reason of a crawl so stopped (judge_run words it).
ARCHIVE_FAILING = "archive_failing"
_OUTCOME_STAT = "newsarchive/outcome/"
# The stats of discovery pages read (crawler/spiders): a run that reads none of them failed.
DISCOVERY_READS = ("feeds_read", "sitemaps_read", "list_pages_read")


def counts_text(
    counts: dict[str, int], seconds: float, events: dict[str, int] | None = None
) -> str:
    """The fetches of a run by ingest outcome, in words, and its deletions, restorations and
    touches when there are any: the body of every summary line."""
    c = counts
    happened = "".join(
        f", {count} {kind}" for kind in EVENT_COUNTS if (count := (events or {}).get(kind))
    )
    return (
        f"{c.get('new_article', 0)} new articles, {c.get('new_version', 0)} new versions, "
        f"{c.get('unchanged', 0)} unchanged, "
        f"{c.get('not_modified', 0)} not modified, {c.get('failed', 0)} failed{happened} "
        f"({sum(c.values())} fetches in {seconds:.1f} s)"
    )


def outcome_counts(stats: dict[str, Any]) -> dict[str, int]:
    """The pages stored by ingest outcome, as counted in a crawl's Scrapy stats."""
    return {
        key[len(_OUTCOME_STAT):]: value for key, value in stats.items()
        if key.startswith(_OUTCOME_STAT)
    }


@dataclass
class PublisherResult:
    """One publisher's part of a run that crawled several: its judgement, its captures, its
    drift check."""

    name: str
    outcome: str
    note: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    drift: DriftReport | None = None

    def text(self) -> str:
        c = self.counts
        text = (
            f"{self.name} {sum(c.values())} fetched, {c.get('new_article', 0)} new,"
            f" {c.get('new_version', 0)} new versions, {c.get('failed', 0)} failed"
        )
        return text if self.outcome == "finished" else f"{text} ({self.outcome})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "fetched": sum(self.counts.values()),
            **{outcome: self.counts.get(outcome, 0) for outcome in OUTCOMES},
            "note": self.note,
            "drift": _drift_dict(self.drift),
        }


def _drift_dict(drift: DriftReport | None) -> dict[str, Any] | None:
    return None if drift is None else {
        "share": round(drift.share, 4),
        "pages": drift.pages,
        "recent_median": drift.recent_median,
        "is_drift": drift.is_drift,
    }


@dataclass
class CrawlSummary:
    crawl_run_id: int
    outcome: str  # finished / failed / interrupted
    counts: dict[str, int] = field(default_factory=dict)  # captures of the run by ingest outcome
    seconds: float = 0.0
    note: str | None = None
    drift: DriftReport | None = None
    events: dict[str, int] = field(default_factory=dict)  # deleted / restored / touched
    notify_note: str | None = None  # how the webhook delivery went, when one was asked
    # Each publisher's part, by name (every run of `newsarchive crawl`; none for others).
    publishers: dict[str, PublisherResult] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.outcome != "finished":
            return FAILED_EXIT_CODE
        if self.drift is not None and self.drift.is_drift:
            return DRIFT_EXIT_CODE
        return 0

    def line(self) -> str:
        text = (
            f"crawl run {self.crawl_run_id} {self.outcome}: "
            f"{counts_text(self.counts, self.seconds, self.events)}"
        )
        # One publisher's run says it all above; several are told apart.
        parts = [p.text() for p in self.publishers.values()] if len(self.publishers) > 1 else []
        each = ", ".join(parts)
        return "; ".join(filter(None, [text, each, self.note, self.notify_note]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "crawl_run_id": self.crawl_run_id,
            "outcome": self.outcome,
            **{outcome: self.counts.get(outcome, 0) for outcome in OUTCOMES},
            **{kind: self.events.get(kind, 0) for kind in EVENT_COUNTS},
            "seconds": round(self.seconds, 3),
            "note": self.note,
            "drift": _drift_dict(self.drift),
            "publishers": {name: part.to_dict() for name, part in self.publishers.items()},
            "notify": self.notify_note,
            "exit_code": self.exit_code,
        }


@dataclass
class WorkerSummary:
    worker_id: str
    finish_reason: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dropped: int = 0  # queue entries that were not requests of ours

    def line(self) -> str:
        return (
            f"worker {self.worker_id} stopped ({self.finish_reason}): "
            f"{counts_text(self.counts, self.seconds)}; "
            f"{self.dropped} bad queue entries dropped"
        )


def begin_run(session: Session) -> int:
    """Mark crawl runs left 'running' (their process died) as interrupted, open a new one.

    Only called under the run lock, so no other crawl can be running on this database.
    """
    stale = session.scalars(
        select(CrawlRun.crawl_run_id).where(
            CrawlRun.kind == "crawl", CrawlRun.outcome == "running"
        )
    ).all()
    for crawl_run_id in stale:
        finish_run(session, crawl_run_id, outcome="interrupted")
    return start_run(session)


def run_counts(
    session: Session, crawl_run_id: int, publisher: str | None = None
) -> dict[str, int]:
    """The run's captures (of `publisher`) by ingest outcome, read back from the archive (what
    was really kept)."""
    query = select(Capture.outcome, func.count()).where(Capture.crawl_run_id == crawl_run_id)
    if publisher is not None:
        query = query.where(Capture.publisher == publisher)
    rows = session.execute(query.group_by(Capture.outcome))
    return {outcome: count for outcome, count in rows}


def end_run(
    session: Session, crawl_run_id: int, outcome: str, note: str | None, seconds: float,
    judged: dict[str, tuple[str, str | None]] | None = None,
) -> CrawlSummary:
    """Close the run's crawl_runs row with its counts; check drift when it finished. With
    `judged` (each crawled publisher's outcome and note), the summary tells each one's captures
    and drift apart: one publisher's redesign drifts the run however many pages the others
    gave."""
    counts = run_counts(session, crawl_run_id)
    summary = CrawlSummary(crawl_run_id, outcome, counts, seconds, note)
    summary.events = run_event_counts(session, crawl_run_id)
    judged = judged or {}
    overall = check_drift(session, crawl_run_id) if outcome == "finished" else None
    for name, (part_outcome, part_note) in judged.items():
        counts_of = run_counts(session, crawl_run_id, name)
        part = PublisherResult(name, part_outcome, part_note, counts_of)
        if overall is not None:
            several = len(judged) > 1
            part.drift = check_drift(session, crawl_run_id, name) if several else overall
        summary.publishers[name] = part
    if overall is not None:
        drifting = [p.drift for p in summary.publishers.values() if p.drift and p.drift.is_drift]
        summary.drift = drifting[0] if drifting else overall
        messages = [drift.message() for drift in drifting] or (
            [summary.drift.message()] if summary.drift.is_drift else []
        )
        if messages:
            summary.note = "; ".join(filter(None, [note, *messages]))
    finish_run(session, crawl_run_id, outcome=outcome, note=summary.note)
    return summary


def judge_run(stats: dict[str, Any], base_url: str | None = None) -> tuple[str, str | None]:
    """The run's outcome and why, from Scrapy's stats at the end of the crawl."""
    reason = stats.get("finish_reason")
    if reason == "shutdown":
        return "interrupted", "stopped by a signal before the end"
    if reason is None:
        # Scrapy stopped without closing the spider: a second Ctrl-C or signal forces that.
        return "interrupted", "stopped at once by a second signal"
    if reason == ARCHIVE_FAILING:
        return "failed", (
            f"stopped: {STORE_FAILURES_TO_STOP} pages in a row could not be stored"
            " (disk full? database down?); see the log"
        )
    if reason != "finished":
        return "failed", f"crawl ended early: {reason}"
    if stats.get("newsarchive/ingest_errors"):
        return "failed", f"{stats['newsarchive/ingest_errors']} page(s) could not be stored"
    refused = stats.get("newsarchive/robots_refused", 0)
    site = urlsplit(base_url).netloc if base_url else "the site"
    # A sitemap read is discovery as a feed is: with the feeds down, it alone finds the articles.
    discovered = any(stats.get(f"newsarchive/{read}") for read in DISCOVERY_READS)
    if refused and not _article_fetches(stats):
        if not discovered:
            return "failed", (
                f"robots.txt of {site} forbids every page we asked for:"
                f" {refused} requests refused"
            )
        if stats.get("newsarchive/robots_refused_articles"):
            return "failed", (
                f"robots.txt of {site} forbids every article page we asked for:"
                f" {refused} requests refused"
            )
    if not discovered:
        return "failed", "no feed, sitemap or list page could be read (site down or blocking us?)"
    if refused:
        return "finished", f"robots.txt of {site} refused {refused} of our requests"
    return "finished", None


def judge_publishers(
    judged: dict[str, tuple[str, str | None]],
) -> tuple[str, str | None]:
    """The run's outcome and note from each publisher's (judge_run): interrupted if any was,
    else failed if any failed, else finished; each note named by its publisher when several
    were crawled (a site down fails the run, saying whose)."""
    outcomes = {outcome for outcome, _note in judged.values()}
    outcome = next(
        (o for o in ("interrupted", "failed") if o in outcomes), "finished"
    ) if judged else "failed"
    if len(judged) == 1:
        return outcome, next(iter(judged.values()))[1]
    notes = [f"{name}: {note}" for name, (_o, note) in judged.items() if note]
    return outcome, "; ".join(notes) or None


def _article_fetches(stats: dict[str, Any]) -> int:
    """Article fetches that reached the archive (stored or not), whatever became of them."""
    return stats.get("newsarchive/ingest_errors", 0) + sum(outcome_counts(stats).values())

"""One crawl run in this process: lock, crawl_runs row, Scrapy, summary line, drift check."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.drift import DRIFT_EXIT_CODE, DriftReport, check_drift
from crawler.pipelines import ARCHIVE_FAILING, STORE_FAILURES_TO_STOP
from crawler.runlock import LOCKED_EXIT_CODE, RunLockBusy, run_lock
from crawler.spiders.newsis import NewsisSpider, normalize_base_url
from crawler.writer_process import close_unclosed
from storage.db import check_sqlite_file, make_session_factory, open_archive
from storage.ingest import pages as archive
from storage.models import Capture, CrawlRun

__all__ = ["DRIFT_EXIT_CODE", "LOCKED_EXIT_CODE", "RunLockBusy", "run_crawl"]

FAILED_EXIT_CODE = 1
OUTCOMES = ("new_article", "new_version", "unchanged", "not_modified", "failed", "duplicate")

# Politeness off, for tests and benchmarks against a local site only (`newsarchive crawl --fast`).
FAST_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_TIMEOUT": 10,
    "NEWSARCHIVE_RETRY_AFTER_DEFAULT": 0.5,
    "NEWSARCHIVE_RETRY_AFTER_MAX": 2.0,
}


@dataclass
class CrawlSummary:
    crawl_run_id: int
    outcome: str  # finished / failed / interrupted
    counts: dict[str, int] = field(default_factory=dict)  # captures of the run by ingest outcome
    seconds: float = 0.0
    note: str | None = None
    drift: DriftReport | None = None

    @property
    def exit_code(self) -> int:
        if self.outcome != "finished":
            return FAILED_EXIT_CODE
        if self.drift is not None and self.drift.is_drift:
            return DRIFT_EXIT_CODE
        return 0

    def line(self) -> str:
        c = self.counts
        text = (
            f"crawl run {self.crawl_run_id} {self.outcome}: "
            f"{c.get('new_article', 0)} new articles, {c.get('new_version', 0)} new versions, "
            f"{c.get('unchanged', 0)} unchanged, "
            f"{c.get('not_modified', 0)} not modified, {c.get('failed', 0)} failed "
            f"({sum(c.values())} fetches in {self.seconds:.1f} s)"
        )
        return f"{text}; {self.note}" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "crawl_run_id": self.crawl_run_id,
            "outcome": self.outcome,
            **{outcome: self.counts.get(outcome, 0) for outcome in OUTCOMES},
            "seconds": round(self.seconds, 3),
            "note": self.note,
            "drift": None if self.drift is None else {
                "share": round(self.drift.share, 4),
                "pages": self.drift.pages,
                "recent_median": self.drift.recent_median,
                "is_drift": self.drift.is_drift,
            },
            "exit_code": self.exit_code,
        }


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
        archive.finish_run(session, crawl_run_id, outcome="interrupted")
    return archive.start_run(session)


def run_counts(session: Session, crawl_run_id: int) -> dict[str, int]:
    """The run's captures by ingest outcome, read back from the archive (what was really kept)."""
    rows = session.execute(
        select(Capture.outcome, func.count())
        .where(Capture.crawl_run_id == crawl_run_id)
        .group_by(Capture.outcome)
    )
    return {outcome: count for outcome, count in rows}


def end_run(
    session: Session, crawl_run_id: int, outcome: str, note: str | None, seconds: float
) -> CrawlSummary:
    """Close the run's crawl_runs row with its counts; check drift when it finished."""
    counts = run_counts(session, crawl_run_id)
    summary = CrawlSummary(crawl_run_id, outcome, counts, seconds, note)
    if outcome == "finished":
        summary.drift = check_drift(session, crawl_run_id)
        if summary.drift.is_drift:
            summary.note = "; ".join(filter(None, [note, summary.drift.message()]))
    archive.finish_run(session, crawl_run_id, outcome=outcome, note=summary.note)
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
    discovered = stats.get("newsarchive/feeds_read") or stats.get("newsarchive/list_pages_read")
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
        return "failed", "no feed or list page could be read (site down or blocking us?)"
    if refused:
        return "finished", f"robots.txt of {site} refused {refused} of our requests"
    return "finished", None


def _article_fetches(stats: dict[str, Any]) -> int:
    """Article fetches that reached the archive (stored or not), whatever became of them."""
    return stats.get("newsarchive/ingest_errors", 0) + sum(
        count for name, count in stats.items() if name.startswith("newsarchive/outcome/")
    )


def crawl_settings(
    db_url: str, base_url: str | None = None, fast: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if fast:
        settings.update(FAST_SETTINGS, priority="cmdline")
    if base_url:
        settings.set("NEWSARCHIVE_BASE_URL", normalize_base_url(base_url), priority="cmdline")
    settings.set("NEWSARCHIVE_DB", db_url, priority="cmdline")
    settings.update(overrides or {}, priority="cmdline")
    limit_to_one_site(settings)
    return settings


def limit_to_one_site(settings: Settings) -> None:
    """Make the per-site request limit the whole limit: a crawl fetches from one site.

    Set as the total too, because Scrapy 2.19 lets a burst past the per-site one: with no
    download delay the downloader starts every request queued for a site before the first counts
    as in flight (measured: 16 in flight with CONCURRENT_REQUESTS_PER_DOMAIN=1 under --fast).
    """
    per_site = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    if 0 < per_site < settings.getint("CONCURRENT_REQUESTS"):
        settings.set("CONCURRENT_REQUESTS", per_site, priority="cmdline")


def run_crawl(
    db_url: str,
    *,
    base_url: str | None = None,
    since: date | None = None,
    revisit: str = "due",
    fast: bool = False,
    overrides: dict[str, Any] | None = None,
    on_fetch: Callable[[], None] | None = None,
) -> CrawlSummary:
    """Crawl once under the run lock and return the summary (RunLockBusy if a crawl is running).
    `on_fetch` is called after every response received (a progress counter).

    Each page is stored by its own ingest transaction as it arrives, so a run killed at any
    point leaves whole captures behind; the next run marks it interrupted and goes on.
    """
    settings = crawl_settings(db_url, base_url, fast, overrides)
    # Before the lock, whose file sits beside the archive: a read-only archive is named as such.
    check_sqlite_file(db_url, for_writing=True)
    with run_lock(db_url):
        engine = open_archive(db_url, for_writing=True)
        sessions = make_session_factory(engine)
        try:
            with sessions() as session:
                crawl_run_id = begin_run(session)
            settings.set("NEWSARCHIVE_CRAWL_RUN_ID", crawl_run_id, priority="cmdline")
            started = time.monotonic()
            process = CrawlerProcess(settings)
            crawler = process.create_crawler(NewsisSpider)
            if on_fetch is not None:
                crawler.signals.connect(
                    lambda **_: on_fetch(), signal=signals.response_received, weak=False
                )
            process.crawl(crawler, since=since, revisit=revisit)
            try:
                process.start()
                outcome, note = judge_run(
                    crawler.stats.get_stats(), settings["NEWSARCHIVE_BASE_URL"]
                )
            except Exception as error:  # the crawl itself broke: record it, then say so
                outcome, note = "failed", f"crawl raised {type(error).__name__}: {error}"
            finally:
                close_unclosed()
            with sessions() as session:
                return end_run(session, crawl_run_id, outcome, note, time.monotonic() - started)
        finally:
            engine.dispose()

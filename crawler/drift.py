"""Layout drift check: a jump in pages that fail to parse or lack a field, against recent runs."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from sqlalchemy import case, func, not_, or_, select
from sqlalchemy.orm import Session

from storage.models import Capture, CrawlRun

# sysexits.h EX_DATAERR: the pages came back, but not in the shape the parser knows.
DRIFT_EXIT_CODE = 65

RECENT_RUNS = 5
# A jump is a share above both this many times the recent median and this floor: one odd page
# in a small run must not page anyone, a redesign (most pages failing at once) must.
JUMP_FACTOR = 3.0
SHARE_FLOOR = 0.20
# Runs that fetched fewer pages than this say nothing about the share either way.
MIN_PAGES = 5
# Parser reasons (crawler/publishers/newsis/parser.py) that say the body came incomplete, not
# in a new shape: a transfer cut short with no Content-Length reaches the parser as a 200 all
# the same.
INCOMPLETE_BODY_REASONS = ("truncated page", "empty page")


@dataclass(frozen=True, slots=True)
class DriftReport:
    share: float  # this run's share of 200 pages that failed to parse or lack a field
    pages: int  # 200 pages fetched this run
    recent_median: float | None  # median share of the recent runs; None when there are none
    is_drift: bool
    publisher: str | None = None  # whose pages, when the run crawled several

    def message(self) -> str:
        baseline = "no earlier runs" if self.recent_median is None else (
            f"median {self.recent_median:.0%} over recent runs"
        )
        whose = f"{self.publisher}: " if self.publisher else ""
        return (
            f"{whose}layout drift? {self.share:.0%} of {self.pages} pages failed to parse or"
            f" lack a field ({baseline}); check the parser against a fresh page"
        )


def degraded_shares(
    session: Session, run_ids: list[int], publisher: str | None = None
) -> dict[int, tuple[int, int]]:
    """Per run: (pages (of `publisher`) that came back 200 and were meant for the parser, of
    them degraded).

    Degraded = the parser refused the page, or it parsed without a field nearly every article
    has (storage fills captures.missing_fields). Only pages fetched whole count: captcha pages,
    fetch failures of every kind (timeouts, resets, 5xx, 429) and bodies cut short are the
    network or the site blocking us, not the site changing.
    """
    if not run_ids:
        return {}
    degraded = case(
        (Capture.parse_error.is_not(None), 1),
        (func.coalesce(Capture.missing_fields, "") != "", 1),
        else_=0,
    )
    query = select(Capture.crawl_run_id, func.count(), func.sum(degraded))
    if publisher is not None:
        query = query.where(Capture.publisher == publisher)
    rows = session.execute(
        query
        .where(
            Capture.crawl_run_id.in_(run_ids),
            Capture.status == 200,
            Capture.fetch_error.is_(None),
            or_(
                Capture.parse_error.is_(None),
                not_(or_(*(Capture.parse_error.startswith(reason)
                           for reason in INCOMPLETE_BODY_REASONS))),
            ),
        )
        .group_by(Capture.crawl_run_id)
    )
    return {run_id: (pages, int(bad or 0)) for run_id, pages, bad in rows}


def check_drift(
    session: Session, crawl_run_id: int, publisher: str | None = None
) -> DriftReport:
    """Compare this run's degraded share with the median of the last finished crawl runs: of
    one publisher's pages when given (one site's redesign must not hide among another's)."""
    recent_ids = list(
        session.scalars(
            select(CrawlRun.crawl_run_id)
            .where(
                CrawlRun.crawl_run_id < crawl_run_id,
                CrawlRun.kind == "crawl",
                CrawlRun.outcome == "finished",
            )
            .order_by(CrawlRun.crawl_run_id.desc())
            .limit(RECENT_RUNS)
        )
    )
    counts = degraded_shares(session, [crawl_run_id, *recent_ids], publisher)
    pages, bad = counts.get(crawl_run_id, (0, 0))
    share = bad / pages if pages else 0.0
    recent = [
        recent_bad / recent_pages
        for recent_pages, recent_bad in (counts.get(run_id, (0, 0)) for run_id in recent_ids)
        if recent_pages >= MIN_PAGES
    ]
    recent_median = median(recent) if recent else None
    is_drift = (
        pages >= MIN_PAGES
        and share > SHARE_FLOOR
        and (recent_median is None or share > JUMP_FACTOR * recent_median)
    )
    return DriftReport(
        share=share, pages=pages, recent_median=recent_median, is_drift=is_drift,
        publisher=publisher,
    )

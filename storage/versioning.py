"""The versioning rule: a capture and its article's state before it -> the capture's outcome,
the version it makes or extends, the article row after it and the article's next check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from storage.models import (
    OUTCOME_FAILED,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
)
from storage.parsing import record_columns
from storage.record import ArticleRecord

# (age of the article below which this interval applies, interval between checks).
# Newsis edits cluster in the first hours ([속보] → [종합]); after a week edits are rare enough
# that revisiting every article forever would cost more than it finds.
REVISIT_POLICY: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(hours=3), timedelta(minutes=15)),
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=7), timedelta(days=1)),
)


class Outcome(StrEnum):
    """What a capture is to its article (the stored `captures.outcome`, but OUT_OF_ORDER)."""

    NEW_ARTICLE = OUTCOME_NEW_ARTICLE
    NEW_VERSION = OUTCOME_NEW_VERSION
    UNCHANGED = OUTCOME_UNCHANGED
    NOT_MODIFIED = OUTCOME_NOT_MODIFIED
    FAILED = OUTCOME_FAILED
    # Never stored: a capture older than the current version's last sighting (a late import).
    # Only re-deriving the article from all its captures in time order files it.
    OUT_OF_ORDER = "out_of_order"

    @property
    def adds_version(self) -> bool:
        return self in (Outcome.NEW_ARTICLE, Outcome.NEW_VERSION)

    @property
    def in_version(self) -> bool:
        """The capture belongs to a version (it shows that version's content)."""
        return self in (Outcome.NEW_ARTICLE, Outcome.NEW_VERSION, Outcome.UNCHANGED)


@dataclass(frozen=True, slots=True)
class Sighting:
    """What the rule needs of one capture. `record` is its parse (None for a 304 and a failure);
    `content_hash` is the record's, computed once by the caller."""

    fetched_at: datetime
    status: int | None
    fetch_error: str | None
    etag: str | None
    last_modified: str | None
    record: ArticleRecord | None
    content_hash: str | None


@dataclass(frozen=True, slots=True)
class Current:
    """An article's current version, as far as the rule needs it."""

    version_no: int
    content_hash: str
    last_seen_at: datetime


def outcome_of(sighting: Sighting, current: Current | None) -> Outcome:
    """The capture's outcome given the article's current version (None: no article yet).

    NEW_ARTICLE and NEW_VERSION add a version; UNCHANGED and NOT_MODIFIED (when there is a
    current version) move its last sighting to this capture; FAILED touches only the article.
    """
    if sighting.fetch_error or (sighting.record is None and sighting.status != 304):
        return Outcome.FAILED
    if current is not None and sighting.fetched_at < current.last_seen_at:
        return Outcome.OUT_OF_ORDER
    if sighting.record is None:
        return Outcome.NOT_MODIFIED
    if current is None:
        return Outcome.NEW_ARTICLE
    if sighting.content_hash == current.content_hash:
        return Outcome.UNCHANGED
    return Outcome.NEW_VERSION


def new_version_columns(sighting: Sighting, version_no: int) -> dict[str, Any]:
    """The columns of the version a capture adds, but the ids of the captures bounding it."""
    assert sighting.record is not None and sighting.content_hash is not None
    return {
        "version_no": version_no,
        "first_seen_at": sighting.fetched_at,
        "last_seen_at": sighting.fetched_at,
        **record_columns(sighting.record, sighting.content_hash),
    }


def article_after(
    row: dict[str, Any] | None, sighting: Sighting, outcome: Outcome
) -> dict[str, Any] | None:
    """The article row after a capture (a new dict; None while the article has no version).

    A NEW_ARTICLE makes the row, at its record's (canonical) URL. A capture older than the last
    check changes only the version number it adds; a later one moves the check times, takes the
    page's section and publication time, and its validators when the page was there (a 304 or
    a record).
    """
    if outcome is Outcome.NEW_ARTICLE:
        assert sighting.record is not None
        row = {
            "article_id": sighting.record.article_id,
            "url": sighting.record.url,
            "first_seen_at": sighting.fetched_at,
            "last_checked_at": sighting.fetched_at,
            "current_version_no": 0,
            "etag": None,
            "last_modified": None,
        }
    if row is None:
        return None
    row = dict(row)
    if outcome.adds_version:
        row["current_version_no"] += 1
        row["last_changed_at"] = sighting.fetched_at
    if sighting.fetched_at < row["last_checked_at"]:
        return row
    row["last_checked_at"] = sighting.fetched_at
    if sighting.record is not None:
        row["section"] = sighting.record.section
        row["published_at"] = sighting.record.published_at
    if sighting.record is not None or outcome is Outcome.NOT_MODIFIED:
        row["etag"] = sighting.etag or row["etag"]
        row["last_modified"] = sighting.last_modified or row["last_modified"]
    row["next_check_at"] = next_check_at(row["published_at"], row["last_checked_at"])
    return row


def next_check_at(published_at: datetime | None, checked_at: datetime) -> datetime | None:
    """The time of the next revisit after a check at `checked_at`, or None: never again.

    With no known publication time the article is treated as just published.
    """
    age = checked_at - (published_at or checked_at)
    for max_age, interval in REVISIT_POLICY:
        if age < max_age:
            return checked_at + interval
    return None

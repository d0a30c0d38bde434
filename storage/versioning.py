"""The versioning rule: a capture and its article's state before it -> the capture's outcome,
its events, the version it makes or extends, the article row after it and its next check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from storage.diff import changed_fields
from storage.models import (
    EVENT_DELETED,
    EVENT_NEW_ARTICLE,
    EVENT_NEW_VERSION,
    EVENT_RESTORED,
    EVENT_TOUCHED,
    OUTCOME_DELETED,
    OUTCOME_FAILED,
    OUTCOME_GONE,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
)
from storage.parsing import record_columns
from storage.record import ArticleRecord

# (age of the article below which this interval applies, interval between checks); past the
# last age, LATE_INTERVAL. Newsis edits cluster in the first hours ([속보] → [종합]); later edits
# and takedowns are rarer but never stop, so revisits thin out instead of ending:
#   age < 3 h: every 15 min; < 1 day: hourly; < 7 days: daily; < 30 days: weekly;
#   < 1 year: every 30 days; older: every 90 days. Deleted articles keep the same schedule.
REVISIT_POLICY: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(hours=3), timedelta(minutes=15)),
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=7), timedelta(days=1)),
    (timedelta(days=30), timedelta(days=7)),
    (timedelta(days=365), timedelta(days=30)),
)
LATE_INTERVAL = timedelta(days=90)


class Outcome(StrEnum):
    """What a capture is to its article (the stored `captures.outcome`, but OUT_OF_ORDER)."""

    NEW_ARTICLE = OUTCOME_NEW_ARTICLE
    NEW_VERSION = OUTCOME_NEW_VERSION
    UNCHANGED = OUTCOME_UNCHANGED
    NOT_MODIFIED = OUTCOME_NOT_MODIFIED
    FAILED = OUTCOME_FAILED
    DELETED = OUTCOME_DELETED
    GONE = OUTCOME_GONE
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
    gone: bool = False  # the publisher's word that the article is taken down


@dataclass(frozen=True, slots=True)
class Current:
    """An article's current version and state, as far as the rule needs it (current_of)."""

    version_no: int
    content_hash: str
    last_seen_at: datetime
    modified_at: datetime | None = None  # the 수정 time its page showed last
    deleted_at: datetime | None = None  # set while it is taken down
    last_checked_at: datetime | None = None


def current_of(
    row: dict[str, Any], version_no: int, content_hash: str, last_seen_at: datetime
) -> Current:
    """The rule's view of an article row and its current version's number, hash, last sighting."""
    return Current(
        version_no,
        content_hash,
        last_seen_at,
        row.get("modified_at"),
        row.get("deleted_at"),
        row.get("last_checked_at"),
    )


def outcome_of(sighting: Sighting, current: Current | None) -> Outcome:
    """The capture's outcome given the article's current version (None: no article yet).

    NEW_ARTICLE and NEW_VERSION add a version; UNCHANGED and NOT_MODIFIED (when there is a
    current version) move its last sighting to this capture; FAILED touches only the article
    (a failed fetch never deletes); a gone capture DELETES a live article, and is only GONE for
    one already deleted. A capture older than what the article's state rests on is OUT_OF_ORDER:
    its last sighting, or while deleted its last check.
    """
    if sighting.fetch_error or (
        sighting.record is None and sighting.status != 304 and not sighting.gone
    ):
        return Outcome.FAILED
    if current is not None:
        settled = current.last_seen_at
        if current.deleted_at is not None:
            settled = max(settled, current.last_checked_at or current.deleted_at)
        if sighting.fetched_at < settled:
            return Outcome.OUT_OF_ORDER
    if sighting.gone:
        live = current is not None and current.deleted_at is None
        return Outcome.DELETED if live else Outcome.GONE
    if sighting.record is None:
        return Outcome.NOT_MODIFIED
    if current is None:
        return Outcome.NEW_ARTICLE
    if sighting.content_hash == current.content_hash:
        return Outcome.UNCHANGED
    return Outcome.NEW_VERSION


def events_of(sighting: Sighting, current: Current | None, outcome: Outcome) -> tuple[str, ...]:
    """The kinds of event a capture makes, in order (storage.models.EVENT_*).

    A deleted article seen again (a page or a 304) is restored, and edited too when its content
    differs; a touch is a page whose content is unchanged but whose 수정 time moved.
    """
    if outcome is Outcome.NEW_ARTICLE:
        return (EVENT_NEW_ARTICLE,)
    if outcome is Outcome.DELETED:
        return (EVENT_DELETED,)
    if current is None or outcome not in (
        Outcome.NEW_VERSION, Outcome.UNCHANGED, Outcome.NOT_MODIFIED
    ):
        return ()
    kinds: list[str] = [EVENT_RESTORED] if current.deleted_at is not None else []
    if outcome is Outcome.NEW_VERSION:
        kinds.append(EVENT_NEW_VERSION)
    elif outcome is Outcome.UNCHANGED and _touched(sighting, current):
        kinds.append(EVENT_TOUCHED)
    return tuple(kinds)


def _touched(sighting: Sighting, current: Current) -> bool:
    assert sighting.record is not None
    modified = sighting.record.modified_at
    return modified is not None and modified != current.modified_at


def event_rows(
    kinds: tuple[str, ...],
    sighting: Sighting,
    version_no: int | None,
    fields: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The events table's columns (but article, capture and run) of a capture's events;
    `version_no` the article's current version after it, `fields` what a new version changed."""
    return [
        {
            "kind": kind,
            "at": sighting.fetched_at,
            "version_no": version_no,
            "fields": ",".join(fields or ()) if kind == EVENT_NEW_VERSION else None,
        }
        for kind in kinds
    ]


def version_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The record fields that differ between two versions' columns (a new_version's fields)."""
    return changed_fields(old, new)


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

    A NEW_ARTICLE makes the row, at its record's (canonical) URL. A DELETED capture marks it
    deleted, any capture of its content (a page, a 304) live again; a page moves the 수정 time
    last seen. A capture older than the last check changes nothing more but the version number
    it adds; a later one moves the check times, takes the page's section and publication time,
    and its validators when the page was there (a 304 or a record).
    """
    if outcome is Outcome.NEW_ARTICLE:
        assert sighting.record is not None
        row = {
            "article_id": sighting.record.article_id,
            # The capture's publisher: a record of another one's is no record (parse_capture).
            "publisher": sighting.record.source,
            "url": sighting.record.url,
            "first_seen_at": sighting.fetched_at,
            "last_checked_at": sighting.fetched_at,
            "current_version_no": 0,
            "etag": None,
            "last_modified": None,
            "deleted_at": None,
        }
    if row is None:
        return None
    row = dict(row)
    if outcome.adds_version:
        row["current_version_no"] += 1
        row["last_changed_at"] = sighting.fetched_at
    if outcome is Outcome.DELETED:
        row["deleted_at"] = sighting.fetched_at
    elif outcome.in_version or outcome is Outcome.NOT_MODIFIED:
        row["deleted_at"] = None
    if sighting.record is not None and outcome.in_version:
        row["modified_at"] = sighting.record.modified_at
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


def next_check_at(published_at: datetime | None, checked_at: datetime) -> datetime:
    """The time of the next revisit after a check at `checked_at`: never None, revisits thin
    out (REVISIT_POLICY, then every LATE_INTERVAL), deleted articles alike.

    With no known publication time the article is treated as just published.
    """
    age = checked_at - (published_at or checked_at)
    for max_age, interval in REVISIT_POLICY:
        if age < max_age:
            return checked_at + interval
    return checked_at + LATE_INTERVAL

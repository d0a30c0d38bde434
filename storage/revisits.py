"""When to look at an article again: often while it is fresh, then less often, then never."""

from __future__ import annotations

from datetime import datetime, timedelta

# (age of the article below which this interval applies, interval between checks).
# Newsis edits cluster in the first hours ([속보] → [종합]); after a week edits are rare enough
# that revisiting every article forever would cost more than it finds.
REVISIT_POLICY: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(hours=3), timedelta(minutes=15)),
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=7), timedelta(days=1)),
)


def next_check_at(published_at: datetime | None, checked_at: datetime) -> datetime | None:
    """The time of the next revisit after a check at `checked_at`, or None: never again.

    With no known publication time the article is treated as just published.
    """
    age = checked_at - (published_at or checked_at)
    for max_age, interval in REVISIT_POLICY:
        if age < max_age:
            return checked_at + interval
    return None

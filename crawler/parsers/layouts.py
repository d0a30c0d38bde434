"""A publisher's layout versions: the one whose layout was live on a capture's day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Protocol, TypeVar

from crawler.parsers.text import KST


class Layout(Protocol):
    FIRST_DAY: date


L = TypeVar("L", bound=Layout)


def layout_for(parsers: Sequence[L], fetched_at: datetime | None) -> L:
    """The parser version for a capture time (KST day), `parsers` oldest first; None means now,
    i.e. the latest."""
    if fetched_at is None:
        return parsers[-1]
    if fetched_at.utcoffset() is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)  # FetchedPage times are UTC
    day = fetched_at.astimezone(KST).date()
    chosen = parsers[0]
    for parser in parsers:
        if parser.FIRST_DAY <= day:
            chosen = parser
    return chosen

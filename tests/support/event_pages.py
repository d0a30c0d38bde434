"""Fetched pages of the seed article that make events: takedowns and touches."""

from __future__ import annotations

from datetime import timedelta

from storage.fetched_page import FetchedPage
from tests.support.storage_fixtures import SEED_URL, T0, seed_v1

ERROR_PAGE = "<html><body><p>삭제된 기사입니다</p></body></html>".encode()


def page(body: bytes, hours: float, *, status: int | None = 200, **more) -> FetchedPage:
    return FetchedPage(
        url=SEED_URL,
        status=status,
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=body,
        fetched_at=T0 + timedelta(hours=hours),
        **more,
    )


def gone(hours: float, status: int) -> FetchedPage:
    """A takedown as the crawler's publisher rules report it: 404, 410, or the error page
    a redirect led to."""
    return page(ERROR_PAGE, hours, status=status, gone=True)


def touched_v1() -> bytes:
    """The seed page with a new 수정 time and nothing else changed."""
    raw = seed_v1()
    moved = raw.replace("수정 2024.11.15 06:34:16".encode(), "수정 2024.11.15 09:00:00".encode())
    assert moved != raw
    return moved

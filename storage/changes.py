"""The changes feed: every event of the archive in time order (new articles, new versions,
deletions, restorations, touches), for `newsarchive changes`, webhooks and history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import EVENT_KINDS, EVENT_NEW_VERSION, Article, Event

KINDS = EVENT_KINDS


@dataclass(frozen=True, slots=True)
class Change:
    """One event. `version` is the version it made (new_article, new_version) or the article's
    current one after it; `fields` the record fields a new_version changed (None otherwise)."""

    event_id: int
    at: datetime
    article_id: str
    url: str
    kind: str
    version: int | None
    fields: list[str] | None
    capture_id: int
    crawl_run_id: int | None

    @property
    def key(self) -> str:
        """Stable across reparses (a capture makes each kind once): a webhook's idempotency key."""
        return f"{self.capture_id}/{self.kind}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `changes --json`: exactly these six keys."""
        return {
            "at": self.at.isoformat(),
            "article_id": self.article_id,
            "url": self.url,
            "kind": self.kind,
            "version": self.version,
            "fields": self.fields,
        }


def list_changes(
    session: Session,
    *,
    since: datetime | None = None,
    kinds: Iterable[str] | None = None,
    crawl_run_ids: Iterable[int] | None = None,
    article_id: str | None = None,
    batch_size: int = 1000,
) -> Iterator[Change]:
    """Events at or after `since` (all of them by default), oldest first (ties: storage order),
    optionally only some kinds, some crawl runs' or one article's. Streamed."""
    statement = (
        select(
            Event.event_id,
            Event.at,
            Event.article_id,
            Article.url,
            Event.kind,
            Event.version_no,
            Event.fields,
            Event.capture_id,
            Event.crawl_run_id,
        )
        .join(Article, Article.article_id == Event.article_id)
        .order_by(Event.at, Event.event_id)
    )
    if since is not None:
        statement = statement.where(Event.at >= since)
    if kinds is not None:
        statement = statement.where(Event.kind.in_(list(kinds)))
    if crawl_run_ids is not None:
        statement = statement.where(Event.crawl_run_id.in_(list(crawl_run_ids)))
    if article_id is not None:
        statement = statement.where(Event.article_id == article_id)
    for row in session.execute(statement.execution_options(yield_per=batch_size)):
        fields = None
        if row.kind == EVENT_NEW_VERSION:
            fields = row.fields.split(",") if row.fields else []
        yield Change(
            row.event_id,
            row.at,
            row.article_id,
            row.url,
            row.kind,
            row.version_no,
            fields,
            row.capture_id,
            row.crawl_run_id,
        )

"""The changes feed: every event of the archive in time order (new articles, new versions,
deletions, restorations, touches), for `newsarchive changes`, webhooks, history and the viewer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from storage.models import EVENT_KINDS, EVENT_NEW_VERSION, Article, Event, Version

KINDS = EVENT_KINDS


@dataclass(frozen=True, slots=True)
class Change:
    """One event. `version` is the version it made (new_article, new_version) or the article's
    current one after it; `fields` the record fields a new_version changed (None otherwise);
    `headline` and `section` those of that version, when the listing reads them."""

    event_id: int
    at: datetime
    article_id: str
    url: str
    kind: str
    version: int | None
    fields: list[str] | None
    capture_id: int
    crawl_run_id: int | None
    headline: str | None = None
    section: str | None = None

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


_COLUMNS = (
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


def _change(row: Any) -> Change:
    fields = None
    if row.kind == EVENT_NEW_VERSION:
        fields = row.fields.split(",") if row.fields else []
    return Change(*row[:6], fields, *row[7:])


def _narrowed(
    statement: Select, kinds: Iterable[str] | None, since, until,
    publishers: Iterable[str] | None = None,
) -> Select:
    """`statement` (events joined to their articles) narrowed to some kinds, a time span, some
    publishers' articles."""
    if publishers is not None:
        statement = statement.where(Article.publisher.in_(list(publishers)))
    if kinds is not None:
        kinds = list(kinds)
        # One kind as an equality: both databases then read (kind, at, event_id) in order.
        statement = statement.where(
            Event.kind == kinds[0] if len(kinds) == 1 else Event.kind.in_(kinds)
        )
    if since is not None:
        statement = statement.where(Event.at >= since)
    if until is not None:
        statement = statement.where(Event.at < until)
    return statement


def list_changes(
    session: Session,
    *,
    since: datetime | None = None,
    kinds: Iterable[str] | None = None,
    crawl_run_ids: Iterable[int] | None = None,
    article_id: str | None = None,
    publishers: Iterable[str] | None = None,
    batch_size: int = 1000,
) -> Iterator[Change]:
    """Events at or after `since` (all of them by default), oldest first (ties: storage order),
    optionally only some kinds, some crawl runs', one article's or some publishers'. Streamed."""
    statement = _narrowed(
        select(*_COLUMNS)
        .join(Article, Article.article_id == Event.article_id)
        .order_by(Event.at, Event.event_id),
        kinds, since, None, publishers,
    )
    if crawl_run_ids is not None:
        statement = statement.where(Event.crawl_run_id.in_(list(crawl_run_ids)))
    if article_id is not None:
        statement = statement.where(Event.article_id == article_id)
    for row in session.execute(statement.execution_options(yield_per=batch_size)):
        yield _change(row)


def latest_changes(
    session: Session,
    *,
    kinds: Iterable[str] | None = None,
    publishers: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[Change]:
    """The latest `limit` events, newest first, each with the headline and section of the
    version it names; optionally only some kinds, some publishers', since (inclusive) and until
    (exclusive) a time."""
    statement = _narrowed(
        select(*_COLUMNS, Version.headline, Version.section)
        .join(Article, Article.article_id == Event.article_id)
        .outerjoin(
            Version,
            and_(Version.article_id == Event.article_id, Version.version_no == Event.version_no),
        )
        .order_by(Event.at.desc(), Event.event_id.desc())
        .limit(limit),
        kinds, since, until, publishers,
    )
    return [_change(row) for row in session.execute(statement)]

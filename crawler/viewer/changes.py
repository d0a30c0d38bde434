"""The latest changes, derived from the versions table until storage.changes (issue 18) lands.

A version numbered 1 is a new article, any later one a new version; deletions, restorations and
touches need the events of issue 18.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Article, Version
from storage.record import SOURCE

KIND_NEW_ARTICLE = "new_article"
KIND_NEW_VERSION = "new_version"
KINDS = (KIND_NEW_ARTICLE, KIND_NEW_VERSION)
# Every article of the archive comes from this one publisher: the schema has no other yet.
PUBLISHERS = (SOURCE,)


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    article_id: str
    url: str
    kind: str
    version: int
    headline: str
    section: str | None
    fields: list[str] = field(default_factory=list)


def list_changes(
    session: Session,
    *,
    kinds: tuple[str, ...] = KINDS,
    publisher: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[Change]:
    """The latest changes, newest first; `until` is exclusive."""
    if publisher is not None and publisher not in PUBLISHERS:
        return []
    statement = (
        select(
            Version.first_seen_at,
            Version.article_id,
            Article.url,
            Version.version_no,
            Version.headline,
            Version.section,
        )
        .join(Article, Article.article_id == Version.article_id)
        .order_by(Version.first_seen_at.desc(), Version.version_id.desc())
        .limit(limit)
    )
    if KIND_NEW_ARTICLE not in kinds:
        statement = statement.where(Version.version_no > 1)
    if KIND_NEW_VERSION not in kinds:
        statement = statement.where(Version.version_no == 1)
    if since is not None:
        statement = statement.where(Version.first_seen_at >= since)
    if until is not None:
        statement = statement.where(Version.first_seen_at < until)
    return [
        Change(
            at=at,
            article_id=article_id,
            url=url,
            kind=KIND_NEW_ARTICLE if version_no == 1 else KIND_NEW_VERSION,
            version=version_no,
            headline=headline,
            section=section,
        )
        for at, article_id, url, version_no, headline, section in session.execute(statement)
    ]


def change_dict(change: Change, kst_iso: Any) -> dict[str, Any]:
    return {
        "at": kst_iso(change.at),
        "article_id": change.article_id,
        "url": change.url,
        "kind": change.kind,
        "version": change.version,
        "headline": change.headline,
        "section": change.section,
        "fields": change.fields,
    }

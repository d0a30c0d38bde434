"""Re-deriving an article's versions from its stored captures (late imports and reparse)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.urls import canonical_article_url
from storage.bodies import load_bodies
from storage.models import (
    OUTCOME_FAILED,
    OUTCOME_NEW_ARTICLE,
    OUTCOME_NEW_VERSION,
    OUTCOME_NOT_MODIFIED,
    OUTCOME_UNCHANGED,
    Article,
    Capture,
    Version,
)
from storage.parsing import (
    ParseOutcome,
    Parser,
    missing_fields,
    parse_capture,
    parse_page,
    record_columns,
)
from storage.schedule import next_check_at


@dataclass(slots=True)
class CaptureFacts:
    """What a rebuild needs of one stored capture."""

    capture_id: int
    url: str
    fetched_at: datetime
    status: int | None
    fetch_error: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    body: bytes | None = None


@dataclass(slots=True)
class Chain:
    """An article's versions and its captures' parse fields, derived from captures in time order."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    captures: dict[int, dict[str, Any]] = field(default_factory=dict)
    article: dict[str, Any] | None = None


def derive_chain(
    article_id: str, facts: Sequence[CaptureFacts], parsed: Sequence[ParseOutcome]
) -> Chain:
    """Replay ingest over captures sorted by time: the versions they make, with their times."""
    chain = Chain()
    article: dict[str, Any] | None = None
    for fact, outcome in zip(facts, parsed, strict=True):
        record = outcome.record
        capture_fields = {
            "parse_error": outcome.error,
            "parser_version": record.parser_version if record else None,
            "content_hash": record.content_hash if record else None,
            "missing_fields": (",".join(missing_fields(record)) or None) if record else None,
            "outcome": OUTCOME_FAILED,
        }
        if record is not None and record.article_id != article_id:
            # The page turned out to be another article: it belongs to that one's chain.
            capture_fields["outcome"] = OUTCOME_FAILED
            capture_fields["parse_error"] = f"page is article {record.article_id}"
        elif fact.fetch_error:
            pass
        elif record is None and fact.status == 304:
            capture_fields["outcome"] = OUTCOME_NOT_MODIFIED
            if chain.versions:
                chain.versions[-1]["last_capture_id"] = fact.capture_id
                chain.versions[-1]["last_seen_at"] = fact.fetched_at
        elif record is not None:
            last = chain.versions[-1] if chain.versions else None
            if last is not None and last["content_hash"] == record.content_hash:
                last["last_capture_id"] = fact.capture_id
                last["last_seen_at"] = fact.fetched_at
                capture_fields["outcome"] = OUTCOME_UNCHANGED
            else:
                chain.versions.append(
                    {
                        "version_no": len(chain.versions) + 1,
                        "first_capture_id": fact.capture_id,
                        "last_capture_id": fact.capture_id,
                        "first_seen_at": fact.fetched_at,
                        "last_seen_at": fact.fetched_at,
                        **record_columns(record),
                    }
                )
                capture_fields["outcome"] = (
                    OUTCOME_NEW_ARTICLE if last is None else OUTCOME_NEW_VERSION
                )
        chain.captures[fact.capture_id] = capture_fields
        if chain.versions and article is None:
            article = {
                "article_id": article_id,
                "url": canonical_article_url(article_id),
                "first_seen_at": fact.fetched_at,
                "last_checked_at": fact.fetched_at,
                "etag": None,
                "last_modified": None,
            }
        if article is not None:
            article["last_checked_at"] = max(article["last_checked_at"], fact.fetched_at)
            if record is not None:
                article["section"] = record.section
                article["published_at"] = record.published_at
            if capture_fields["outcome"] != OUTCOME_FAILED:
                article["etag"] = fact.etag or article["etag"]
                article["last_modified"] = fact.last_modified or article["last_modified"]
    if article is not None:
        current = chain.versions[-1]
        article["current_version_no"] = current["version_no"]
        article["last_changed_at"] = current["first_seen_at"]
        article["next_check_at"] = next_check_at(
            article["published_at"], article["last_checked_at"]
        )
        chain.article = article
    return chain


def load_capture_facts(
    session: Session, article_id: str, *, with_bodies: bool
) -> list[CaptureFacts]:
    """The article's captures in capture-time order (ties: storage order)."""
    rows = session.execute(
        select(
            Capture.capture_id,
            Capture.url,
            Capture.fetched_at,
            Capture.status,
            Capture.fetch_error,
            Capture.etag,
            Capture.last_modified,
            Capture.body_hash,
        )
        .where(Capture.article_id == article_id)
        .order_by(Capture.fetched_at, Capture.capture_id)
    ).all()
    facts = [CaptureFacts(*row) for row in rows]
    if with_bodies:
        attach_bodies(session, facts)
    return facts


def attach_bodies(session: Session, facts: Iterable[CaptureFacts]) -> None:
    """Set each capture's raw body, all read at once (a body shared by captures read once)."""
    facts = list(facts)
    bodies = load_bodies(session, {f.body_hash for f in facts if f.body_hash is not None})
    for fact in facts:
        if fact.body_hash is not None:
            fact.body = bodies[fact.body_hash]


def parse_facts(parser: Parser, facts: Iterable[CaptureFacts]) -> list[ParseOutcome]:
    return [
        parse_capture(
            parser,
            url=fact.url,
            fetched_at=fact.fetched_at,
            status=fact.status,
            body=fact.body,
            fetch_error=fact.fetch_error,
        )
        for fact in facts
    ]


def rebuild_article(session: Session, article_id: str, *, parser: Parser = parse_page) -> bool:
    """Re-derive one article's versions from its stored captures (no commit). True if it changed."""
    facts = load_capture_facts(session, article_id, with_bodies=True)
    return apply_chain(
        session, article_id, derive_chain(article_id, facts, parse_facts(parser, facts))
    )


def apply_chain(session: Session, article_id: str, chain: Chain) -> bool:
    """Make the stored versions, captures and article equal `chain`, writing only what differs.

    Version rows are updated in place by number, so a rebuild that finds the same history
    writes nothing, and a parser fix keeps every version's capture times.
    """
    changed = False
    session.flush()
    captures = {
        capture.capture_id: capture
        for capture in session.scalars(select(Capture).where(Capture.article_id == article_id))
    }
    for capture_id, wanted in chain.captures.items():
        changed |= _assign(captures[capture_id], wanted)

    stored = {
        version.version_no: version
        for version in session.scalars(select(Version).where(Version.article_id == article_id))
    }
    article = session.get(Article, article_id, with_for_update=True)
    if chain.article is None:
        for version in stored.values():
            session.delete(version)
            changed = True
        if article is not None:
            session.flush()
            session.delete(article)
            changed = True
        session.flush()
        return changed

    if article is None:
        article = Article(**chain.article)
        session.add(article)
        changed = True
    else:
        changed |= _assign(article, chain.article)
    wanted_numbers = {version["version_no"] for version in chain.versions}
    for number, version in stored.items():
        if number not in wanted_numbers:
            session.delete(version)
            changed = True
    session.flush()
    for wanted in chain.versions:
        version = stored.get(wanted["version_no"])
        if version is None:
            session.add(Version(article_id=article_id, **wanted))
            changed = True
        else:
            changed |= _assign(version, wanted)
    session.flush()
    return changed


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed

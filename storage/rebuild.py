"""Re-deriving an article's versions from its stored captures (late imports and reparse)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.bodies.store import load_bodies
from storage.chain_writes import IDS_CHUNK, Chain, load_stored, plan_changes, write_changes
from storage.models import Article, Capture
from storage.parsing import (
    ParseOutcome,
    Parser,
    missing_fields,
    parse_capture,
    publisher_clash,
    wrong_article,
)
from storage.record import ArticleRecord
from storage.versioning import (
    Outcome,
    Sighting,
    article_after,
    current_of,
    event_rows,
    events_of,
    new_version_columns,
    outcome_of,
    version_fields,
)


@dataclass(slots=True)
class CaptureFacts:
    """What a rebuild needs of one stored capture."""

    capture_id: int
    url: str
    publisher: str
    fetched_at: datetime
    status: int | None
    fetch_error: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    is_gone: bool = False
    crawl_run_id: int | None = None
    body: bytes | None = None


def derive_chain(
    article_id: str,
    facts: Sequence[CaptureFacts],
    parsed: Sequence[ParseOutcome],
    publisher: str | None = None,
) -> Chain:
    """Replay the versioning rule over captures sorted by time: the versions they make.

    `publisher` is the article's: the stored row's (None: no row), else its first parsed
    capture's. A capture of another publisher, once the article is there (or with a record,
    which never makes the article another's), is failed and leaves the article as it was, as
    ingest does (article ids are unique across publishers).
    """
    chain = Chain()
    last_record: ArticleRecord | None = None
    last_hash: str | None = None
    for fact, parse in zip(facts, parsed, strict=True):
        if publisher is None and parse.record is not None:
            publisher = fact.publisher
        held = chain.article is not None or parse.record is not None
        if held and fact.publisher != publisher:
            assert publisher is not None
            error = publisher_clash(article_id, publisher, fact.publisher)
            chain.captures[fact.capture_id] = _parse_columns(None, error, None, Outcome.FAILED)
            continue
        parsed, error = parse.record, parse.error
        # Computed once: each access hashes the record's JSON form. An article's captures mostly
        # parse to equal records, and comparing two costs a fifteenth of hashing one.
        if parsed is not None and parsed != last_record:
            last_record, last_hash = parsed, parsed.content_hash
        content_hash = last_hash if parsed is not None else None
        record = parsed
        if parsed is not None and parsed.article_id != article_id:
            # The page turned out to be another article: it belongs to that one's chain (its
            # parse fields are kept on the capture).
            record, error = None, wrong_article(parsed.article_id, article_id)
        sighting = Sighting(
            fact.fetched_at,
            fact.status,
            fact.fetch_error,
            fact.etag,
            fact.last_modified,
            record,
            content_hash if record is not None else None,
            bool(fact.is_gone),
        )
        outcome = _replay(chain, fact, sighting)
        chain.captures[fact.capture_id] = _parse_columns(parsed, error, content_hash, outcome)
    return chain


def _replay(chain: Chain, fact: CaptureFacts, sighting: Sighting) -> Outcome:
    """The versioning rule for one capture, applied to the chain: its outcome."""
    last = chain.versions[-1] if chain.versions else None
    current = None
    if last is not None and chain.article is not None:
        current = current_of(
            chain.article, last["version_no"], last["content_hash"], last["last_seen_at"]
        )
    outcome = outcome_of(sighting, current)
    assert outcome is not Outcome.OUT_OF_ORDER, "captures are replayed in time order"
    kinds = events_of(sighting, current, outcome)
    fields = None
    if outcome.adds_version:
        version = new_version_columns(sighting, len(chain.versions) + 1)
        if last is not None:
            fields = version_fields(last, version)
        chain.versions.append(
            {"first_capture_id": fact.capture_id, "last_capture_id": fact.capture_id, **version}
        )
    elif last is not None and outcome in (Outcome.UNCHANGED, Outcome.NOT_MODIFIED):
        last["last_capture_id"] = fact.capture_id
        last["last_seen_at"] = fact.fetched_at
    chain.article = article_after(chain.article, sighting, outcome)
    _add_events(chain, fact, event_rows(kinds, sighting, 0, fields))
    return outcome


def _parse_columns(
    parsed: ArticleRecord | None, error: str | None, content_hash: str | None, outcome: Outcome
) -> dict[str, Any]:
    """A capture's parse columns in a chain."""
    return {
        "parse_error": error,
        "parser_version": parsed.parser_version if parsed else None,
        "content_hash": content_hash,
        "missing_fields": (",".join(missing_fields(parsed)) or None) if parsed else None,
        "outcome": outcome.value,
    }


def _add_events(chain: Chain, fact: CaptureFacts, events: list[dict]) -> None:
    """A capture's events, concerning the article's current version after it."""
    for event in events:
        assert chain.article is not None
        event["version_no"] = chain.article["current_version_no"]
        event["crawl_run_id"] = fact.crawl_run_id
        chain.events[(fact.capture_id, event.pop("kind"))] = event


# The capture columns CaptureFacts is made of, in its field order.
_FACT_COLUMNS = (
    Capture.capture_id,
    Capture.url,
    Capture.publisher,
    Capture.fetched_at,
    Capture.status,
    Capture.fetch_error,
    Capture.etag,
    Capture.last_modified,
    Capture.body_hash,
    Capture.is_gone,
    Capture.crawl_run_id,
)


def load_capture_facts(
    session: Session, article_id: str, *, with_bodies: bool
) -> list[CaptureFacts]:
    """The article's captures in capture-time order (ties: storage order)."""
    rows = session.execute(
        select(*_FACT_COLUMNS)
        .where(Capture.article_id == article_id)
        .order_by(Capture.fetched_at, Capture.capture_id)
    ).all()
    facts = [CaptureFacts(*row) for row in rows]
    if with_bodies:
        attach_bodies(session, facts)
    return facts


def load_batch_facts(session: Session, article_ids: Sequence[str]) -> dict[str, list[CaptureFacts]]:
    """Several articles' captures, each article's in capture-time order, one query per chunk."""
    facts: dict[str, list[CaptureFacts]] = {one_id: [] for one_id in article_ids}
    for start in range(0, len(article_ids), IDS_CHUNK):
        rows = session.execute(
            select(Capture.article_id, *_FACT_COLUMNS)
            .where(Capture.article_id.in_(article_ids[start : start + IDS_CHUNK]))
            .order_by(Capture.fetched_at, Capture.capture_id)
        )
        for one_id, *values in rows:
            facts[one_id].append(CaptureFacts(*values))
    return facts


def article_publishers(session: Session, article_ids: Sequence[str]) -> dict[str, str]:
    """The publisher of each of these articles that has a row (a rebuild keeps it)."""
    found: dict[str, str] = {}
    for start in range(0, len(article_ids), IDS_CHUNK):
        chunk = article_ids[start : start + IDS_CHUNK]
        found.update(
            session.execute(
                select(Article.article_id, Article.publisher).where(Article.article_id.in_(chunk))
            ).all()
        )
    return found


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
            publisher=fact.publisher,
        )
        for fact in facts
    ]


def rebuild_article(session: Session, article_id: str, *, parser: Parser) -> bool:
    """Re-derive one article's versions from its stored captures (no commit). True if it changed."""
    facts = load_capture_facts(session, article_id, with_bodies=True)
    publisher = article_publishers(session, [article_id]).get(article_id)
    chain = derive_chain(article_id, facts, parse_facts(parser, facts), publisher)
    return apply_chain(session, article_id, chain)


def apply_chain(session: Session, article_id: str, chain: Chain) -> bool:
    """Make the stored versions, captures and article equal `chain`, writing only what differs.

    Version rows are updated in place by number, so a rebuild that finds the same history
    writes nothing, and a parser fix keeps every version's capture times. The rows are written
    with Core statements, so the session's objects are expired when anything changed.
    """
    session.flush()
    stored = load_stored(session, [article_id], for_update=True)[article_id]
    changes = plan_changes(article_id, stored, chain)
    if not changes:
        return False
    write_changes(session, [changes])
    session.expire_all()
    return True

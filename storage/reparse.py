"""Reprocessing: re-derive every article's versions from its captures with the current parser."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.db import make_session_factory
from storage.models import Capture
from storage.parsing import ParseOutcome, Parser, parse_page
from storage.rebuild import (
    CaptureFacts,
    apply_chain,
    attach_bodies,
    derive_chain,
    load_capture_facts,
    parse_facts,
    rebuild_article,
)


@dataclass(slots=True)
class ReparseSummary:
    articles: int = 0
    changed: int = 0
    unchanged: int = 0


def articles_to_reparse(
    session: Session, *, since: datetime | None = None, article_id: str | None = None
) -> list[str]:
    """Ids of the articles with captures (fetched at or after `since`), in id order."""
    query = select(Capture.article_id).where(Capture.article_id.is_not(None)).distinct()
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    if article_id is not None:
        query = query.where(Capture.article_id == article_id)
    return sorted(session.scalars(query))


# Articles per reparse job: one read and one write transaction each, big enough to amortise
# the commit and the pickling, small enough to keep the workers evenly busy.
REPARSE_BATCH = 8

# A reparse worker's own sessions on the archive (set by _start_worker in each process).
_worker_sessions: Any = None


def _start_worker(db_url: str) -> None:
    """Reparse worker start: its own engine; bodies are read and versions written here."""
    from storage.db import is_sqlite, make_engine

    global _worker_sessions
    _worker_sessions = make_session_factory(make_engine(db_url, immediate=is_sqlite(db_url)))


def _worker_job(parser: Parser, article_ids: list[str]) -> list[tuple[str, bool]]:
    return reparse_batch(_worker_sessions, parser, article_ids)


def reparse_batch(sessions: Any, parser: Parser, article_ids: list[str]) -> list[tuple[str, bool]]:
    """Load, parse and rewrite some articles: one read, then one write transaction (committed).

    Parsing happens outside the write transaction, so on SQLite other writers (a crawl, other
    workers) wait only for the writes. An article that gained a capture between the read and
    the write is rebuilt in place within the write transaction.
    """
    loaded: list[tuple[str, list[CaptureFacts], list[ParseOutcome]]] = []
    with sessions() as session:
        for one_id in article_ids:
            loaded.append((one_id, load_capture_facts(session, one_id, with_bodies=False), []))
        attach_bodies(session, (fact for _, facts, _ in loaded for fact in facts))
    for _, facts, outcomes in loaded:
        outcomes.extend(parse_facts(parser, facts))
        for fact in facts:
            fact.body = None  # pages are large; keep only one article's at a time
    results = []
    with sessions() as session:
        for one_id, facts, outcomes in loaded:
            stored_ids = session.scalars(
                select(Capture.capture_id)
                .where(Capture.article_id == one_id)
                .order_by(Capture.fetched_at, Capture.capture_id)
            ).all()
            if list(stored_ids) == [fact.capture_id for fact in facts]:
                changed = apply_chain(session, one_id, derive_chain(one_id, facts, outcomes))
            else:
                # A crawl added a capture since the load: redo this one article in place.
                changed = rebuild_article(session, one_id, parser=parser)
            results.append((one_id, changed))
        if any(changed for _, changed in results):
            session.commit()
        else:
            session.rollback()
    return results


def reparse(
    engine: Engine,
    *,
    since: datetime | None = None,
    article_id: str | None = None,
    parser: Parser = parse_page,
    workers: int | None = None,
    on_article: Callable[[str, bool], None] | None = None,
) -> ReparseSummary:
    """Re-derive versions from stored captures with `parser`, offline, a few articles a transaction.

    Each of `workers` processes (default: every core) reads its articles' bodies on its own
    connection, parses them and writes what changed; the main process only hands out article
    ids. An article whose derived history equals the stored one is not written at all, so a
    rerun after an interruption only redoes what is left, and the same parser changes nothing.
    """
    sessions = make_session_factory(engine)
    with sessions() as session:
        article_ids = articles_to_reparse(session, since=since, article_id=article_id)
    summary = ReparseSummary()
    workers = workers if workers is not None else (os.cpu_count() or 1)
    batches = [
        article_ids[start : start + REPARSE_BATCH]
        for start in range(0, len(article_ids), REPARSE_BATCH)
    ]

    def count(results: list[tuple[str, bool]]) -> None:
        for one_id, changed in results:
            summary.articles += 1
            summary.changed += changed
            summary.unchanged += not changed
            if on_article is not None:
                on_article(one_id, changed)

    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            count(reparse_batch(sessions, parser, batch))
        return summary

    # Spawned (not forked) workers: they must not inherit the parent's database connections.
    context = multiprocessing.get_context("spawn")
    db_url = engine.url.render_as_string(hide_password=False)
    window = workers * 2  # bounded read-ahead of results
    with ProcessPoolExecutor(
        max_workers=min(workers, len(batches)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(db_url,),
    ) as pool:
        pending: deque[Future] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_worker_job, parser, batch))
                if len(pending) >= window:
                    count(pending.popleft().result())
            while pending:
                count(pending.popleft().result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return summary

"""Reprocessing: re-derive every article's versions from its captures with the current parser."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.chain_writes import Chain, load_stored, plan_changes, write_changes
from storage.db import make_engine, make_session_factory, sqlite_path
from storage.models import Capture
from storage.parsing import Parser
from storage.rebuild import (
    article_publishers,
    attach_bodies,
    derive_chain,
    load_batch_facts,
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


# Most articles per reparse job: one read and at most one write transaction each, enough to
# amortise the queries and the pickling. Jobs shrink towards the end of the run so that no
# worker is left with a long job while the others idle.
REPARSE_BATCH = 8


def reparse_batch(
    read_sessions: Any,
    write_sessions: Any,
    parser: Parser,
    article_ids: Sequence[str],
    *,
    expect_changes: bool = False,
) -> list[tuple[str, bool]]:
    """Load, parse and rewrite some articles; (article id, changed) for each, in order.

    One read transaction loads the captures, bodies and stored rows; parsing and comparing
    happen outside any transaction; only articles whose derived rows differ from the stored
    ones open a write transaction (committed), so the same parser writes nothing at all and
    other writers (a crawl, other workers) wait only for the writes. The write transaction
    reads the stored rows again and writes only what differs from them. An article that gained
    a capture between the read and the write is rebuilt in place within the write transaction.

    `expect_changes` (the last batch changed something: a new parser changes nearly every
    article) leaves the stored rows out of the read, and every article goes to the write
    transaction, whose own read decides: one read of them instead of two (~3% of a reparse
    with a new parser, bench_reparse.py). A batch that then changes nothing writes nothing.
    """
    with read_sessions() as session:
        facts = load_batch_facts(session, article_ids)
        attach_bodies(session, (fact for article in facts.values() for fact in article))
        stored = None if expect_changes else load_stored(session, article_ids)
        publishers = article_publishers(session, article_ids)
    chains: dict[str, tuple[Chain, list[int]]] = {}
    for one_id in article_ids:
        article = facts[one_id]
        chain = derive_chain(
            one_id, article, parse_facts(parser, article), publishers.get(one_id)
        )
        for fact in article:
            fact.body = None  # pages are large: drop them as soon as they are parsed
        if stored is None or plan_changes(one_id, stored[one_id], chain):
            chains[one_id] = (chain, [fact.capture_id for fact in article])
    changed: set[str] = set()
    if chains:
        with write_sessions() as session:
            # Read again under the write lock: what changed since the read wins.
            now = load_stored(session, list(chains), for_update=True)
            planned = []
            for one_id, (chain, capture_ids) in chains.items():
                if list(now[one_id].captures) == capture_ids:
                    changes = plan_changes(one_id, now[one_id], chain)
                    if changes:
                        planned.append(changes)
                        changed.add(one_id)
                # A crawl added a capture since the read: redo this one article in place.
                elif rebuild_article(session, one_id, parser=parser):
                    changed.add(one_id)
            write_changes(session, planned)
            session.commit()
    return [(one_id, one_id in changed) for one_id in article_ids]


def reparse(
    engine: Engine,
    *,
    since: datetime | None = None,
    article_id: str | None = None,
    parser: Parser,
    workers: int | None = None,
    on_article: Callable[[str, bool], None] | None = None,
) -> ReparseSummary:
    """Re-derive versions from stored captures with `parser`, offline, a few articles a transaction.

    Each of `workers` processes (default: every core) reads its articles' bodies on its own
    connection, parses them and writes what changed; the main process only hands out article
    ids. An article whose derived history equals the stored one is not written at all, so a
    rerun after an interruption only redoes what is left, and the same parser changes nothing.
    """
    db_url = engine.url.render_as_string(hide_password=False)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    summary = ReparseSummary()

    def count(results: list[tuple[str, bool]]) -> None:
        for one_id, changed in results:
            summary.articles += 1
            summary.changed += changed
            summary.unchanged += not changed
            if on_article is not None:
                on_article(one_id, changed)

    read_sessions, write_sessions, own_engines = _archive_sessions(db_url, engine)
    try:
        with read_sessions() as session:
            article_ids = articles_to_reparse(session, since=since, article_id=article_id)
        if workers <= 1 or len(article_ids) <= REPARSE_BATCH:
            changed_last = False
            for batch in _batches(article_ids, 1):
                results = reparse_batch(
                    read_sessions, write_sessions, parser, batch, expect_changes=changed_last
                )
                count(results)
                changed_last = any(changed for _, changed in results)
            return summary
    finally:
        for own_engine in own_engines:
            own_engine.dispose()

    _reparse_in_workers(engine, parser, article_ids, workers, count)
    return summary


def _reparse_in_workers(
    engine: Engine,
    parser: Parser,
    article_ids: Sequence[str],
    workers: int,
    count: Callable[[list[tuple[str, bool]]], None],
) -> None:
    """`reparse` in a pool of `workers` processes, each result handed to `count` in order."""
    db_url = engine.url.render_as_string(hide_password=False)
    # Close this process's idle connections: a forked worker must not inherit them.
    engine.dispose()
    window = workers * 2  # bounded read-ahead of results
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(worker_start_method(db_url)),
        initializer=_start_worker,
        initargs=(db_url,),
    ) as pool:
        pending: deque[Future] = deque()
        try:
            for batch in _batches(article_ids, workers):
                pending.append(pool.submit(_worker_job, parser, batch))
                if len(pending) >= window:
                    count(pending.popleft().result())
            while pending:
                count(pending.popleft().result())
        except BaseException:
            # Ctrl-C, an error: jobs not started are dropped, each worker ends the one in hand
            # (its commit is kept). A second Ctrl-C must not break off this wait: the pool's
            # manager thread would be left behind with its pipes closed, and the process hang
            # at exit waiting for workers that were never told to stop.
            with _sigint_ignored():
                pool.shutdown(wait=True, cancel_futures=True)
            raise


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT for the duration (the main thread only can set handlers; elsewhere as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _batches(article_ids: Sequence[str], workers: int) -> Iterator[Sequence[str]]:
    """Jobs of REPARSE_BATCH articles, shrinking once fewer than four rounds of them are left."""
    start = 0
    while start < len(article_ids):
        left = len(article_ids) - start
        size = max(1, min(REPARSE_BATCH, left // (workers * 4)))
        yield article_ids[start : start + size]
        start += size


# --- the worker processes ------------------------------------------------------------------------

# A reparse worker's read and write sessions on the archive (set by _start_worker in each process).
_worker_sessions: tuple[Any, Any] | None = None
# Whether this worker's last job changed an article (reparse_batch's expect_changes).
_worker_changed_last = False


def _archive_sessions(url: str, engine: Engine | None = None) -> tuple[Any, Any, list[Engine]]:
    """Read sessions, write sessions and the engines made for them (to dispose).

    On a SQLite file, reads begin a plain transaction (they never wait for a writer nor hold
    one up) and writes BEGIN IMMEDIATE (waiting their turn instead of failing when another
    writer committed since their first read). Elsewhere one engine serves both: `engine`, or
    one made (and returned to dispose).
    """
    if sqlite_path(url) is None:
        own = [] if engine is not None else [make_engine(url)]
        sessions = make_session_factory(engine if engine is not None else own[0])
        return sessions, sessions, own
    read_engine, write_engine = make_engine(url), make_engine(url, immediate=True)
    return (
        make_session_factory(read_engine),
        make_session_factory(write_engine),
        [read_engine, write_engine],
    )


def worker_start_method(db_url: str) -> str:
    """'fork' when a forked worker cannot inherit anything unsafe, else 'spawn'.

    Fork starts a worker in milliseconds, spawn imports everything again (about half a second,
    and the whole CLI when that is the main module). A forked child keeps the parent's memory
    but only the forking thread, so fork only when this process runs one thread. SQLite keeps
    its locks' bookkeeping per process and per file: a child that inherits an open connection
    to the archive would share it with its own new one and could skip a lock it does not hold
    (SQLite's "How To Corrupt" § 2.6), so fork only when no file of the archive is open here
    (checked in /proc/self/fd, Linux). The engine has been disposed, so its connections are
    closed; a PostgreSQL connection the caller still holds is left alone by the child (psycopg
    closes a connection only in the process that opened it).
    """
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return "spawn"
    path = sqlite_path(db_url)
    if path is not None:
        archive = str(path.resolve())
        archive_files = {archive + suffix for suffix in ("", "-wal", "-shm", "-journal")}
        open_files = _open_files()
        if open_files is None or open_files & archive_files:
            return "spawn"
    return "fork"


def _open_files() -> set[str] | None:
    """What this process's file descriptors point at; None when /proc cannot tell."""
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return None
    targets = set()
    for descriptor in descriptors:
        try:
            targets.add(os.readlink(f"/proc/self/fd/{descriptor}"))
        except FileNotFoundError:  # closed since the listing (the listing's own descriptor)
            continue
        except OSError:
            return None
    return targets


def _start_worker(db_url: str) -> None:
    """Reparse worker start: its own engines; bodies are read and versions written here.

    Workers ignore SIGINT: Ctrl-C reaches the terminal's whole process group, and the main
    process alone decides (reparse's shutdown: each worker finishes and commits its job). A
    worker interrupted while idle would print a traceback and break the pool.
    """
    global _worker_sessions
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    read_sessions, write_sessions, _ = _archive_sessions(db_url)
    _worker_sessions = (read_sessions, write_sessions)


def _worker_job(parser: Parser, article_ids: Sequence[str]) -> list[tuple[str, bool]]:
    global _worker_changed_last
    assert _worker_sessions is not None, "not in a reparse worker"
    results = reparse_batch(
        *_worker_sessions, parser, article_ids, expect_changes=_worker_changed_last
    )
    _worker_changed_last = any(changed for _, changed in results)
    return results

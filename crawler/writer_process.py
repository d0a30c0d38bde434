"""The crawl's writer process: parses and stores fetched pages in batches, beside Scrapy.

Parsing a page and storing it cost several times what Scrapy spends fetching it. Done in the
Scrapy process they would share its one interpreter lock with the downloader; in a process of
their own they use the machine's other core while Scrapy goes on fetching. Pages queue up while
a batch is being stored and are then stored together, one transaction per batch, so the writer
amortises commits the busier it is and adds little delay when it is idle.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from storage.fetched_page import FetchedPage

logger = logging.getLogger(__name__)

# Pages stored in one transaction at most.
MAX_BATCH = 64
# Seconds the writer goes on collecting pages for a batch once it has one, unless MAX_BATCH pages
# or the end come sooner. A batch's commit and reads cost about as much as storing several pages,
# whatever its size: a writer taking only what is waiting (3 pages a batch on average in a fast
# crawl) spent more than half its storage time on them (bench/RESULTS.md § Crawl). A page's
# commit comes at most this much later, which a crawl does not feel.
BATCH_WINDOW = 0.25
# Seconds close() waits for the writer to store what it still holds before giving up on it.
CLOSE_TIMEOUT = 600.0
# How much lower the writer's CPU priority is than the crawl's (see _writer_main).
WRITER_NICENESS = 10
# A message the writer ends on: everything sent before it is stored first.
_END = None
# What goes down the pipe for one page: its number, the page, its crawl run, its receipt.
_Page = tuple[int, FetchedPage, int | None, Any]
# Called in the writer process with the receipts of the pages a batch committed, right after the
# commit (see IngestProcess); must be picklable: it is sent to the spawned process.
AfterCommit = Callable[[list[Any]], None]


class WriterGone(RuntimeError):
    """The writer process exited before storing a page (it crashed or was killed)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What the writer did with one page: the ingest outcome, or why it could not be stored."""

    outcome: str | None
    error: str | None = None


class IngestProcess:
    """A spawned writer process that ingests the pages given to `store`, in order.

    `after_commit`, if given, runs in the writer with the receipts of the pages each batch
    committed. A scale-out worker finishes its Redis leases there: done by the crawl process
    after the writer's answer, a worker killed in between would leave a whole batch both stored
    and leased, and the batch would be fetched again by another worker.

    One thread sends pages down a pipe (pickling 100 KB pages must not hold up the reactor),
    another reads the writer's answers and settles each page's future on the event loop.
    """

    def __init__(self, db_url: str, after_commit: AfterCommit | None = None) -> None:
        self.db_url = db_url
        self._numbers = itertools.count()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Stored]]] = {}
        self._waiting_lock = threading.Lock()
        self._outbox: queue.SimpleQueue[_Page | None] = queue.SimpleQueue()
        self._gone: str | None = None
        # Spawned, not forked: the child must not inherit the reactor, sockets or connections.
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe(duplex=True)
        self._process = context.Process(
            target=_writer_main,
            args=(db_url, after_commit, child_end),
            name="newsarchive-writer",
        )
        self._process.start()
        child_end.close()
        _unclosed.add(self)
        self._sender = threading.Thread(target=self._send_loop, name="newsarchive-send")
        self._receiver = threading.Thread(target=self._receive_loop, name="newsarchive-receive")
        self._sender.start()
        self._receiver.start()

    async def store(
        self, page: FetchedPage, crawl_run_id: int | None, receipt: Any = None
    ) -> Stored:
        """Hand one page of a crawl run to the writer; settles once it is committed (or not).

        `receipt` (picklable) goes to `after_commit` once the page is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        number = next(self._numbers)
        with self._waiting_lock:
            if self._gone is not None:
                raise WriterGone(self._gone)
            self._waiting[number] = (loop, future)
        self._outbox.put((number, page, crawl_run_id, receipt))
        return await future

    @property
    def closed(self) -> bool:
        return self not in _unclosed

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Let the writer store everything handed to it, then stop it (blocking; once)."""
        if self not in _unclosed:
            return
        _unclosed.discard(self)
        self._outbox.put(_END)
        self._sender.join()
        self._process.join(timeout)
        if self._process.is_alive():
            logger.error("The writer process did not finish in %.0f s: stopping it", timeout)
            self._process.terminate()
            self._process.join()
        self._receiver.join()
        self._connection.close()

    def _send_loop(self) -> None:
        while True:
            message = self._outbox.get()
            try:
                self._connection.send(message)
            except (BrokenPipeError, EOFError, OSError):
                self._fail_waiting("the writer process is gone")
                return
            if message is _END:
                return

    def _receive_loop(self) -> None:
        while True:
            try:
                answers: list[tuple[int, Stored]] = self._connection.recv()
            except (EOFError, OSError):
                # The pipe closes when the writer exits: after the end message, or when it died.
                # Not joined here: close() is the one joiner (two threads reaping one child
                # race, and the loser sees a live process).
                self._fail_waiting("the writer process stopped")
                return
            for number, stored in answers:
                self._settle(number, stored)

    def _settle(self, number: int, stored: Stored) -> None:
        with self._waiting_lock:
            waiting = self._waiting.pop(number, None)
        if waiting is not None:
            loop, future = waiting
            _call_soon(loop, _set_result, future, stored)

    def _fail_waiting(self, reason: str) -> None:
        """The writer takes no more pages; those it was given and has not answered fail."""
        with self._waiting_lock:
            self._gone = self._gone or reason
            waiting = list(self._waiting.values())
            self._waiting.clear()
        for loop, future in waiting:
            _call_soon(loop, _set_exception, future, WriterGone(reason))


# Writers not closed yet. A crawl stopped by a second Ctrl-C ends Scrapy without closing its
# spider, so no pipeline closes its writer: close_unclosed() does, after Scrapy has returned.
_unclosed: weakref.WeakSet[IngestProcess] = weakref.WeakSet()


def close_unclosed() -> None:
    """Close every writer its pipeline left open (the writer stores what it was given)."""
    for writer in list(_unclosed):
        writer.close()


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """Run `callback` on the crawl's event loop, unless that loop has ended (Scrapy was stopped
    at once: nothing waits for the answer any more)."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # "Event loop is closed", between the test and the call too
        pass


def _set_result(future: asyncio.Future[Stored], stored: Stored) -> None:
    if not future.done():
        future.set_result(stored)


def _set_exception(future: asyncio.Future[Stored], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


# --- the writer process ------------------------------------------------------------------------


def _writer_main(db_url: str, after_commit: AfterCommit | None, connection: Any) -> None:
    # Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: the
    # crawl stops gracefully and then ends the writer through the pipe, after its last batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Fetching is the latency-bound half (timeouts, the server's pace); storing can lag: the
    # writer yields the CPU to Scrapy and catches up in its gaps, and when it lags too far the
    # items waiting for it stop Scrapy from taking more responses (SCRAPER_SLOT_MAX_ACTIVE_SIZE).
    os.nice(WRITER_NICENESS)
    from storage.db import make_session_factory, open_archive

    engine = open_archive(db_url, for_writing=True)
    sessions = make_session_factory(engine)
    inbox = _Inbox(connection)
    try:
        while True:
            batch, ended = inbox.next_batch()
            if batch:
                answers = [
                    answer
                    for same_run in _by_crawl_run(batch)
                    for answer in _store_batch(sessions, same_run, after_commit)
                ]
                try:
                    connection.send(answers)
                except (BrokenPipeError, OSError):
                    return  # the crawl process died: stop with it (its run ends interrupted)
            if ended:
                return
    finally:
        engine.dispose()


# What the writer's reading thread queues when the pipe closed (the crawl process is gone).
_PIPE_CLOSED = object()


class _Inbox:
    """The pages sent to the writer, read off the pipe by a thread of their own.

    Reading and unpickling 64 pages (~9 MB) took 0.05-0.25 s a batch, during which the writer
    stored nothing (~20% of its time in a fast crawl): the thread reads the next batch while the
    writer stores this one.
    """

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="newsarchive-read", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                self._messages.put(_PIPE_CLOSED)
                return
            self._messages.put(message)
            if message is _END:
                return

    def next_batch(self) -> tuple[list[_Page], bool]:
        """Wait for a page, then take the pages that come within BATCH_WINDOW (up to MAX_BATCH).

        Ends (True) on the end message, or when the crawl process is gone (the pipe closed): the
        pages of a dead crawl are not stored, as if their fetches had never finished.
        """
        batch: list[_Page] = []
        message = self._messages.get()
        deadline = time.monotonic() + BATCH_WINDOW
        while message is not _END:
            if message is _PIPE_CLOSED:
                return [], True
            batch.append(message)
            if len(batch) >= MAX_BATCH:
                return batch, False
            try:
                message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return batch, False
        return batch, True


def _by_crawl_run(batch: list[_Page]) -> list[list[_Page]]:
    """The batch cut where the crawl run changes (a scale-out worker's round moves on)."""
    runs: list[list[_Page]] = []
    for message in batch:
        if runs and runs[-1][0][2] == message[2]:
            runs[-1].append(message)
        else:
            runs.append([message])
    return runs


def _store_batch(
    sessions: Any, batch: list[_Page], after_commit: AfterCommit | None
) -> list[tuple[int, Stored]]:
    """Ingest pages of one crawl run in one transaction (storage's fallbacks, page by page, after
    a failure); their numbers with what became of them."""
    from crawler.archiving import ingest_in_sessions
    from storage.db import one_line
    from storage.ingest.transaction import OUTCOME_LOST

    results = ingest_in_sessions(sessions, [page for _, page, _, _ in batch], batch[0][2])
    receipts = [
        receipt
        for (_, _, _, receipt), result in zip(batch, results, strict=True)
        if receipt is not None and result.outcome != OUTCOME_LOST
    ]
    if after_commit is not None and receipts:
        try:
            after_commit(receipts)
        except Exception as error:  # the crawl process finishes them too, once it has the answer
            logger.warning("after-commit hook failed: %s", one_line(error))
    # A page the archive refused even as a failed capture is not stored: the crawl counts it as
    # a store failure (and stops after a batch's worth in a row), as when the whole batch fails.
    outcomes = [
        Stored(None, result.error) if result.outcome == OUTCOME_LOST else Stored(result.outcome)
        for result in results
    ]
    return list(zip([number for number, _, _, _ in batch], outcomes, strict=True))

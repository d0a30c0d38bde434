"""The crawl's database thread: the spider's look-ups and the run's opening and closing.

Pages are stored by the writer process (crawler/writer_process.py), not here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from scrapy.crawler import Crawler
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from storage.db import make_session_factory, open_archive, resolve_db_url
from storage.models import Article, Capture, CrawlRun

T = TypeVar("T")

# Large enough to keep the SQL short, small enough for SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class KnownArticle:
    """What the spider needs to know of an archived article to decide on, and make, a revisit."""

    article_id: str
    next_check_at: datetime | None
    etag: str | None
    last_modified: str | None
    # When it was last fetched: a sitemap <lastmod> later than this is a change not yet seen.
    last_checked_at: datetime | None = None


_KNOWN_COLUMNS = (
    Article.article_id, Article.next_check_at, Article.etag, Article.last_modified,
    Article.last_checked_at,
)


class DatabaseThread:
    """One worker thread that owns the crawl process's database sessions.

    Database calls block; on their own thread they stay off the reactor, which goes on fetching
    meanwhile, and one thread is enough for the few look-ups a crawl makes.
    """

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsarchive-db")
        self._engine: Engine | None = None
        self._sessions = None

    @classmethod
    def of(cls, crawler: Crawler) -> DatabaseThread:
        """The crawler's database thread, made on first use (the spider or the pipeline)."""
        existing = getattr(crawler, "_newsarchive_thread", None)
        if existing is None:
            existing = cls(resolve_db_url(crawler.settings.get("NEWSARCHIVE_DB")))
            crawler._newsarchive_thread = existing
        return existing

    def _session(self) -> Session:
        if self._sessions is None:
            self._engine = open_archive(self.db_url, for_writing=True)
            self._sessions = make_session_factory(self._engine)
        return self._sessions()

    def _in_session(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._session() as session:
            return work(session, *args)

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` on the database thread; the caller commits if it writes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._in_session, work, args)

    def close(self) -> None:
        # Disposed on its own thread: SQLite connections refuse to be closed from another one.
        if self._engine is not None:
            self._executor.submit(self._engine.dispose).result()
        self._executor.shutdown(wait=True)


def _of_publisher(query: Select, publisher: str | None) -> Select:
    """`query` kept to one publisher's articles (None: every publisher's, as the scale-out
    rounds ask): a crawl of one publisher never fetches, nor spends its budget on, another's."""
    return query if publisher is None else query.where(Article.publisher == publisher)


def known_articles(
    session: Session, article_ids: Iterable[str], publisher: str | None = None
) -> dict[str, KnownArticle]:
    """The archived articles among `article_ids` (of `publisher`), with their revisit state."""
    ids = sorted(set(article_ids))
    found: dict[str, KnownArticle] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        query = select(*_KNOWN_COLUMNS).where(Article.article_id.in_(chunk))
        rows = session.execute(_of_publisher(query, publisher))
        for row in rows:
            found[row.article_id] = KnownArticle(*row)
    return found


def revisit_batch(
    session: Session, due_by: datetime | None, after_id: str, limit: int,
    publisher: str | None = None,
) -> list[KnownArticle]:
    """The next `limit` archived articles (of `publisher`) after `after_id` (id order), due by
    `due_by` if given."""
    query = _of_publisher(select(*_KNOWN_COLUMNS).where(Article.article_id > after_id), publisher)
    if due_by is not None:
        query = query.where(Article.next_check_at.is_not(None), Article.next_check_at <= due_by)
    query = query.order_by(Article.article_id).limit(limit)
    return [KnownArticle(*row) for row in session.execute(query)]


def most_overdue(
    session: Session, due_by: datetime, limit: int, publisher: str | None = None
) -> list[KnownArticle]:
    """At most `limit` articles (of `publisher`) due by `due_by`, the longest overdue first: a
    run's budget, one per publisher."""
    query = (
        _of_publisher(select(*_KNOWN_COLUMNS), publisher)
        .where(Article.next_check_at.is_not(None), Article.next_check_at <= due_by)
        .order_by(Article.next_check_at, Article.article_id)
        .limit(limit)
    )
    return [KnownArticle(*row) for row in session.execute(query)]


def last_crawl_started_at(session: Session, publisher: str | None = None) -> datetime | None:
    """When the last finished crawl (that stored a page of `publisher`) started: sitemaps
    changed since then are read again. A run that crawled only other publishers says nothing
    of this one's sitemaps."""
    query = select(func.max(CrawlRun.started_at)).where(
        CrawlRun.kind == "crawl", CrawlRun.outcome == "finished"
    )
    if publisher is not None:
        query = query.where(
            select(Capture.capture_id)
            .where(Capture.crawl_run_id == CrawlRun.crawl_run_id, Capture.publisher == publisher)
            .exists()
        )
    return session.scalar(query)

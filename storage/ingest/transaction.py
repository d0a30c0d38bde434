"""One ingest transaction over a batch of pages: the archive state read at once, each page's
ingest replayed in memory in page order, the rows written in a few statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.bodies.batch import BodyBatch, Deltas
from storage.bulk_writes import insert_versions
from storage.fetched_page import FetchedPage
from storage.ingest import statements as queries
from storage.models import OUTCOME_DUPLICATE, OUTCOME_FAILED
from storage.parsing import ParseOutcome, Parser, publisher_clash
from storage.rebuild import rebuild_article
from storage.versioning import (
    Current,
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

# An IngestResult's outcome for a page the database refused even as a failed capture: nothing
# of it is stored (capture_id None).
OUTCOME_LOST = "lost"
# A version's columns this batch keeps on its _Version, not in its other values.
_VERSION_KEYS = ("version_no", "last_seen_at")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingest did with one page."""

    # new_article / new_version / unchanged / not_modified / failed / duplicate / lost
    outcome: str
    capture_id: int | None
    article_id: str | None = None
    version_no: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page with what needs no database: its parse, body hash and the article it is about."""

    page: FetchedPage
    parsed: ParseOutcome
    body_hash: str | None
    article_id: str | None


@dataclass(slots=True)
class _Capture:
    """A capture row of this batch; its id is known once written."""

    values: dict[str, Any]
    capture_id: int | None = None

    @property
    def error(self) -> str | None:
        return self.values["fetch_error"] or self.values["parse_error"]


@dataclass(slots=True, eq=False)
class _Version:
    """An article's current version, as far as a later page of the batch needs it."""

    article_id: str
    version_no: int
    content_hash: str
    last_seen_at: datetime
    last_capture: int | _Capture
    # All other columns, for a version this batch adds (None once written).
    new_values: dict[str, Any] | None = None
    first_capture: _Capture | None = None


@dataclass(slots=True)
class _Article:
    row: dict[str, Any]
    current: _Version
    is_new: bool = False


@dataclass(slots=True)
class _Result:
    """An IngestResult whose capture may still be unwritten."""

    outcome: str
    capture: int | _Capture
    article_id: str | None = None
    version_no: int | None = None
    error: str | None = None


@dataclass(slots=True)
class _Pending:
    """What the pages since the last write made or changed."""

    captures: list[_Capture] = field(default_factory=list)
    new_versions: list[_Version] = field(default_factory=list)
    seen_versions: dict[int, _Version] = field(default_factory=dict)  # stored, last_seen moved
    articles: set[str] = field(default_factory=set)  # touched (new or stored)
    events: list[tuple[_Capture, dict[str, Any]]] = field(default_factory=list)


class IngestBatch:
    """One attempt at ingesting a batch: read, replay, write (the caller commits or rolls back)."""

    def __init__(
        self, session: Session, deltas: Deltas, crawl_run_id: int | None, parser: Parser
    ) -> None:
        self.session = session
        self.crawl_run_id = crawl_run_id
        self.parser = parser
        self.bodies = BodyBatch(session, deltas)
        self.articles: dict[str, _Article] = {}
        # (url, fetched_at, body hash) -> (capture, article, error) stored or made by this batch.
        self.stored: dict[tuple[str, datetime, str | None], tuple[Any, str | None, str | None]] = {}
        # article -> ((fetched_at, order), body hash) of its latest capture with a body.
        self.latest_body: dict[str, tuple[tuple[datetime, tuple[int, int]], str]] = {}
        self.pending = _Pending()
        self.duplicates = 0

    def run(self, items: list[PreparedPage]) -> list[IngestResult]:
        self.connection = self.session.connection()
        queries.lock_urls(self.connection, (item.page.url for item in items))
        keys = ((item.page.url, item.page.fetched_at, item.body_hash) for item in items)
        self.stored.update(queries.stored_captures(self.connection, keys))
        article_ids = {item.article_id for item in items if item.article_id}
        self._load_articles(article_ids)
        for article_id, fetched_at, capture_id, body_hash in queries.latest_bodies(
            self.connection, article_ids
        ):
            # Stored captures come before this batch's at the same time (smaller ids).
            self.latest_body[article_id] = ((fetched_at, (0, capture_id)), body_hash)
        self.bodies.load(
            (item.body_hash for item in items if item.body_hash),
            (body_hash for _, body_hash in self.latest_body.values()),
        )
        made = [self._ingest(index, item) for index, item in enumerate(items)]
        self._write()
        if self.duplicates and self.crawl_run_id is not None:
            queries.count_duplicates(self.connection, self.crawl_run_id, self.duplicates)
        return [_resolved(result) for result in made]

    def committed(self) -> None:
        self.bodies.committed()

    def _load_articles(self, article_ids: set[str]) -> None:
        for row in queries.articles_with_current(self.connection, article_ids):
            values = {column.key: row[column.key] for column in queries.ARTICLES.c}
            current = _Version(
                values["article_id"],
                row["current_no"],
                row["current_hash"],
                row["current_last_seen_at"],
                row["current_last_capture_id"],
            )
            self.articles[values["article_id"]] = _Article(values, current)

    # --- replaying ingest ------------------------------------------------------------------

    def _ingest(self, index: int, item: PreparedPage) -> _Result:
        page, record = item.page, item.parsed.record
        key = (page.url, page.fetched_at, item.body_hash)
        stored = self.stored.get(key)
        if stored is not None:
            self.duplicates += 1
            capture, article_id, error = stored
            return _Result(OUTCOME_DUPLICATE, capture, article_id, error=error)

        article_id = item.article_id
        clash = self._publisher_clash(item)
        if clash is not None:
            item, record = clash, None
        if page.body and item.body_hash and not self.bodies.is_stored(item.body_hash):
            latest = self.latest_body.get(article_id) if article_id else None
            self.bodies.add(page.body, item.body_hash, latest[1] if latest else None)
        capture = _Capture(queries.capture_values(item, self.crawl_run_id))
        self.pending.captures.append(capture)
        self.stored[key] = (capture, article_id, capture.error)
        if article_id and item.body_hash:
            order = (page.fetched_at, (1, index))
            latest = self.latest_body.get(article_id)
            if latest is None or order > latest[0]:
                self.latest_body[article_id] = (order, item.body_hash)

        values = capture.values
        if clash is not None:  # the other publisher's article is left as it was
            return _Result(OUTCOME_FAILED, capture, article_id, error=capture.error)
        sighting = Sighting(
            page.fetched_at,
            page.status,
            page.fetch_error,
            values["etag"],
            values["last_modified"],
            record,
            values["content_hash"],  # the capture's: not computed again
            page.gone,
        )
        article = self.articles.get(article_id) if article_id else None
        current = _current_of(article)
        outcome = outcome_of(sighting, current)
        if outcome is Outcome.OUT_OF_ORDER:
            assert article is not None
            return self._rebuild(article.row["article_id"], capture)
        values["outcome"] = outcome.value
        kinds = events_of(sighting, current, outcome)
        before = article.current if article else None
        self._apply(article, sighting, outcome, capture)
        article = self.articles.get(values["article_id"]) if values["article_id"] else None
        if kinds and article is not None:
            self._add_events(kinds, sighting, article, before, capture)
        version_no = article.current.version_no if article and outcome.in_version else None
        return _Result(outcome.value, capture, values["article_id"], version_no, capture.error)

    def _publisher_clash(self, item: PreparedPage) -> PreparedPage | None:
        """The page as a failed capture when its article is another publisher's, else None."""
        article = self.articles.get(item.article_id) if item.article_id else None
        publisher = item.page.publisher
        if article is None or article.row["publisher"] == publisher:
            return None
        assert item.article_id is not None and publisher is not None
        error = publisher_clash(item.article_id, article.row["publisher"], publisher)
        return PreparedPage(item.page, ParseOutcome(error=error), item.body_hash, item.article_id)

    def _add_events(
        self,
        kinds: tuple[str, ...],
        sighting: Sighting,
        article: _Article,
        before: _Version | None,
        capture: _Capture,
    ) -> None:
        fields = None
        if before is not None and article.current is not before:  # a new version
            new = article.current.new_values
            assert new is not None
            fields = version_fields(self._content_of(before), new)
        for row in event_rows(kinds, sighting, article.current.version_no, fields):
            row["article_id"] = article.row["article_id"]
            self.pending.events.append((capture, row))

    def _content_of(self, version: _Version) -> dict[str, Any]:
        """A version's record columns: this batch's own, else read back."""
        if version.new_values is not None:
            return version.new_values
        return queries.version_content(self.connection, version.article_id, version.version_no)

    def _apply(
        self, article: _Article | None, sighting: Sighting, outcome: Outcome, capture: _Capture
    ) -> None:
        """Record what the rule made of a capture: its version, and the article row."""
        row = article_after(article.row if article else None, sighting, outcome)
        if row is None:
            return
        if article is None:
            version = self._new_version(sighting, 1, capture)
            article = self.articles[row["article_id"]] = _Article(row, version, is_new=True)
        else:
            article.row = row
        current = article.current
        if outcome is Outcome.NEW_VERSION:
            article.current = self._new_version(sighting, current.version_no + 1, capture)
        elif outcome in (Outcome.UNCHANGED, Outcome.NOT_MODIFIED):
            current.last_capture = capture
            current.last_seen_at = sighting.fetched_at
            if current.new_values is None:
                self.pending.seen_versions[id(current)] = current
        self.pending.articles.add(row["article_id"])

    def _new_version(self, sighting: Sighting, version_no: int, capture: _Capture) -> _Version:
        assert sighting.record is not None and sighting.content_hash is not None
        columns = new_version_columns(sighting, version_no)
        version = _Version(
            sighting.record.article_id,
            version_no,
            sighting.content_hash,
            sighting.fetched_at,
            capture,
            new_values={name: columns[name] for name in columns if name not in _VERSION_KEYS},
            first_capture=capture,
        )
        self.pending.new_versions.append(version)
        return version

    def _rebuild(self, article_id: str, capture: _Capture) -> _Result:
        """Store everything so far, re-derive the article from its captures, read it back."""
        self._write()
        # The identity map may hold rows this batch changed underneath it: the rebuild must
        # read what is stored.
        self.session.expire_all()
        rebuild_article(self.session, article_id, parser=self.parser)
        del self.articles[article_id]
        self._load_articles({article_id})
        outcome = queries.capture_outcome(self.connection, _capture_id(capture))
        version_no = None
        if outcome is not None and Outcome(outcome).in_version:
            version_no = queries.capture_version(
                self.connection,
                article_id,
                capture.values["fetched_at"],
                capture.values["content_hash"],
            )
        return _Result(outcome, capture, article_id, version_no, capture.error)

    # --- writing ---------------------------------------------------------------------------

    def _write(self) -> None:
        """Insert and update what the pages so far made: bodies, captures, articles, versions."""
        pending, self.pending = self.pending, _Pending()
        execute = self.connection.execute
        self.bodies.write(self.connection)
        if pending.captures:
            rows = [capture.values for capture in pending.captures]
            ids = queries.insert_captures(self.connection, rows)
            for capture, capture_id in zip(pending.captures, ids, strict=True):
                capture.capture_id = capture_id
        articles = [self.articles[article_id] for article_id in sorted(pending.articles)]
        new_articles = [article.row for article in articles if article.is_new]
        if new_articles:
            execute(queries.INSERT_ARTICLES, new_articles)
        changes = [
            {"key": row["article_id"], **{name: row[name] for name in queries.ARTICLE_CHANGES}}
            for row in (article.row for article in articles if not article.is_new)
        ]
        if changes:
            execute(queries.UPDATE_ARTICLES, changes)
        for article in articles:
            article.is_new = False
        if pending.new_versions:
            rows = [
                {
                    **(version.new_values or {}),
                    "article_id": version.article_id,
                    "version_no": version.version_no,
                    "first_capture_id": _capture_id(version.first_capture),
                    "last_capture_id": _capture_id(version.last_capture),
                    "last_seen_at": version.last_seen_at,
                }
                for version in pending.new_versions
            ]
            insert_versions(self.connection, rows)
        if pending.seen_versions:
            rows = [
                {
                    "key_article": version.article_id,
                    "key_number": version.version_no,
                    "last_capture_id": _capture_id(version.last_capture),
                    "last_seen_at": version.last_seen_at,
                }
                for version in pending.seen_versions.values()
            ]
            execute(queries.UPDATE_LAST_SEEN, rows)
        if pending.events:
            queries.insert_events(
                self.connection,
                [
                    {**row, "capture_id": _capture_id(capture), "crawl_run_id": self.crawl_run_id}
                    for capture, row in pending.events
                ],
            )
        for version in pending.new_versions:
            version.new_values = None


def _current_of(article: _Article | None) -> Current | None:
    if article is None:
        return None
    current = article.current
    return current_of(article.row, current.version_no, current.content_hash, current.last_seen_at)


def _capture_id(capture: int | _Capture | None) -> int:
    capture_id = capture.capture_id if isinstance(capture, _Capture) else capture
    assert capture_id is not None, "a capture is written before what refers to it"
    return capture_id


def _resolved(result: _Result) -> IngestResult:
    return IngestResult(
        result.outcome,
        _capture_id(result.capture),
        result.article_id,
        result.version_no,
        result.error,
    )

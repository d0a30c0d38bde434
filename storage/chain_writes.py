"""An article's stored rows compared with the chain a rebuild derived, and the difference
written in bulk (a same-parser reparse writes nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from storage.bulk_writes import insert_versions, update_rows
from storage.models import Article, Capture, Event, Version
from storage.record import CONTENT_FIELDS

_captures = Capture.__table__
_versions = Version.__table__
_articles = Article.__table__
_events = Event.__table__
# An event's columns a chain sets, but its key (capture_id, kind) and article.
EVENT_COLUMNS = ("at", "version_no", "fields", "crawl_run_id")
EventKey = tuple[int, str]
# The capture columns a chain sets (the rest is what was fetched, never rewritten).
CAPTURE_PARSE_COLUMNS = (
    "parse_error",
    "parser_version",
    "content_hash",
    "missing_fields",
    "outcome",
)
# Article ids per IN (…) list: short SQL, well under SQLite's bound-parameter limit.
IDS_CHUNK = 200


@dataclass(slots=True)
class Chain:
    """An article's versions and its captures' parse fields, derived from captures in time order."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    captures: dict[int, dict[str, Any]] = field(default_factory=dict)
    article: dict[str, Any] | None = None
    events: dict[EventKey, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class StoredArticle:
    """An article's rows as stored: captures' parse columns in capture-time order, versions by
    number (with version_id), the article row (None when there is none)."""

    captures: dict[int, dict[str, Any]] = field(default_factory=dict)
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)
    article: dict[str, Any] | None = None
    events: dict[EventKey, dict[str, Any]] = field(default_factory=dict)  # with event_id


@dataclass(slots=True)
class Changes:
    """The writes that make one article's stored rows equal its chain."""

    article_id: str
    captures: list[dict[str, Any]] = field(default_factory=list)  # capture_id + parse columns
    version_updates: list[dict[str, Any]] = field(default_factory=list)  # version_id + columns
    version_inserts: list[dict[str, Any]] = field(default_factory=list)
    version_deletes: list[int] = field(default_factory=list)  # version ids
    article_insert: dict[str, Any] | None = None
    article_update: dict[str, Any] | None = None
    article_delete: bool = False
    event_inserts: list[dict[str, Any]] = field(default_factory=list)
    event_updates: list[dict[str, Any]] = field(default_factory=list)  # event_id_ + columns
    event_deletes: list[int] = field(default_factory=list)  # event ids

    def __bool__(self) -> bool:
        return bool(
            self.event_inserts
            or self.event_updates
            or self.event_deletes
            or self.captures
            or self.version_updates
            or self.version_inserts
            or self.version_deletes
            or self.article_insert
            or self.article_update
            or self.article_delete
        )


def load_stored(
    session: Session, article_ids: Sequence[str], *, for_update: bool = False
) -> dict[str, StoredArticle]:
    """The stored rows of some articles, three queries per chunk of ids.

    `for_update` locks the article rows first (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers), so an ingest of one of them waits, or has committed and shows here.
    """
    stored = {one_id: StoredArticle() for one_id in article_ids}
    for start in range(0, len(article_ids), IDS_CHUNK):
        chunk = list(article_ids[start : start + IDS_CHUNK])
        article_query = select(_articles).where(_articles.c.article_id.in_(chunk))
        if for_update:
            article_query = article_query.order_by(_articles.c.article_id).with_for_update()
        for row in session.execute(article_query).mappings():
            stored[row["article_id"]].article = dict(row)
        capture_rows = session.execute(
            select(_captures.c.article_id, _captures.c.capture_id, *_parse_columns())
            .where(_captures.c.article_id.in_(chunk))
            .order_by(_captures.c.fetched_at, _captures.c.capture_id)
        ).mappings()
        for row in capture_rows:
            values = dict(row)
            one_id = values.pop("article_id")
            stored[one_id].captures[values.pop("capture_id")] = values
        version_rows = session.execute(
            select(*_version_columns()).where(_versions.c.article_id.in_(chunk))
        ).mappings()
        for row in version_rows:
            stored[row["article_id"]].versions[row["version_no"]] = dict(row)
        event_rows = session.execute(
            select(
                _events.c.article_id, _events.c.event_id, _events.c.capture_id, _events.c.kind,
                *(_events.c[name] for name in EVENT_COLUMNS),
            ).where(_events.c.article_id.in_(chunk))
        ).mappings()
        for row in event_rows:
            values = dict(row)
            key = (values.pop("capture_id"), values.pop("kind"))
            stored[values.pop("article_id")].events[key] = values
    return stored


def _parse_columns() -> list[Any]:
    return [_captures.c[name] for name in CAPTURE_PARSE_COLUMNS]


def _version_columns() -> list[Any]:
    """Every version column but the content ones, which its content_hash stands for."""
    return [column for column in _versions.c if column.name not in CONTENT_FIELDS]


def plan_changes(article_id: str, stored: StoredArticle, chain: Chain) -> Changes:
    """What to write so that `stored` equals `chain` (nothing when they are equal)."""
    changes = Changes(article_id)
    for capture_id, wanted in chain.captures.items():
        differing = _differing(stored.captures[capture_id], wanted)
        if differing:
            changes.captures.append({"capture_id_": capture_id, **differing})
    _plan_events(changes, stored, chain)
    wanted_numbers = {version["version_no"] for version in chain.versions}
    keep = chain.article is not None
    changes.version_deletes = [
        version["version_id"]
        for number, version in stored.versions.items()
        if not keep or number not in wanted_numbers
    ]
    if not keep:
        changes.article_delete = stored.article is not None
        return changes
    assert chain.article is not None
    if stored.article is None:
        changes.article_insert = chain.article
    else:
        differing = _differing(stored.article, chain.article)
        if differing:
            changes.article_update = {"article_id_": article_id, **differing}
    for wanted in chain.versions:
        version = stored.versions.get(wanted["version_no"])
        if version is None:
            changes.version_inserts.append({"article_id": article_id, **wanted})
        else:
            differing = _version_differing(version, wanted)
            if differing:
                changes.version_updates.append({"version_id_": version["version_id"], **differing})
    return changes


def _plan_events(changes: Changes, stored: StoredArticle, chain: Chain) -> None:
    """Events matched by (capture, kind): one that stays keeps its id (and so its webhook
    delivery), one that differs is updated, the others inserted or deleted."""
    for key, wanted in chain.events.items():
        now = stored.events.get(key)
        if now is None:
            capture_id, kind = key
            changes.event_inserts.append(
                {"article_id": changes.article_id, "capture_id": capture_id, "kind": kind, **wanted}
            )
            continue
        differing = _differing(now, wanted)
        if differing:
            changes.event_updates.append({"event_id_": now["event_id"], **differing})
    changes.event_deletes = [
        row["event_id"] for key, row in stored.events.items() if key not in chain.events
    ]


def write_changes(session: Session, planned: Iterable[Changes]) -> None:
    """Write many articles' changes with one executemany per kind of row, in foreign-key order."""
    planned = [changes for changes in planned if changes]
    if not planned:
        return
    article_inserts = [c.article_insert for c in planned if c.article_insert is not None]
    if article_inserts:
        session.execute(insert(_articles), article_inserts)
    event_deletes = [event_id for c in planned for event_id in c.event_deletes]
    for start in range(0, len(event_deletes), IDS_CHUNK):
        chunk = event_deletes[start : start + IDS_CHUNK]
        session.execute(delete(_events).where(_events.c.event_id.in_(chunk)))
    deletes = [version_id for c in planned for version_id in c.version_deletes]
    for start in range(0, len(deletes), IDS_CHUNK):
        chunk = deletes[start : start + IDS_CHUNK]
        session.execute(delete(_versions).where(_versions.c.version_id.in_(chunk)))
    _update_many(session, _versions, "version_id", [r for c in planned for r in c.version_updates])
    version_inserts = [row for c in planned for row in c.version_inserts]
    insert_versions(session.connection(), version_inserts)
    _update_many(session, _captures, "capture_id", [r for c in planned for r in c.captures])
    _update_many(
        session,
        _articles,
        "article_id",
        [c.article_update for c in planned if c.article_update is not None],
    )
    _update_many(session, _events, "event_id", [r for c in planned for r in c.event_updates])
    event_inserts = [row for c in planned for row in c.event_inserts]
    if event_inserts:
        session.execute(insert(_events), event_inserts)
    gone = [c.article_id for c in planned if c.article_delete]
    if gone:
        session.execute(delete(_articles).where(_articles.c.article_id.in_(gone)))


# Rows setting the same values go as one UPDATE … WHERE key IN (…) from this many on. Fewer
# are written with the rest: a parser whose content differs gives each version's captures their
# own content_hash, and a statement per version cost ~0.5 ms of SQLAlchemy's time each.
_SHARED_VALUES_MIN = 16


def _update_many(session: Session, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE rows by primary key: many rows that set the same values in one statement (a parser
    change sets the same parser_version on every capture), the others per set of columns
    (bulk_writes.update_rows: on SQLite a statement per 256 rows, so the search index's update
    trigger does not flush FTS5 once a version).

    Each row names its key as `<key>_`: a bound parameter may not share a column's name, and
    the SET clause is made of the row's other names.
    """
    key_name = f"{key}_"
    # The rows by the values they set (hashable ones), and by their set of columns.
    by_values: dict[tuple[tuple[str, Any], ...], list[dict[str, Any]]] = {}
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        values = tuple((name, value) for name, value in row.items() if name != key_name)
        try:
            by_values.setdefault(values, []).append(row)
        except TypeError:  # unhashable (JSON content): updated by column set
            by_columns.setdefault(tuple(row), []).append(row)
    for values, same in by_values.items():
        if len(same) < _SHARED_VALUES_MIN:
            for row in same:
                by_columns.setdefault(tuple(row), []).append(row)
            continue
        keys = [row[key_name] for row in same]
        for start in range(0, len(keys), IDS_CHUNK):
            chunk = keys[start : start + IDS_CHUNK]
            session.execute(update(table).where(table.c[key].in_(chunk)).values(dict(values)))
    connection = session.connection()
    for group in by_columns.values():
        update_rows(connection, table, key, group)


def _differing(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The wanted values that differ from the stored ones: all an UPDATE needs to set."""
    return {name: value for name, value in wanted.items() if stored[name] != value}


def _version_differing(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """As _differing, for a version whose content columns were not read.

    Content columns are equal when the content hashes are (ingest and rebuilds write both from
    one record), so they are compared by hash and rewritten only when it differs: they are
    most of a version's bytes.
    """
    same_content = stored["content_hash"] == wanted["content_hash"]
    return {
        name: value
        for name, value in wanted.items()
        if (name in CONTENT_FIELDS and not same_content)
        or (name not in CONTENT_FIELDS and stored[name] != value)
    }

"""Upgrades keep every row: rows written at each revision survive to head, down and up again.

Generic over migrations/versions: the revisions are walked from the script directory and the
rows are made from the reflected tables, so a new migration is covered without editing this file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    select,
    text,
)
from sqlalchemy.engine import Connection

from storage import db

ROWS_PER_TABLE = 3
# Awkward but legal text: quotes, SQL wildcards, a backslash, Korean, an emoji.
AWKWARD_TEXT = "'q' \"d\" %_\\ 뉴시스 기사 😀"

Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def revisions_base_to_head() -> list[str]:
    script = ScriptDirectory.from_config(db.alembic_config(db.DEFAULT_DB_URL))
    assert len(script.get_heads()) == 1, "migrations must stay one straight line"
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def data_tables(connection: Connection) -> list[Table]:
    """The reflected archive tables in insert order; alembic_version and SQLite virtual tables
    (the search index, kept by triggers) and their shadow tables left out."""
    virtual: list[str] = []
    if connection.dialect.name == "sqlite":
        virtual = list(
            connection.execute(
                text("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
            ).scalars()
        )
    metadata = MetaData()
    metadata.reflect(connection)
    return [
        table
        for table in metadata.sorted_tables
        if table.name != "alembic_version"
        and not any(table.name == v or table.name.startswith(f"{v}_") for v in virtual)
    ]


def value_for(column, batch: int, row_no: int, dialect: str) -> Any:
    """A value of the column's type, unique per (batch, row), fit for its length."""
    kind = column.type
    serial = batch * 1000 + row_no
    if isinstance(kind, Boolean):
        return row_no % 2 == 0
    if isinstance(kind, Integer):
        return serial
    if isinstance(kind, (Float, Numeric)):
        return serial + 0.5
    if isinstance(kind, DateTime):
        moment = datetime(2024, 11, 15, 6, 30, tzinfo=UTC) + timedelta(days=batch, seconds=row_no)
        return moment if dialect != "sqlite" else moment.replace(tzinfo=None)
    if isinstance(kind, JSON):
        # List of objects with "text": what the search index's triggers and function read.
        return [{"text": f"{serial} {AWKWARD_TEXT}", "n": row_no}, {"text": "둘째"}]
    if isinstance(kind, LargeBinary):
        return bytes([0, 255, batch % 256, row_no % 256]) + AWKWARD_TEXT.encode()
    if isinstance(kind, String):  # Text is a String
        value = f"{serial}-{column.name} {AWKWARD_TEXT}"
        return value[: kind.length] if kind.length else value
    if column.nullable:
        return None
    raise AssertionError(f"no sample value for {column.table.name}.{column.name} {kind!r}")


def insert_rows(connection: Connection, batch: int) -> None:
    """ROWS_PER_TABLE rows in every table, foreign keys pointing at rows of this batch."""
    inserted: dict[str, list[dict[str, Any]]] = {}
    dialect = connection.dialect.name
    for table in data_tables(connection):
        inserted[table.name] = []
        for row_no in range(ROWS_PER_TABLE):
            row = {}
            for column in table.columns:
                foreign = next(iter(column.foreign_keys), None)
                if foreign is None:
                    row[column.name] = value_for(column, batch, row_no, dialect)
                    continue
                target = foreign.column
                candidates = inserted.get(target.table.name) or []
                if target.table.name == table.name:
                    candidates = candidates[:1]  # self-reference: point at the first row
                if candidates:
                    row[column.name] = candidates[row_no % len(candidates)][target.name]
                elif column.nullable:
                    row[column.name] = None
                else:
                    raise AssertionError(f"{table.name}.{column.name}: no row to refer to")
            connection.execute(table.insert().values(**row))
            inserted[table.name].append(row)


def snapshot(connection: Connection) -> Snapshot:
    """Every row of every archive table, keyed by primary key."""
    rows: Snapshot = {}
    for table in data_tables(connection):
        key_columns = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = {
            tuple(row[c.name] for c in key_columns): dict(row)
            for row in connection.execute(select(table)).mappings()
        }
    return rows


def lost_rows(before: Snapshot, after: Snapshot, surviving: set[str] | None = None) -> list[str]:
    """Rows of `before` missing or changed in `after` (columns both still have), per table."""
    lost = []
    for table, rows in before.items():
        if surviving is not None and table not in surviving:
            continue
        now = after.get(table)
        if now is None:
            lost.append(f"table {table} is gone ({len(rows)} rows)")
            continue
        for key, row in rows.items():
            current = now.get(key)
            if current is None:
                lost.append(f"{table} {key}: row missing")
                continue
            changed = {c for c in row if c in current and row[c] != current[c]}
            if changed:
                lost.append(f"{table} {key}: {sorted(changed)} changed")
    return lost


def only_columns(rows: Snapshot, like: Snapshot) -> Snapshot:
    """`rows` with only the columns the rows of `like` have (per table)."""
    columns = {table: set(next(iter(r.values()), {})) for table, r in like.items()}
    return {
        table: {
            key: {c: v for c, v in row.items() if c in columns.get(table, row)}
            for key, row in table_rows.items()
        }
        for table, table_rows in rows.items()
    }


def merge(into: Snapshot, more: Snapshot) -> None:
    for table, rows in more.items():
        into.setdefault(table, {}).update(rows)


def test_rows_of_every_revision_survive_upgrade_downgrade_and_upgrade_again(db_url) -> None:
    revisions = revisions_base_to_head()
    engine = create_engine(db_url)
    kept: Snapshot = {}
    try:
        # Fill the database at every revision in turn, as an archive that lived through them.
        for batch, revision in enumerate(revisions):
            db.upgrade(db_url, revision)
            with engine.begin() as connection:
                insert_rows(connection, batch)
                merge(kept, snapshot(connection))
            with engine.connect() as connection:
                assert lost_rows(kept, snapshot(connection)) == [], f"after upgrade to {revision}"
        total = sum(len(rows) for rows in kept.values())
        assert total >= ROWS_PER_TABLE * len(revisions)

        # Down one step at a time to the first revision, then up again to head.
        for down_to in reversed(revisions[:-1]):
            db.downgrade(db_url, down_to)
            with engine.connect() as connection:
                now = snapshot(connection)
            assert lost_rows(kept, now, surviving=set(now)) == [], f"after downgrade to {down_to}"
        # A column added by a later revision cannot keep its values through the first revision
        # (its migration's downgrade keeps what they meant, e.g. 0005 re-encodes pair deltas):
        # compared after the round trip are the columns the first revision has.
        kept = only_columns(kept, now)
        db.upgrade(db_url, "head")
        with engine.connect() as connection:
            assert lost_rows(kept, snapshot(connection)) == [], "after the second upgrade"
            assert db.current_revision(engine) == revisions[-1]

        # The archive still takes rows at head after the round trip.
        with engine.begin() as connection:
            insert_rows(connection, len(revisions))
        print(f"{len(revisions)} revisions round-tripped on {engine.dialect.name}: "
              f"{total} rows kept, 0 lost")

        # All the way down (empty) and up again: the schema is rebuilt from nothing.
        db.downgrade(db_url, "base")
        db.upgrade(db_url, "head")
        with engine.connect() as connection:
            assert all(rows == {} for rows in snapshot(connection).values())
    finally:
        engine.dispose()


def test_every_revision_can_be_filled_with_rows(db_url) -> None:
    """Each revision's own schema accepts the sample rows (the fill above depends on it)."""
    revisions = revisions_base_to_head()
    engine = create_engine(db_url)
    try:
        for batch, revision in enumerate(revisions):
            db.upgrade(db_url, revision)
            with engine.begin() as connection:
                insert_rows(connection, batch)
                tables = snapshot(connection)
            assert tables and all(len(rows) >= ROWS_PER_TABLE for rows in tables.values())
    finally:
        engine.dispose()

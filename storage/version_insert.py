"""Inserting version rows, what ingest and rebuilds share: on SQLite, many rows a statement."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, insert

from storage.models import Version

VERSIONS = Version.__table__
# Rows per multi-row INSERT on SQLite: 17 columns each, well under SQLite's 32,766 bound
# parameters.
VERSION_ROWS_PER_STATEMENT = 256


def insert_versions(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert version rows; on SQLite in as few multi-row statements as possible.

    SQLite's search-index trigger inserts into FTS5, and each statement that fires a trigger
    opens a savepoint, at which FTS5 writes out what it has buffered: one statement per row made
    each version its own index segment, to be merged later (0.64 ms a version on the 300
    versions of bench/storage_corpus.py; one statement per 64 rows 0.27 ms). SQLAlchemy takes
    ~22 ms to compile a 64-row INSERT, so the statement is written here from the table's column
    names, and the values go through the columns' own bind processors, as SQLAlchemy would send
    them. Every row must hold the columns of the first.
    """
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(insert(VERSIONS), rows)
        return
    columns = tuple(rows[0])
    processors = _bind_processors(connection.dialect, columns)
    for start in range(0, len(rows), VERSION_ROWS_PER_STATEMENT):
        chunk = rows[start : start + VERSION_ROWS_PER_STATEMENT]
        if any(len(row) != len(columns) for row in chunk):
            raise ValueError(f"version rows must all hold the columns {columns}")
        values = [
            process(row[name]) if process else row[name]
            for row in chunk
            for name, process in zip(columns, processors, strict=True)
        ]
        connection.exec_driver_sql(_multi_row_insert_sql(columns, len(chunk)), tuple(values))


@functools.lru_cache(maxsize=8)
def _bind_processors(dialect: Any, columns: tuple[str, ...]) -> tuple[Any, ...]:
    # dialect_impl: the type as the dialect sends it (SQLite's own DATETIME text format, say).
    return tuple(
        VERSIONS.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


@functools.lru_cache(maxsize=VERSION_ROWS_PER_STATEMENT)
def _multi_row_insert_sql(columns: tuple[str, ...], count: int) -> str:
    """INSERT INTO versions (…) VALUES (?, …), … for `count` rows (qmark: SQLite's style)."""
    names = ", ".join(VERSIONS.c[name].name for name in columns)  # KeyError: not a column
    one_row = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {VERSIONS.name} ({names}) VALUES " + ", ".join([one_row] * count)

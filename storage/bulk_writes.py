"""Writing many rows at once, what ingest and rebuilds share: many rows a statement.

SQLite's search-index triggers write into FTS5 (versions inserted, their text updated), and each
statement that fires a trigger opens a savepoint, at which FTS5 writes out what it has buffered:
one statement per row made each version its own index segment, to be merged later (0.64 ms a
version inserted on the 300 versions of bench/storage_corpus.py; one statement per 64 rows
0.27 ms). SQLAlchemy takes ~22 ms to compile a 64-row statement, so the statements are written
here from the table's column names, and the values go through the columns' own bind processors,
as SQLAlchemy would send them.

On PostgreSQL, versions updated one statement each (an executemany) cost the server ~0.12 ms
more a row than one statement for all of them (bench/bench_reparse.py's archive, throw-away
script): row updates go as one statement too, their values as one JSON document.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update

from storage.models import Version

VERSIONS = Version.__table__
# Rows per statement: on SQLite at most ~20 columns each, well under its 32,766 bound
# parameters; on PostgreSQL it bounds one statement's JSON document (update_rows).
ROWS_PER_STATEMENT = 256


def insert_versions(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert version rows; on SQLite in as few multi-row statements as possible. Every row must
    hold the columns of the first."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(insert(VERSIONS), rows)
        return
    columns = tuple(rows[0])
    for chunk, values in _bound_chunks(connection, VERSIONS, columns, rows):
        connection.exec_driver_sql(_insert_sql(VERSIONS, columns, len(chunk)), values)


def update_rows(connection: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE rows of `table` by their primary key `key`, each row setting the same columns.

    Each row names its key as `<key>_` (a bound parameter may not share a column's name in
    SQLAlchemy's UPDATE) and sets its other names. On SQLite the rows go as one
    UPDATE … FROM (VALUES …) per ROWS_PER_STATEMENT rows (SQLite 3.33 and later), so a trigger
    fires within one statement; on PostgreSQL as one UPDATE … FROM jsonb_to_recordset(…) per
    ROWS_PER_STATEMENT rows; elsewhere as one executemany.
    """
    if not rows:
        return
    key_name = f"{key}_"
    columns = tuple(rows[0])
    if key_name not in columns:
        raise ValueError(f"update rows must name their key as {key_name!r}")
    if len(columns) == 1:
        return  # nothing to set
    if len({row[key_name] for row in rows}) != len(rows):
        # One statement cannot apply two rows to one key in order, as an executemany would.
        raise ValueError(f"update rows name a {key_name!r} twice")
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        connection.execute(update(table).where(table.c[key] == bindparam(key_name)), rows)
        return
    # Named by their columns again, so the key's values go through its column's bind processor.
    named = tuple(key if name == key_name else name for name in columns)
    renamed = [
        {(key if name == key_name else name): value for name, value in row.items()} for row in rows
    ]
    for chunk, values in _bound_chunks(connection, table, named, renamed):
        if dialect == "sqlite":
            connection.exec_driver_sql(_update_sql(table, key, named, len(chunk)), values)
        else:
            sql = _update_from_json_sql(connection.dialect, table, key, named)
            document = [
                {
                    table.c[name].name: _json_value(value)
                    for name, value in zip(named, values[start : start + len(named)], strict=True)
                }
                for start in range(0, len(values), len(named))
            ]
            connection.exec_driver_sql(sql, (json.dumps(document, ensure_ascii=False),))


def _bound_chunks(
    connection: Connection, table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]]
):
    """(rows, their values in column order through the bind processors) per statement."""
    processors = _bind_processors(connection.dialect, table, columns)
    wanted = set(columns)
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        if any(row.keys() != wanted for row in chunk):
            raise ValueError(f"rows must all hold the columns {columns}")
        values = tuple(
            process(row[name]) if process else row[name]
            for row in chunk
            for name, process in zip(columns, processors, strict=True)
        )
        yield chunk, values


@functools.lru_cache(maxsize=32)
def _bind_processors(dialect: Any, table: Table, columns: tuple[str, ...]) -> tuple[Any, ...]:
    # dialect_impl: the type as the dialect sends it (SQLite's own DATETIME text format, say).
    return tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


def _values_sql(width: int, count: int) -> str:
    one_row = "(" + ", ".join("?" * width) + ")"  # qmark: SQLite's style
    return ", ".join([one_row] * count)


@functools.lru_cache(maxsize=ROWS_PER_STATEMENT)
def _insert_sql(table: Table, columns: tuple[str, ...], count: int) -> str:
    """INSERT INTO table (…) VALUES (?, …), … for `count` rows (columns by their keys)."""
    names = ", ".join(table.c[key].name for key in columns)  # KeyError: not a column
    return f"INSERT INTO {table.name} ({names}) VALUES {_values_sql(len(columns), count)}"


@functools.lru_cache(maxsize=ROWS_PER_STATEMENT)
def _update_sql(table: Table, key: str, columns: tuple[str, ...], count: int) -> str:
    """UPDATE table SET c = v.columnN, … FROM (VALUES …) AS v WHERE table.key = v.columnK
    (columns by their keys).

    SQLite names a VALUES list's columns column1, column2, …; the key must appear once.
    """
    position = {name: index for index, name in enumerate(columns, start=1)}
    sets = ", ".join(
        f"{table.c[name].name} = v.column{position[name]}" for name in columns if name != key
    )
    return (
        f"UPDATE {table.name} SET {sets} FROM (VALUES {_values_sql(len(columns), count)}) AS v"
        f" WHERE {table.name}.{table.c[key].name} = v.column{position[key]}"
    )


@functools.lru_cache(maxsize=32)
def _update_from_json_sql(dialect: Any, table: Table, key: str, columns: tuple[str, ...]) -> str:
    """PostgreSQL: UPDATE table SET c = v.c, … FROM jsonb_to_recordset(%s) AS v(c type, …)
    WHERE table.key = v.key, the rows sent as one JSON array of objects (columns by their keys).

    One JSON text, encoded by the json module's C encoder and read by the server's, where an
    array per column cost psycopg a regular-expression call for every quote in the JSON
    columns (~0.4 s of client CPU in a bench_reparse.py run of 300 versions and 1,050
    captures). The server converts each value from its JSON text to the column's type.
    """
    fields = ", ".join(
        f"{table.c[name].name} {table.c[name].type.compile(dialect=dialect)}" for name in columns
    )
    sets = ", ".join(
        f"{table.c[name].name} = v.{table.c[name].name}" for name in columns if name != key
    )
    return (
        f"UPDATE {table.name} SET {sets} FROM jsonb_to_recordset(CAST(%s AS jsonb)) AS v({fields})"
        f" WHERE {table.name}.{table.c[key].name} = v.{table.c[key].name}"
    )


def _json_value(value: Any) -> Any:
    """A bound value as JSON: the psycopg wrapper of a JSON or binary value unwrapped, bytes
    in bytea's hex input form, times in ISO 8601 (with their offset)."""
    value = getattr(value, "obj", value)  # psycopg's Jsonb and Binary
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return value

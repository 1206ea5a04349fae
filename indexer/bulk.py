"""Writing many rows at once, at the driver's speed: COPY on PostgreSQL; on SQLite one statement
over a JSON array of the rows (an executemany for a few rows, or without SQLite's JSON functions).

SQLAlchemy's executemany runs every value through its type processors and, on psycopg, sends one
INSERT per row; a batch writes tens of thousands of rows, so this module does the little those
processors do here (JSON to text, 256-bit integers to text on SQLite) and hands plain tuples to the
driver. Rows must carry every column of the table (the projection store and the batch writer build
them so). Other databases fall back to SQLAlchemy's executemany.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from indexer.schema import Uint256

__all__ = ["PackedRows", "by_key", "insert_packed", "insert_rows", "json_text", "pack_rows", "update_rows"]

_Convert = Callable[[Any], Any] | None


def json_text(value: Any) -> str:
    """Compact JSON text (orjson; the standard library for what orjson refuses, e.g. integers
    beyond 64 bits). The engines use it too, so every path writes the same text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json(value: Any) -> Any:
    return None if value is None else json_text(value)


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _converter(column: sa.Column[Any], dialect: str) -> _Convert:
    if isinstance(column.type, sa.JSON):
        return _json
    if isinstance(column.type, Uint256) and dialect != "postgresql":
        return _text
    return None


_Plan = tuple[list[str], Callable[[Mapping[str, Any]], Any], list[tuple[int, Callable[[Any], Any]]]]
_PLANS: dict[tuple[str, str], _Plan] = {}


def _plan(table: sa.Table, dialect: str) -> _Plan:
    """The column names, a getter of a row's values in column order, and which of them to convert."""
    key = (table.name, dialect)
    plan = _PLANS.get(key)
    if plan is None:
        columns = [c.name for c in table.columns]
        converts = [(n, conv) for n, c in enumerate(table.columns) if (conv := _converter(c, dialect)) is not None]
        getter = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
        plan = (columns, getter, converts)
        _PLANS[key] = plan
    return plan


def _tuples(rows: Sequence[Mapping[str, Any]], plan: _Plan) -> list[Any]:
    _, getter, converts = plan
    if not converts:
        return [getter(row) for row in rows]
    out = []
    for row in rows:
        values = list(getter(row))
        for n, conv in converts:
            values[n] = conv(values[n])
        out.append(tuple(values))
    return out


#: From this many rows on, SQLite inserts go through one JSON array (when SQLite has JSON functions).
_JSON_BATCH_ROWS = 500


@cache
def _sqlite_has_json() -> bool:
    """Whether this SQLite library has the JSON functions (built in since 3.38, usual before)."""
    probe = sqlite3.connect(":memory:")
    try:
        return bool(probe.execute("SELECT json_extract('[1]', '$[0]') = 1").fetchone()[0])
    except sqlite3.Error:
        return False
    finally:
        probe.close()


@dataclass(frozen=True)
class PackedRows:
    """Rows made ready for one dialect's bulk insert (`pack_rows`), so the work of converting them
    can happen away from the thread that writes."""

    table: sa.Table
    dialect: str
    rows: Sequence[Mapping[str, Any]]
    values: list[Any] = field(default_factory=list)
    #: SQLite with JSON functions: the values as one JSON array.
    payload: str | None = None


def pack_rows(dialect: str, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> PackedRows:
    """Convert `rows` (mappings with every column of `table`) for `dialect`'s bulk insert."""
    if not rows or dialect not in ("sqlite", "postgresql"):
        return PackedRows(table, dialect, rows)
    values = _tuples(rows, _plan(table, dialect))
    payload = None
    if dialect == "sqlite" and len(values) >= _JSON_BATCH_ROWS and _sqlite_has_json():
        try:
            payload = orjson.dumps(values).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: bind the rows one by one
            payload = None
    return PackedRows(table, dialect, rows, values, payload)


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (mappings with every column of `table`) in the connection's transaction."""
    insert_packed(conn, pack_rows(conn.dialect.name, table, rows))


def insert_packed(conn: Connection, packed: PackedRows) -> None:
    """INSERT rows `pack_rows` prepared for this connection's dialect."""
    table, rows = packed.table, packed.rows
    if not rows:
        return
    dialect = conn.dialect.name
    assert dialect == packed.dialect, f"rows packed for {packed.dialect}, inserted into {dialect}"
    if dialect not in ("sqlite", "postgresql"):
        conn.execute(sa.insert(table), list(rows))
        return
    if packed.payload is not None:
        _insert_json(conn, "INSERT", table, packed.payload)
        return
    columns = _plan(table, dialect)[0]
    names = ", ".join(f'"{name}"' for name in columns)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', packed.values)
        return
    _copy(conn, table.name, names, packed.values)


def _insert_json(conn: Connection, verb: str, table: sa.Table, payload: str) -> None:
    """SQLite: `verb` (INSERT, INSERT OR REPLACE) the rows of a JSON array in one statement. SQLite
    reads the array in C, and pysqlite lets go of the GIL for the whole statement (executemany
    takes it back for every row, which stalls against the thread decoding the next batch)."""
    columns = _plan(table, "sqlite")[0]
    names = ", ".join(f'"{name}"' for name in columns)
    picks = ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(columns)))
    conn.exec_driver_sql(f'{verb} INTO "{table.name}" ({names}) SELECT {picks} FROM json_each(?)', (payload,))


def _copy(conn: Connection, table_name: str, names: str, values: Sequence[Any]) -> None:
    """PostgreSQL: COPY `values` (tuples in the order of `names`) into a table."""
    import psycopg

    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f'COPY "{table_name}" ({names}) FROM STDIN'
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for value in values:
                copy.write_row(value)
    except psycopg.Error as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError, ...)
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=conn.dialect) from exc


def by_key(table: sa.Table) -> sa.ColumnElement[bool]:
    """WHERE the primary key equals the parameters `pk_<column>` (one statement for many keys)."""
    return sa.and_(*(column == sa.bindparam(f"pk_{column.name}") for column in table.primary_key.columns))


def update_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Overwrite existing rows (mappings with every column of `table`) by primary key.

    Many rows go in bulk: on SQLite one INSERT OR REPLACE over a JSON array (no triggers or
    foreign keys here, so replacing a row equals updating it); on PostgreSQL a COPY into a
    temporary table, then one INSERT ... ON CONFLICT DO UPDATE. Few rows, or other databases, take
    an executemany UPDATE.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    pk = [c.name for c in table.primary_key.columns]
    if len(rows) >= _JSON_BATCH_ROWS and dialect == "sqlite":
        payload = pack_rows(dialect, table, rows).payload
        if payload is not None:
            _insert_json(conn, "INSERT OR REPLACE", table, payload)
            return
    if len(rows) >= _JSON_BATCH_ROWS and dialect == "postgresql":
        columns = _plan(table, dialect)[0]
        names = ", ".join(f'"{name}"' for name in columns)
        staging = f"_upsert_{table.name}"
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{staging}"')
        conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{staging}" (LIKE "{table.name}") ON COMMIT DROP')
        _copy(conn, staging, names, pack_rows(dialect, table, rows).values)
        sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in pk)
        keys = ", ".join(f'"{c}"' for c in pk)
        upsert = f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}"'
        conn.exec_driver_sql(f"{upsert} ON CONFLICT ({keys}) DO UPDATE SET {sets}")
        return
    conn.execute(sa.update(table).where(by_key(table)), [{**r, **{f"pk_{n}": r[n] for n in pk}} for r in rows])

"""Writing many new rows at once, at the driver's speed: COPY on PostgreSQL, one prepared
executemany on SQLite.

SQLAlchemy's executemany runs every value through its type processors and, on psycopg, sends one
INSERT per row; a batch writes tens of thousands of rows, so this module does the little those
processors do here (JSON to text, 256-bit integers to text on SQLite) and hands plain tuples to the
driver. Rows must carry every column of the table (the projection store and the batch writer build
them so). Other databases fall back to SQLAlchemy's executemany.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from indexer.schema import Uint256

__all__ = ["insert_rows", "json_text"]

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


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (mappings with every column of `table`) in the connection's transaction."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        conn.execute(sa.insert(table), list(rows))
        return
    plan = _plan(table, dialect)
    columns = plan[0]
    values = _tuples(rows, plan)
    names = ", ".join(f'"{name}"' for name in columns)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', values)
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for value in values:
            copy.write_row(value)

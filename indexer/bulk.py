"""Writing many rows at once, at the driver's speed: COPY on PostgreSQL; on SQLite INSERTs of many
rows each (`VALUES (...), (...), ...`).

SQLAlchemy's executemany runs every value through its type processors and, on psycopg, sends one
INSERT per row; a batch writes tens of thousands of rows, so this module does the little those
processors do here (JSON to text, 256-bit integers to text on SQLite) and hands plain values to the
driver. Rows must carry every column of the table (the projection store and the batch writer build
them so). Other databases fall back to SQLAlchemy's executemany.

Why multi-row statements on SQLite: pysqlite's executemany lets go of the GIL for each row's step
and must take it back after every one, which stalls against the thread decoding the next batch
(the GIL is handed over at most every 5 ms); one statement of 500 rows takes it back once. Binding
plain values also costs SQLite about half the CPU of reading the same rows out of a JSON array.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from eth_utils.crypto import keccak
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from indexer.schema import Uint256

__all__ = [
    "PackedRows",
    "by_key",
    "insert_packed",
    "insert_rows",
    "json_text",
    "pack_rows",
    "pack_values",
    "update_packed",
    "update_rows",
]

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


def _tuples(rows: Sequence[Any], plan: _Plan) -> list[Any]:
    """The rows as tuples in column order, converted. Rows are mappings, or tuples already in
    column order (named tuples such as the indexer's EventRow)."""
    _, getter, converts = plan
    ordered = isinstance(rows[0], tuple)
    if not converts:
        return list(rows) if ordered else [getter(row) for row in rows]
    out = []
    for row in rows:
        values = list(row) if ordered else list(getter(row))
        for n, conv in converts:
            values[n] = conv(values[n])
        out.append(tuple(values))
    return out


#: From this many rows on, PostgreSQL updates go through COPY into a temporary table.
_BULK_ROWS = 500
#: Rows per SQLite INSERT at most (fewer when the columns would pass SQLite's variable limit).
_SQLITE_ROWS_PER_STATEMENT = 500


@cache
def _sqlite_variable_limit() -> int:
    """How many `?` one SQLite statement may hold (32,766 since SQLite 3.32, 999 before)."""
    probe = sqlite3.connect(":memory:")
    try:
        return int(probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    finally:
        probe.close()


def _sqlite_chunks(values: Sequence[Sequence[Any]], width: int) -> list[tuple[Any, ...]]:
    """Row tuples as the flat parameters of multi-row INSERTs, each within the variable limit."""
    per = max(1, min(_SQLITE_ROWS_PER_STATEMENT, _sqlite_variable_limit() // width))
    return [tuple(chain.from_iterable(values[i : i + per])) for i in range(0, len(values), per)]


@dataclass(frozen=True)
class PackedRows:
    """Rows made ready for one dialect's bulk insert (`pack_rows`), so the work of converting them
    can happen away from the thread that writes."""

    table: sa.Table
    dialect: str
    #: Mappings with every column, or tuples in column order.
    rows: Sequence[Any]
    #: The rows as tuples in column order (PostgreSQL's COPY).
    values: list[Any] = field(default_factory=list)
    #: SQLite: the flat parameters of each multi-row INSERT.
    chunks: list[tuple[Any, ...]] = field(default_factory=list)
    #: PostgreSQL: each column's type name for a binary COPY of `values` (`_binary_types`), or None:
    #: text COPY.
    binary: tuple[str, ...] | None = None


def pack_rows(dialect: str, table: sa.Table, rows: Sequence[Any]) -> PackedRows:
    """Convert `rows` (mappings with every column of `table`, or tuples in its column order) for
    `dialect`'s bulk insert."""
    if not rows or dialect not in ("sqlite", "postgresql"):
        return PackedRows(table, dialect, rows)
    return pack_values(dialect, table, rows, _tuples(rows, _plan(table, dialect)))


def pack_values(dialect: str, table: sa.Table, rows: Sequence[Any], values: list[Any]) -> PackedRows:
    """`pack_rows` of rows whose converted tuples (`values`: JSON as text, in column order) are
    made already."""
    if dialect == "sqlite":
        return PackedRows(table, dialect, rows, chunks=_sqlite_chunks(values, len(table.columns)))
    types = _binary_types(table) if values else None
    if types is not None and not _in_range(values, types):
        types = None
    return PackedRows(table, dialect, rows, values, binary=types)


#: Column types psycopg writes in binary COPY for us, by the start of their SQL name: (the name
#: psycopg knows them by, and the range an integer of that type must be in).
_BINARY_TYPES: tuple[tuple[str, str, tuple[int, int] | None], ...] = (
    ("BIGINT", "int8", (-(2**63), 2**63)),
    ("INTEGER", "int4", (-(2**31), 2**31)),
    ("NUMERIC", "numeric", None),
    ("BOOLEAN", "bool", None),
    ("VARCHAR", "text", None),
    ("TEXT", "text", None),
    ("JSONB", "jsonb", None),
    ("JSON", "json", None),
)


@cache
def _binary_types(table: sa.Table) -> tuple[str, ...] | None:
    """Each column's type for psycopg's binary COPY (`copy.set_types`), or None when a column is of
    a type not in `_BINARY_TYPES` (arrays, timestamps...): such tables go by text COPY.

    Binary COPY spares the server parsing numbers and the client formatting them: the raw events'
    insert is most of PostgreSQL's share of an index run (docs/benchmarks.md)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    types = []
    for column in table.columns:
        name = column.type.compile(dialect=dialect).upper()
        kind = next((psycopg for prefix, psycopg, _ in _BINARY_TYPES if name.startswith(prefix)), None)
        if kind is None:
            return None
        types.append(kind)
    return tuple(types)


_RANGES = {psycopg: bounds for _, psycopg, bounds in _BINARY_TYPES if bounds is not None}


def _in_range(values: Sequence[Sequence[Any]], types: Sequence[str]) -> bool:
    """Whether every integer column holds numbers within its range: psycopg's binary int4 wraps a
    wider value around without a word. Rows with one that does not go by text COPY, whose refusal
    (the server's) names the column."""
    try:
        for n, kind in enumerate(types):
            bounds = _RANGES.get(kind)
            if bounds is None:
                continue
            column = [row[n] for row in values if row[n] is not None]
            if column and (min(column) < bounds[0] or max(column) >= bounds[1]):
                return False
    except TypeError:  # a value that is no number
        return False
    return True


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Any]) -> None:
    """INSERT `rows` (mappings with every column of `table`, or tuples in its column order) in the
    connection's transaction."""
    insert_packed(conn, pack_rows(conn.dialect.name, table, rows))


def insert_packed(conn: Connection, packed: PackedRows) -> None:
    """INSERT rows `pack_rows` prepared for this connection's dialect."""
    table, rows = packed.table, packed.rows
    if not rows:
        return
    dialect = conn.dialect.name
    assert dialect == packed.dialect, f"rows packed for {packed.dialect}, inserted into {dialect}"
    if dialect not in ("sqlite", "postgresql"):
        columns = _plan(table, dialect)[0]
        mappings = [dict(zip(columns, r, strict=True)) if isinstance(r, tuple) else r for r in rows]
        conn.execute(sa.insert(table), mappings)
        return
    if dialect == "sqlite":
        _insert_sqlite(conn, "INSERT", table, packed.chunks)
        return
    columns = _plan(table, dialect)[0]
    _copy(conn, table.name, ", ".join(f'"{name}"' for name in columns), packed.values, packed.binary)


@lru_cache(maxsize=256)  # a batch's last statement per table can hold any count of rows
def _sqlite_statement(verb: str, table: sa.Table, rows: int) -> str:
    columns = _plan(table, "sqlite")[0]
    names = ", ".join(f'"{name}"' for name in columns)
    one = "(" + ", ".join("?" for _ in columns) + ")"
    return f'{verb} INTO "{table.name}" ({names}) VALUES ' + ", ".join([one] * rows)


def _insert_sqlite(conn: Connection, verb: str, table: sa.Table, chunks: Sequence[tuple[Any, ...]]) -> None:
    """SQLite: `verb` (INSERT, INSERT OR REPLACE) the rows of each flat parameter list, one
    statement per list."""
    width = len(table.columns)
    for params in chunks:
        conn.exec_driver_sql(_sqlite_statement(verb, table, len(params) // width), params)


def _as_is(text: str) -> str:
    return text


def _copy(
    conn: Connection, table_name: str, names: str, values: Sequence[Any], types: Sequence[str] | None = None
) -> None:
    """PostgreSQL: COPY `values` (tuples in the order of `names`, JSON as text) into a table; in
    binary with `types` (psycopg's names of the columns' types), else as text."""
    import psycopg
    from psycopg.types.json import set_json_dumps

    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f'COPY "{table_name}" ({names}) FROM STDIN' + (" (FORMAT BINARY)" if types else "")
    try:
        with driver.cursor() as cursor:
            set_json_dumps(_as_is, context=cursor)  # the JSON values are text already
            with cursor.copy(statement) as copy:
                if types:
                    copy.set_types(types)
                write = copy.write_row
                for value in values:
                    write(value)
    except psycopg.Error as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError, ...)
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=conn.dialect) from exc


def by_key(table: sa.Table) -> sa.ColumnElement[bool]:
    """WHERE the primary key equals the parameters `pk_<column>` (one statement for many keys)."""
    return sa.and_(*(column == sa.bindparam(f"pk_{column.name}") for column in table.primary_key.columns))


def update_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write rows' whole state (mappings with every column of `table`) over the rows with their
    primary keys; a row that is not there is written all the same, the same on every backend.

    On SQLite, multi-row INSERT OR REPLACE statements (no triggers or foreign keys here, so
    replacing a row equals updating it). On PostgreSQL, INSERT ... ON CONFLICT DO UPDATE: a few
    rows in one multi-row statement, many through a COPY into a temporary table first (kept for the
    session, emptied at each commit). Other databases take an executemany UPDATE.
    """
    update_packed(conn, pack_rows(conn.dialect.name, table, rows))


def update_packed(conn: Connection, packed: PackedRows) -> None:
    """`update_rows` of rows `pack_rows` prepared for this connection's dialect."""
    table, rows = packed.table, packed.rows
    if not rows:
        return
    dialect = conn.dialect.name
    assert dialect == packed.dialect, f"rows packed for {packed.dialect}, written to {dialect}"
    if dialect == "sqlite":
        _insert_sqlite(conn, "INSERT OR REPLACE", table, packed.chunks)
        return
    if dialect == "postgresql":
        statements = _postgres_upsert(table)
        if len(rows) < _BULK_ROWS:
            conn.exec_driver_sql(statements.values(len(rows)), tuple(chain.from_iterable(packed.values)))
            return
        conn.exec_driver_sql(statements.staging)
        _copy(conn, statements.staging_name, statements.names, packed.values, packed.binary)
        conn.exec_driver_sql(statements.from_staging)
        return
    pk = [c.name for c in table.primary_key.columns]
    conn.execute(sa.update(table).where(by_key(table)), [{**r, **{f"pk_{n}": r[n] for n in pk}} for r in rows])


@dataclass(frozen=True)
class _Upsert:
    """PostgreSQL's upsert statements for one table (`_postgres_upsert`)."""

    names: str
    #: `INSERT ... VALUES (%s, ...) ON CONFLICT`, with the VALUES part left to fill.
    head: str
    tail: str
    row: str
    staging_name: str
    #: Creates the staging table if this session has none; it empties at each commit.
    staging: str
    from_staging: str

    def values(self, rows: int) -> str:
        return f"{self.head} VALUES {', '.join([self.row] * rows)} {self.tail}"


@cache
def _postgres_upsert(table: sa.Table) -> _Upsert:
    columns = _plan(table, "postgresql")[0]
    pk = [c.name for c in table.primary_key.columns]
    names = ", ".join(f'"{name}"' for name in columns)
    keys = ", ".join(f'"{c}"' for c in pk)
    sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in pk)
    head = f'INSERT INTO "{table.name}" ({names})'
    tail = f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    # Named after the columns too: a session that outlived a schema change gets a new one.
    staging = f"_upsert_{table.name}_{keccak(text=names).hex()[:8]}"
    return _Upsert(
        names=names,
        head=head,
        tail=tail,
        row="(" + ", ".join("%s" for _ in columns) + ")",
        staging_name=staging,
        staging=f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" (LIKE "{table.name}") ON COMMIT DELETE ROWS',
        from_staging=f'{head} SELECT {names} FROM "{staging}" {tail}',
    )

"""Bulk writes (indexer/bulk.py) store exactly what SQLAlchemy would, for a few rows and for more
rows than one SQLite statement holds (PostgreSQL's update through a staging table from _BULK_ROWS
rows on), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer import bulk
from indexer.bulk import insert_rows, update_rows
from indexer.schema import Block, Event, Member, Pool
from indexer.store import _defaults

_MEMBER = Member.__table__  # type: ignore[attr-defined]
_POOL = Pool.__table__  # type: ignore[attr-defined]
_EVENT = Event.__table__  # type: ignore[attr-defined]
_BLOCK = Block.__table__  # type: ignore[attr-defined]


def _member(n: int, **changes: Any) -> dict[str, Any]:
    row = _defaults(Member) | {
        "pool": "0x" + "ab" * 20,
        "member": f"0x{n:040x}",
        "tier": n % 3,
        "valid_until": 2**63 - 1 - n,
        "total_paid": 2**200 + n,  # beyond 64 bits: a NUMERIC / decimal-text column
        "tx_hash": "0x" + f"{n:064x}",
        "block_number": n,
        "log_index": n % 7,
    }
    return row | changes


def _pool(n: int) -> dict[str, Any]:
    return _defaults(Pool) | {
        "address": f"0x{n:040x}",
        "name": f'pool "{n}" — ünïcode \\ back\\slash,\ttab,\nnewline',
        "paused": n % 2 == 0,
        "required_jurisdictions": ["US", "EP"][: n % 3],
        "total_revenue": 10**30 + n,
    }


def _event(n: int) -> dict[str, Any]:
    return {
        "chain_id": 31337,
        "block_number": n // 10,
        "log_index": n % 10,
        "block_hash": f"0x{n // 10:064x}",
        "block_timestamp": 1_700_000_000 + n,
        "tx_hash": f"0x{n:064x}",
        "tx_index": n % 3,
        "address": "0x" + "cd" * 20,
        "event_name": "RevenueReceived",
        "args": {
            "amount": str(2**255 + n),
            "payer": "0x" + "ef" * 20,
            "nested": {"list": [1, 2, n], "s": 'a\\b\n\t"c'},
        },
        "topics": ["0x" + "11" * 32, f"0x{n:064x}"],
        "data": "0x" + "00" * 32,
    }


def _read(engine: Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]


@pytest.mark.parametrize("count", [3, bulk._SQLITE_ROWS_PER_STATEMENT + 7], ids=["few", "bulk"])
def test_inserted_rows_read_back_as_written(engine: Engine, count: int) -> None:
    for table, make in ((_MEMBER, _member), (_POOL, _pool), (_EVENT, _event)):
        rows = [make(n) for n in range(count)]
        with engine.begin() as conn:
            insert_rows(conn, table, rows)
        key = [c.name for c in table.primary_key.columns]
        assert _read(engine, table) == sorted(rows, key=lambda r: [r[k] for k in key]), table.name


@pytest.mark.parametrize("count", [3, bulk._SQLITE_ROWS_PER_STATEMENT + 7], ids=["few", "bulk"])
def test_updated_rows_replace_exactly_their_rows(engine: Engine, count: int) -> None:
    rows = [_member(n) for n in range(count + 5)]
    with engine.begin() as conn:
        insert_rows(conn, _MEMBER, rows)
    changed = [_member(n, tier=9, renewals=n + 1, total_paid=2**201 + n) for n in range(count)]
    with engine.begin() as conn:
        update_rows(conn, _MEMBER, changed)
    assert _read(engine, _MEMBER) == changed + rows[count:]


def test_a_failed_transaction_leaves_no_bulk_rows(engine: Engine) -> None:
    rows = [_member(n) for n in range(bulk._SQLITE_ROWS_PER_STATEMENT + 1)]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        insert_rows(conn, _MEMBER, rows)
        insert_rows(conn, _MEMBER, rows[:1])  # the same key again
    assert _read(engine, _MEMBER) == []


def test_rows_split_into_statements_within_sqlites_variable_limit(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    width = len(_MEMBER.columns)
    monkeypatch.setattr(bulk, "_sqlite_variable_limit", lambda: 999)  # SQLite before 3.32
    rows = [_member(n) for n in range(200)]
    chunks = bulk.pack_rows("sqlite", _MEMBER, rows).chunks
    assert len(chunks) > 1 and all(len(c) <= 999 and len(c) % width == 0 for c in chunks)
    assert sum(len(c) for c in chunks) == 200 * width
    with engine.begin() as conn:
        insert_rows(conn, _MEMBER, rows)
    assert _read(engine, _MEMBER) == sorted(rows, key=lambda r: (r["pool"], r["member"]))


def test_tuple_rows_in_column_order_are_stored_as_their_mappings_would_be(engine: Engine) -> None:
    columns = [c.name for c in _EVENT.columns]
    rows = [_event(n) for n in range(bulk._SQLITE_ROWS_PER_STATEMENT + 3)]
    with engine.begin() as conn:
        insert_rows(conn, _EVENT, [tuple(row[c] for c in columns) for row in rows])
    assert _read(engine, _EVENT) == rows


@pytest.mark.parametrize("count", [3, bulk._BULK_ROWS + 7], ids=["few", "bulk"])
def test_an_update_writes_a_rows_whole_state_even_where_the_row_is_missing(engine: Engine, count: int) -> None:
    # The projections always write a row's whole state: a row the store believed present, but that is
    # not, must not be lost silently (an UPDATE would match nothing), on any backend.
    present = [_member(n) for n in range(0, 2 * count, 2)]
    with engine.begin() as conn:
        insert_rows(conn, _MEMBER, present)
    changed = [_member(n, tier=7, renewals=3) for n in range(2 * count)]
    with engine.begin() as conn:
        update_rows(conn, _MEMBER, changed)
    assert _read(engine, _MEMBER) == sorted(changed, key=lambda r: (r["pool"], r["member"]))


def test_bulk_updates_on_one_connection_across_commits_and_rollbacks(engine: Engine) -> None:
    # PostgreSQL keeps its staging table for the session, emptied at each commit: a later update on
    # the same connection must not see an earlier one's rows, nor miss the table when the
    # transaction that made it rolled back.
    many = bulk._BULK_ROWS + 3
    first = [_member(n, tier=1) for n in range(many)]
    second = [_member(n, tier=2) for n in range(many)]  # the same keys: a leftover row would clash
    with engine.connect() as conn:
        with conn.begin() as tx:
            update_rows(conn, _MEMBER, first)
            tx.rollback()
        with conn.begin():
            update_rows(conn, _MEMBER, first)
        with conn.begin():
            update_rows(conn, _MEMBER, second)
    assert _read(engine, _MEMBER) == sorted(second, key=lambda r: (r["pool"], r["member"]))


def test_a_value_out_of_its_columns_range_is_refused_by_postgresql(engine: Engine) -> None:
    # psycopg's binary int4 would wrap it around: such rows go by text COPY, whose refusal names the problem.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's INTEGER takes 64 bits whatever the column says")
    for column, value in (("log_index", 2**31), ("tx_index", -(2**31) - 1), ("block_number", 2**63)):
        row = _event(1) | {column: value}
        with pytest.raises(sa.exc.DBAPIError, match=r"out of range"), engine.begin() as conn:
            insert_rows(conn, _EVENT, [row])
        assert _read(engine, _EVENT) == []


def test_rows_within_their_columns_ranges_go_by_binary_copy() -> None:
    blocks = [(n, "0x12", "0x34", 2**63 - 1, 2**31 - 1, "0x56") for n in range(3)]
    assert bulk.pack_values("postgresql", _BLOCK, blocks, blocks).binary == (
        "int8",
        "text",
        "text",
        "int8",
        "int4",
        "text",
    )
    wide = [*blocks, (9, "0x12", "0x34", 0, 2**31, "0x56")]
    assert bulk.pack_values("postgresql", _BLOCK, wide, wide).binary is None
    values = [(n, 2**31 - 1, -(2**63), None) for n in range(3)]
    assert bulk._in_range(values, ("int8", "int4", "int8", "int4"))
    assert not bulk._in_range(values, ("int8", "int8", "int4", "int4"))  # -2**63 is no int4
    assert not bulk._in_range([(1,), ("2",)], ("int4",))  # text in a number column: text COPY
    assert bulk._binary_types(Pool.__table__) is not None  # type: ignore[attr-defined]


_NUMBERS = [0, 1, 9999, 10_000, 10_001, 10**8, 10**8 + 1, 2**63 - 1, 2**63, 2**64, 10**20, 2**255, 2**256 - 1]
_NUMBERS += [10**77, 10**78 - 1, -1, -10_000, -(2**63), -(2**64) - 5, -(10**78 - 1), 12_3400_0000_0000]


def test_binary_copy_writes_numbers_and_booleans_as_postgresql_reads_them(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    rows = [(n, i % 2 == 0, i, -i, f"é{i}\t", f'{{"a": {i}}}', f"[{i}]") for i, n in enumerate(_NUMBERS)]
    types = ("numeric", "bool", "int8", "int4", "text", "jsonb", "json")
    table = "numbers (n NUMERIC(78, 0), b BOOLEAN, q BIGINT, i INTEGER, t TEXT, j JSONB, k JSON)"
    names = "n, b, q, i, t, j, k"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {table} ON COMMIT DROP")
        bulk._copy(conn, "numbers", names, rows, types)
        back = list(conn.exec_driver_sql(f"SELECT {names}, j::text, k::text FROM numbers"))
    assert [(int(n), b, q, i, t) for n, b, q, i, t, *_ in back] == [row[:5] for row in rows]
    assert [(j, k) for *_, j, k in back] == [(f'{{"a": {i}}}', f"[{i}]") for i in range(len(rows))]
    with pytest.raises(sa.exc.DBAPIError, match="overflow"), engine.begin() as conn:  # beyond NUMERIC(78)
        conn.exec_driver_sql("CREATE TEMPORARY TABLE numbers (n NUMERIC(78, 0)) ON COMMIT DROP")
        bulk._copy(conn, "numbers", "n", [(10**78,)], ("numeric",))

"""The unit of work of a batch: projection rows read once, changed in memory, written back in bulk.

`Store` is what the event handlers (indexer/projections.py) change: it reads each row a batch
touches once (from `RowCache`, the rows committed by earlier batches, or else from the database),
keeps the changed rows in memory, and at the end of the batch writes them back in bulk
(indexer/bulk.py: new rows inserted, changed ones upserted), recording their prior state for the
undo log within the reorg window. Measured against one statement per row per event, it makes the
indexer 4-10x faster (docs/benchmarks.md, "What each speed device buys").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from indexer.bulk import by_key, insert_packed, pack_rows, update_packed

__all__ = ["Ev", "Reads", "Row", "RowCache", "Store", "table_of", "touch"]

Row = dict[str, Any]


class Ev(Protocol):
    """What the projections read of an event: the `event` table's row (the indexer's EventRow, or a
    row read back from the table)."""

    @property
    def block_number(self) -> int: ...
    @property
    def log_index(self) -> int: ...
    @property
    def block_hash(self) -> str: ...
    @property
    def block_timestamp(self) -> int: ...
    @property
    def tx_hash(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def event_name(self) -> str: ...
    @property
    def args(self) -> dict[str, Any]: ...


#: By event name, the table and primary key its handler reads first (`Store.prefetch`).
Reads = Callable[[Ev, Mapping[str, Any]], tuple[type[SQLModel], tuple[Any, ...]]]


def table_of(model: type[SQLModel]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


class RowCache:
    """Committed projection rows by (table, primary key), least recently used dropped first.

    The indexer is the database's only writer (its lock), so a row it committed is the row in the
    database until it writes again: batches read the rows earlier batches wrote from here instead
    of one SELECT each (members renewing, pools receiving payments). Cleared on any rollback.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._rows: OrderedDict[tuple[type[SQLModel], tuple[Any, ...]], Row] = OrderedDict()

    def get(self, model: type[SQLModel], key: tuple[Any, ...]) -> Row | None:
        row = self._rows.get((model, key))
        if row is not None:
            self._rows.move_to_end((model, key))
        return row

    def keep(self, store: Store) -> None:
        """Remember a store's rows once its transaction committed (the store is done with them)."""
        rows = self._rows
        for entry, row in store.rows():
            rows[entry] = row
            rows.move_to_end(entry)
        while len(rows) > self.limit:
            rows.popitem(last=False)

    def clear(self) -> None:
        self._rows.clear()


class Store:
    """The projection rows one batch touches, read on first use and written back by `flush`."""

    def __init__(
        self,
        conn: Connection,
        empty: bool = False,
        record: bool = False,
        cache: RowCache | None = None,
        settle: Callable[[], object] | None = None,
    ) -> None:
        self.conn = conn
        self.cache = cache
        #: Called before the store uses the connection: the indexer's writer passes it when another
        #: thread writes the batch's rows on the same connection, to wait for those writes.
        self.settle: Callable[[], object] = settle or _nothing
        self.empty = empty  # rebuilding: nothing is in the tables, never read them
        self.record = record  # keep every changed row's state from before this store (`undo_rows`)
        self._before: dict[type[SQLModel], dict[tuple[Any, ...], Row | None]] = {}
        self._rows: dict[type[SQLModel], dict[tuple[Any, ...], Row]] = {}
        self._existing: dict[type[SQLModel], set[tuple[Any, ...]]] = {}
        self._dirty: dict[type[SQLModel], set[tuple[Any, ...]]] = {}
        self._appended: dict[type[SQLModel], list[Row]] = {}
        #: Rows `prefetch` read (None: not in the database), consulted before a SELECT of one row.
        self._read: dict[tuple[type[SQLModel], tuple[Any, ...]], Row | None] = {}

    @staticmethod
    def _pk(model: type[SQLModel]) -> tuple[str, ...]:
        names = _PKS.get(model)
        if names is None:
            names = _PKS[model] = tuple(c.name for c in table_of(model).primary_key.columns)
        return names

    def _key(self, model: type[SQLModel], fields: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple([fields[name] for name in self._pk(model)])

    def get(self, model: type[SQLModel], **key: Any) -> Row | None:
        """The row with this primary key (marked changed: callers get rows to change them)."""
        k = self._key(model, key)
        rows = self._rows.setdefault(model, {})
        row = rows.get(k)
        if row is None and not self.empty:
            found: Mapping[str, Any] | None = self.cache.get(model, k) if self.cache is not None else None
            if found is None and (model, k) in self._read:
                found = self._read[(model, k)]
            elif found is None:
                self.settle()
                params = {f"pk_{n}": v for n, v in key.items()}
                found = cast(
                    Mapping[str, Any] | None, self.conn.execute(_select_by_key(model), params).mappings().first()
                )
            if found is not None:
                row = dict(found)
                rows[k] = row
                self._existing.setdefault(model, set()).add(k)
                if self.record:
                    self._before.setdefault(model, {}).setdefault(k, dict(found))
        if row is not None:
            self._dirty.setdefault(model, set()).add(k)
        return row

    def prefetch(self, events: Iterable[Ev], reads_of: Mapping[str, Reads], chunk: int = 500) -> int:
        """Read, in one query per table, the rows `events` will look up (`reads_of`: by event name,
        the table and key its handler reads first; indexer.projections.READS) that neither
        this store nor the cache holds; returns how many keys were asked for. Only a shortcut: a row
        `get` does not find here is read on its own, as before."""
        if self.empty:
            return 0
        wanted: dict[type[SQLModel], set[tuple[Any, ...]]] = {}
        for ev in events:
            reads = reads_of.get(ev.event_name)
            if reads is None:
                continue
            model, k = reads(ev, ev.args)
            if k in self._rows.get(model, ()) or (self.cache is not None and self.cache.get(model, k) is not None):
                continue
            wanted.setdefault(model, set()).add(k)
        if wanted:
            self.settle()
        for model, keys in wanted.items():
            table = table_of(model)
            columns = [table.c[name] for name in self._pk(model)]
            ordered = sorted(keys)
            for i in range(0, len(ordered), chunk):
                part = ordered[i : i + chunk]
                found = self.conn.execute(sa.select(table).where(sa.tuple_(*columns).in_(part))).mappings()
                for row in found:
                    values = dict(row)
                    self._read[(model, self._key(model, values))] = values
            for k in ordered:
                self._read.setdefault((model, k), None)
        return sum(map(len, wanted.values()))

    def get_or_create(self, model: type[SQLModel], **key: Any) -> Row:
        row = self.get(model, **key)
        return row if row is not None else self.add(model, **key)

    def add(self, model: type[SQLModel], **values: Any) -> Row:
        """A new row: the model's defaults overlaid with `values`."""
        row = _defaults(model) | values
        k = self._key(model, row)
        self._rows.setdefault(model, {})[k] = row
        if self.record and k not in self._existing.get(model, ()):
            self._before.setdefault(model, {}).setdefault(k, None)
        self._dirty.setdefault(model, set()).add(k)
        return row

    def append(self, model: type[SQLModel], ev: Ev, **values: Any) -> None:
        """A new row of an append-only table (one row per event, never read back in a batch),
        with the event's provenance."""
        row = touch(_defaults(model), ev)
        row.update(values)
        self._appended.setdefault(model, []).append(row)

    def flush(self, submit: Callable[[Callable[[], object]], object] | None = None) -> int:
        """Write every changed row; returns how many. With `submit`, the rows are packed for the
        database here and each write is handed to `submit` to run (in order, on the connection),
        so packing the next table goes on while the database writes the last; the caller waits
        for them."""
        if submit is None:
            self.settle()
            submit = _run_now
        dialect = self.conn.dialect.name
        written = 0
        for model, new in self._appended.items():
            submit(partial(insert_packed, self.conn, pack_rows(dialect, table_of(model), new)))
            written += len(new)
        self._appended = {}
        for model, keys in self._dirty.items():
            table = table_of(model)
            rows = self._rows[model]
            existing = self._existing.get(model, set())
            inserts = [rows[k] for k in keys if k not in existing]
            updates = [rows[k] for k in keys if k in existing]
            if inserts:
                submit(partial(insert_packed, self.conn, pack_rows(dialect, table, inserts)))
            if updates:
                submit(partial(update_packed, self.conn, pack_rows(dialect, table, updates)))
            existing.update(keys)
            self._existing[model] = existing
            written += len(keys)
        self._dirty = {}
        return written

    def rows(self) -> Iterator[tuple[tuple[type[SQLModel], tuple[Any, ...]], Row]]:
        """Every row this store read or made (not the append-only ones), by (table, key)."""
        for model, keyed in self._rows.items():
            for key, row in keyed.items():
                yield (model, key), row

    def undo_rows(self, first: int, end: int) -> list[Row]:
        """`projection_undo` rows for a batch of blocks [first, end] this store recorded."""
        marker = {"batch_first": first, "seq": 0, "batch_end": end, "table_name": "", "key": [], "image": None}
        rows: list[Row] = [marker]
        for model, before in self._before.items():
            name = table_of(model).name
            for key, image in before.items():
                rows.append(
                    {
                        "batch_first": first,
                        "seq": len(rows),
                        "batch_end": end,
                        "table_name": name,
                        "key": list(key),
                        "image": image,
                    }
                )
        return rows


def _nothing() -> None:
    return None


def _run_now(write: Callable[[], object]) -> None:
    write()


_SELECTS: dict[type[SQLModel], sa.Select[Any]] = {}
_PKS: dict[type[SQLModel], tuple[str, ...]] = {}


def _select_by_key(model: type[SQLModel]) -> sa.Select[Any]:
    """SELECT one row by primary key, built once per table so its compiled form is reused."""
    stmt = _SELECTS.get(model)
    if stmt is None:
        table = table_of(model)
        stmt = sa.select(table).where(by_key(table))
        _SELECTS[model] = stmt
    return stmt


_DEFAULTS: dict[type[SQLModel], tuple[Row, tuple[tuple[str, Callable[[], Any]], ...]]] = {}


def _defaults(model: type[SQLModel]) -> Row:
    cached = _DEFAULTS.get(model)
    if cached is None:
        fixed: Row = {}
        made: list[tuple[str, Callable[[], Any]]] = []
        for name, info in model.model_fields.items():
            fixed[name] = info.default
            if info.default_factory is not None:
                made.append((name, info.default_factory))  # type: ignore[arg-type]
        cached = _DEFAULTS[model] = (fixed, tuple(made))
    static, factories = cached
    row = static.copy()
    for name, factory in factories:
        row[name] = factory()
    return row


def touch(row: Row, ev: Ev) -> Row:
    """Stamp `row` with the provenance of `ev` (its last change); returns the row."""
    row["tx_hash"] = ev.tx_hash
    row["block_number"] = ev.block_number
    row["block_hash"] = ev.block_hash
    row["log_index"] = ev.log_index
    return row

"""A first load without secondary indexes: they are built once, by sorting, when it catches up.

A secondary index takes every inserted row at its own place in its B-tree: by transaction hash
that is anywhere, so a long first load spends much of the database's time on them (on SQLite a
fifth of all the CPU of an index run, see docs/benchmarks.md). Building an index over rows already
stored is one sort, the way PostgreSQL's and SQLite's own bulk-load advice says to fill a table.

The rule (`Indexer.run` applies it):

- a run that starts on a database with no raw events (a first load) drops the secondary indexes of
  the mirrored tables first; so does a run that finds some of them missing (a first load that was
  killed: it goes on where it stopped, still without them);
- the run builds them all again once it reaches the head, before following it, and when it stops
  (Ctrl-C, or an error that leaves the database usable); only a killed or aborted process (a
  second Ctrl-C) leaves them out, until the next run.

Primary keys and unique constraints (what keeps the mirror exact) always stay, and so do the
indexes of `projection_undo`, which every batch queries. Readers see the same rows either way;
while a first load runs, their lookups by the missing indexes are scans.

For migration authors: a migration that changes one of these indexes must expect it to be missing
(`if_exists=True`), as it is in a database whose first load was killed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import indexer.schema  # noqa: F401 - registers the tables on SQLModel.metadata
from indexer.schema import Event, ProjectionUndo

__all__ = ["Built", "build", "build_all", "deferrable", "missing", "start"]

#: Hears (indexes built so far, indexes to build) before each index and once at the end.
Built = Callable[[int, int], None]

_EVENT = Event.__table__  # type: ignore[attr-defined]
#: Tables whose indexes the write path itself reads by, so they stay.
_KEPT = {ProjectionUndo.__tablename__}


@cache
def deferrable() -> tuple[sa.Index, ...]:
    """The secondary (non-unique) indexes a first load goes without, in a fixed order."""
    return tuple(
        index
        for table in SQLModel.metadata.sorted_tables
        if table.name not in _KEPT
        for index in sorted(table.indexes, key=lambda i: str(i.name))
        if not index.unique
    )


def missing(conn: Connection) -> list[sa.Index]:
    """The deferrable indexes the database does not have."""
    inspector = sa.inspect(conn)
    tables = {index.table.name for index in deferrable()}  # type: ignore[union-attr]
    present = {
        (table, entry["name"])
        for (_schema, table), entries in inspector.get_multi_indexes(filter_names=sorted(tables)).items()
        for entry in entries
    }
    return [index for index in deferrable() if (index.table.name, index.name) not in present]  # type: ignore[union-attr]


def start(conn: Connection) -> bool:
    """At the start of a run: whether it is a first load (nothing indexed yet, or an earlier first
    load left some of the indexes out); if so, drop the deferrable indexes the database still has."""
    absent = {index.name for index in missing(conn)}
    empty = conn.execute(sa.select(sa.literal(1)).select_from(_EVENT).limit(1)).first() is None
    if not (empty or absent):
        return False
    for index in deferrable():
        if index.name not in absent:
            index.drop(conn)
    return True


def build(conn: Connection, on_progress: Built = lambda _done, _total: None) -> int:
    """Create the deferrable indexes the database lacks, on this connection; returns how many."""
    todo = missing(conn)
    for done, index in enumerate(todo):
        on_progress(done, len(todo))
        index.create(conn)
    on_progress(len(todo), len(todo))
    return len(todo)


#: PostgreSQL: indexes built at the same time, each on a connection of its own.
_POSTGRES_BUILDERS = 2


def build_all(engine: Engine, on_progress: Built = lambda _done, _total: None) -> int:
    """`build`, on PostgreSQL by two connections at once (the server sorts for each index on a
    core of its own), each index in a transaction of its own: one that fails leaves the others
    built and itself missing, for the next run. Elsewhere one connection builds them one after
    another (SQLite has one writer; its driver commits each CREATE INDEX as it runs, so a failure
    there too leaves the ones before it built). Returns how many; raises the first failure once
    every builder stopped."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            return build(conn, on_progress)
    with engine.connect() as conn:
        todo = missing(conn)
    # The largest tables' first: the raw events' indexes take most of the time.
    todo.sort(key=lambda index: index.table is not _EVENT)
    lock = threading.Lock()
    done = 0
    on_progress(0, len(todo))

    def create(index: sa.Index) -> None:
        nonlocal done
        with engine.begin() as conn:
            index.create(conn)
        with lock:
            done += 1
            if done < len(todo):
                on_progress(done, len(todo))

    with ThreadPoolExecutor(_POSTGRES_BUILDERS, thread_name_prefix="indexer-index-build") as builders:
        futures = [builders.submit(create, index) for index in todo]
    for future in futures:
        future.result()  # the first failure, in the order of the list
    on_progress(len(todo), len(todo))
    return len(todo)

"""Writing a batch: its raw events, blocks, projections, undo record and checkpoint, in one
transaction.

Within the reorg window (`recent_blocks` behind the target) a batch also records the prior state
of every projection row it changes (`projection_undo`), which is what lets a shallow reorg undo
just those rows (indexer/reorg.py).

With an inserter thread (while `Indexer.run` is on), the database's work runs beside this
thread's: the raw events and blocks, then each projection table's rows, go one after another to
the inserter, while this thread applies the events to the projections in memory and packs the next
table. The store waits for the writes queued so far before it reads the connection itself
(`Store(settle=...)`), so the connection serves one thread at a time; everything stays in the
batch's one transaction. A failed write skips the ones after it and is raised once none is
running.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from indexer.batch import Batch, StepResult
from indexer.bulk import insert_packed, insert_rows
from indexer.lock import Lock
from indexer.projections import READS, apply
from indexer.schema import Checkpoint, ProjectionUndo, RecentBlock
from indexer.store import RowCache, Store

__all__ = ["WalCheckpoints", "Writer"]

_RECENT = RecentBlock.__table__  # type: ignore[attr-defined]
_CHECKPOINT = Checkpoint.__table__  # type: ignore[attr-defined]
_UNDO = ProjectionUndo.__table__  # type: ignore[attr-defined]

#: SQLite's own default: a commit checkpoints the WAL once it holds this many pages.
_SQLITE_AUTOCHECKPOINT = 1000
#: SQLite page cache of the writing connection, in KiB (SQLite's default is 2,000). A batch inserts
#: into indexes keyed by hashes, all over their B-trees; with the default cache most of those pages
#: are read back from the file on every batch.
_SQLITE_CACHE_KIB = 64 * 1024


class WalCheckpoints:
    """SQLite: WAL checkpoints in a thread of their own while `Indexer.run` indexes.

    By default the commit that grows the write-ahead log past 1,000 pages copies it back into the
    database file there and then, on the writer's path, after nearly every large batch. While
    `run` is on, batches commit with automatic checkpoints off and this thread checkpoints after
    each one (PASSIVE: it never blocks the writer or readers), on a connection of its own. Does
    nothing on other databases.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WalCheckpoints | None:
        if self.engine.dialect.name != "sqlite":
            return None
        self._thread = threading.Thread(target=self._loop, name="indexer-wal-checkpoints", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wanted.set()
            self._thread.join()
            self._checkpoint()  # leave the log short

    def kick(self) -> None:
        self._wanted.set()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            self._checkpoint()

    def _checkpoint(self) -> None:
        with contextlib.suppress(sa.exc.SQLAlchemyError), self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


class _Writes:
    """A batch's writes queued on the inserter thread, in order; after a failed one the rest are
    skipped (the transaction only rolls back)."""

    def __init__(self, inserter: ThreadPoolExecutor) -> None:
        self._inserter = inserter
        self._futures: list[Future[None]] = []
        self._failed: list[BaseException] = []

    def submit(self, op: Callable[[], object]) -> None:
        self._futures.append(self._inserter.submit(self._run, op))

    def _run(self, op: Callable[[], object]) -> None:
        if not self._failed:
            try:
                op()
            except BaseException as exc:
                self._failed.append(exc)

    def finish(self) -> None:
        """Wait until no write is running (the connection is free again)."""
        wait(self._futures)

    def settle(self) -> None:
        """Wait for the writes queued so far; raise the first failed one's error."""
        self.finish()
        if self._failed:
            raise self._failed[0]


def _run_now(op: Callable[[], object]) -> None:
    op()


@dataclass
class Writer:
    """Commits batches to one database (the lock re-checked in each transaction)."""

    engine: Engine
    lock: Lock | None = None
    recent_blocks: int = 256
    finality_depth: int = 0
    row_cache: RowCache = field(default_factory=RowCache)
    #: The thread the database's work goes to (None: this thread does it all, in order).
    inserter: ThreadPoolExecutor | None = None
    #: SQLite's WAL checkpoints after each batch (None: SQLite's automatic ones).
    wal: WalCheckpoints | None = None

    def write(self, batch: Batch) -> StepResult:
        """Commit a batch: raw events, digests, projections and checkpoint, one transaction."""
        cp, end, end_hash, events = batch.cp, batch.end, batch.end_hash, batch.events
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # see WalCheckpoints
                autocheckpoint = 0 if self.wal is not None else _SQLITE_AUTOCHECKPOINT
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
                conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
            if self.lock is not None:
                self.lock.check(conn)
            writes = _Writes(self.inserter) if self.inserter is not None and events else None
            # Within the reorg window, keep what undoes this batch's projection changes.
            store = Store(
                conn,
                record=end >= batch.target - self.recent_blocks,
                cache=self.row_cache,
                settle=writes.settle if writes is not None else None,
            )
            if events:
                store.prefetch(events, READS)
                self._write_events(conn, batch, store, writes)
            if store.record:
                insert_rows(conn, _UNDO, store.undo_rows(batch.first, end))
            horizon = end - self.recent_blocks - self.finality_depth
            conn.execute(sa.insert(_RECENT).values(number=end, hash=end_hash))
            conn.execute(sa.delete(_RECENT).where(_RECENT.c.number < horizon))
            conn.execute(sa.delete(_UNDO).where(_UNDO.c.batch_end < horizon))
            conn.execute(
                sa.update(_CHECKPOINT)
                .where(_CHECKPOINT.c.id == 1)
                .values(
                    block_number=end,
                    block_hash=end_hash,
                    digest=batch.digest,
                    event_count=cp.events + len(events),
                    updated_at=time.time(),
                )
            )
        self.row_cache.keep(store)
        if self.wal is not None:
            self.wal.kick()
        return StepResult(
            "batch",
            batch.first,
            end,
            batch.head,
            batch.target,
            events=len(events),
            digest=batch.digest,
            seconds=time.monotonic() - batch.started,
        )

    @staticmethod
    def _write_events(conn: Connection, batch: Batch, store: Store, writes: _Writes | None) -> None:
        """Insert the batch's raw events and blocks, apply its events to the projections in
        `store` and write their rows, in that order on the connection: on the inserter thread
        with `writes` (see the module's docstring), else here."""

        def insert() -> None:
            insert_packed(conn, batch.packed_events)
            insert_packed(conn, batch.packed_blocks)

        if writes is None:
            insert()
            for event in batch.events:
                apply(store, event)
            store.flush(_run_now)
            return
        writes.submit(insert)
        try:
            for event in batch.events:
                apply(store, event)
            store.flush(writes.submit)
        finally:
            writes.finish()  # the connection is free again only once every write is over
        writes.settle()  # the first failed write's error, if one failed

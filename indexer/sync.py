"""The indexing loop: read a batch of logs, decode it, and commit events, projections, digests and
the checkpoint in one transaction; detect reorgs and roll back to the common ancestor.

Batches. A batch covers [checkpoint + 1, end], `end` chosen by the adaptive fetcher, never beyond
head - finality_depth. It reads the factory, PatentAsset, every known pool and the payment tokens'
transfers to and from pools; a `PoolCreated` in the batch adds its pool (from its block) and the
pool's token transfers before the batch is written. Each batch then checks, against headers read
after the logs: the first block's parent is the checkpoint, the end block's hash did not change
while the logs were read, and every log's blockHash is its block's hash. A failed check discards
the batch (nothing was written) and the next step starts over.

Reorgs. Each step first compares the checkpoint's hash with the chain's. On a mismatch the indexer
walks back over the hashes it stored (recent batch ends and every block that held events) to the
newest one the chain still has: the common ancestor. One transaction then deletes the raw events
and digests above it, moves the checkpoint there and brings the projections back to the ancestor.
Batches within the reorg window (`recent_blocks` behind the target) record the prior state of every
projection row they change (`projection_undo`), so the rollback restores just those rows to their
state before the oldest undone batch and replays the raw events from that batch's start up to the
ancestor: its cost is the few recent batches, not the history. A reorg deeper than that record
rebuilds every projection from the raw events instead. Either way the result equals a fresh index.
Pools discovered above the ancestor are forgotten with their `PoolCreated`.

Integrity digest: see indexer/digest.py (one keccak per block over its logs, chained).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from eth_utils.crypto import keccak
from sqlalchemy.engine import Connection, Engine

from indexer import deferred
from indexer.bulk import PackedRows, insert_packed, insert_rows, pack_rows
from indexer.db import DATABASE_FAILURES
from indexer.decode import decode_log, event_topic
from indexer.digest import GENESIS_DIGEST, next_digest
from indexer.errors import (
    DatabaseMismatch,
    DeploymentNotOnChain,
    InvalidSettings,
    ReorgDuringBatch,
    RpcUnavailable,
    StartBeyondHead,
)
from indexer.fetch import LogFetcher, LogFilter, Rpc
from indexer.lock import Lock
from indexer.logs import Log, checksum
from indexer.projections import Progress, RowCache, Store, apply, rebuild, undo_to
from indexer.schema import Block, Checkpoint, Event, ProjectionUndo, RecentBlock
from registry.deploy import Deployment

__all__ = [
    "GENESIS_DIGEST",
    "Indexer",
    "StepResult",
    "next_digest",
    "table_counts",
]

TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
POOL_CREATED_TOPIC = event_topic("PoolCreated(address,uint256,address,string,uint8,string,address)")
#: Addresses per eth_getLogs filter (providers cap address and topic lists).
_ADDRESSES_PER_FILTER = 500

_EVENT = Event.__table__  # type: ignore[attr-defined]
_BLOCK = Block.__table__  # type: ignore[attr-defined]
_RECENT = RecentBlock.__table__  # type: ignore[attr-defined]
_CHECKPOINT = Checkpoint.__table__  # type: ignore[attr-defined]
_UNDO = ProjectionUndo.__table__  # type: ignore[attr-defined]

#: A Log's (block number, log index): chain order.
_log_key = itemgetter(Log._fields.index("block_number"), Log._fields.index("log_index"))


class EventRow(NamedTuple):
    """One row of the `event` table, in its column order (the bulk insert takes it as it is)."""

    chain_id: int
    block_number: int
    log_index: int
    block_hash: str
    block_timestamp: int
    tx_hash: str
    tx_index: int
    address: str
    event_name: str
    args: dict[str, Any]
    topics: list[str]
    data: str


assert EventRow._fields == tuple(c.name for c in _EVENT.columns), "EventRow must follow the event table"


def event_rows(
    dialect: str, logs: Sequence[Log], chain_id: int, timestamps: Mapping[int, int]
) -> tuple[list[EventRow], PackedRows]:
    """The `event` rows of `logs` (decoded; `timestamps` by block number), and the same rows packed
    for `dialect`'s bulk insert."""
    rows: list[EventRow] = []
    append_row = rows.append
    for log in logs:
        name, args = decode_log(log)
        number = log.block_number
        append_row(
            EventRow(
                chain_id,
                number,
                log.log_index,
                log.block_hash,
                timestamps[number],
                log.tx_hash,
                log.tx_index,
                log.address,
                name,
                args,
                list(log.topics),
                log.data,
            )
        )
    return rows, pack_rows(dialect, _EVENT, rows)


@contextmanager
def _collect_between_batches() -> Iterator[None]:
    """Run Python's cycle collector only between batches while indexing.

    A batch holds a few hundred thousand live objects (parsed JSON, logs, rows); the automatic
    collector would walk them again and again as they are made, which cost a third of the
    indexer's CPU. Batches are freed by reference counting; `run` collects the young generations
    before each batch and everything whenever it catches up with the head.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: Following, the seconds to wait before trying an unreachable node again: the first wait, doubled
#: while the outage lasts up to the last.
_FIRST_OUTAGE_WAIT = 1.0
_LAST_OUTAGE_WAIT = 60.0

#: SQLite's own default: a commit checkpoints the WAL once it holds this many pages.
_SQLITE_AUTOCHECKPOINT = 1000
#: SQLite page cache of the writing connection, in KiB (SQLite's default is 2,000). A batch inserts
#: into indexes keyed by hashes, all over their B-trees; with the default cache most of those pages
#: are read back from the file on every batch.
_SQLITE_CACHE_KIB = 64 * 1024


class _WalCheckpoints:
    """SQLite: WAL checkpoints in a thread of their own while `run` indexes.

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

    def __enter__(self) -> _WalCheckpoints | None:
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


@dataclass(frozen=True)
class StepResult:
    """What one step did: a batch, a reorg rollback, a retry after a mid-batch change, or nothing."""

    kind: str  # "batch" | "reorg" | "retry" | "idle"
    first: int
    last: int
    head: int
    target: int
    events: int = 0
    digest: str = GENESIS_DIGEST
    rolled_back: int = 0
    ancestor: int | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class _Cp:
    number: int
    hash: str
    digest: str
    events: int


@dataclass
class _Prepared:
    """A batch read, checked and decoded on top of checkpoint `cp`, not yet written."""

    cp: _Cp
    first: int
    end: int
    end_hash: str
    head: int
    target: int
    events: list[EventRow]
    #: The events and blocks converted for the database's bulk insert (done while reading).
    packed_events: PackedRows
    packed_blocks: PackedRows
    digest: str
    new_pools: dict[str, str]
    started: float

    @property
    def after(self) -> _Cp:
        """The checkpoint once this batch is written."""
        return _Cp(self.end, self.end_hash, self.digest, self.cp.events + len(self.events))


@dataclass
class Indexer:
    """Mirrors one deployment's events into one database."""

    engine: Engine
    rpc: Rpc
    deployment: Deployment
    finality_depth: int = 0
    from_block: int | None = None
    lock: Lock | None = None
    fetcher: LogFetcher | None = None
    recent_blocks: int = 256
    pools: dict[str, str] = field(default_factory=dict)
    _cp: _Cp | None = None
    _chain_id: int = 0
    _row_cache: RowCache = field(default_factory=RowCache)
    _wal_checkpoints: _WalCheckpoints | None = None
    #: While `run` is on: the thread that inserts a batch's raw events beside `apply` (see `_write`).
    _inserter: ThreadPoolExecutor | None = None

    def __post_init__(self) -> None:
        self.fetcher = self.fetcher or LogFetcher(self.rpc)
        self.factory = self.deployment.address("PoolFactory")
        self.asset_registry = self.deployment.address("PatentAsset")
        self.start_block = self.deployment.start_block if self.from_block is None else self.from_block

    # --- setup ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Check the database mirrors this chain and deployment (creating its checkpoint on first
        use) and load the pools found so far."""
        self._chain_id = self.rpc.chain_id()
        if self._chain_id != self.deployment.chain_id:
            raise DatabaseMismatch("the deployment's chain", self.deployment.chain_id, self._chain_id)
        if self.from_block is not None and self.from_block < 0:
            raise InvalidSettings(f"--from-block must be 0 or more, not {self.from_block}")
        code = self.rpc.call("eth_getCode", [self.factory, "latest"])
        if not isinstance(code, str) or code.lower() in ("", "0x", "0x0"):
            raise DeploymentNotOnChain(self.factory, self._chain_id)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_CHECKPOINT).where(_CHECKPOINT.c.id == 1)).mappings().first()
            if row is None:
                parent = self.start_block - 1
                parent_hash = self._hash_at(parent) if parent >= 0 else ""
                if parent_hash is None:  # the block before the start is not on the chain yet
                    source = "--from-block" if self.from_block is not None else "the deployment's first block"
                    raise StartBeyondHead(self.start_block, self.rpc.block_number(), source)
                conn.execute(
                    sa.insert(_CHECKPOINT).values(
                        id=1,
                        chain_id=self._chain_id,
                        factory=self.factory,
                        start_block=self.start_block,
                        block_number=parent,
                        block_hash=parent_hash,
                        digest=GENESIS_DIGEST,
                        event_count=0,
                        updated_at=time.time(),
                    )
                )
            else:
                if int(row["chain_id"]) != self._chain_id:
                    raise DatabaseMismatch("chain", row["chain_id"], self._chain_id)
                if row["factory"] != self.factory:
                    raise DatabaseMismatch("the deployment of PoolFactory", row["factory"], self.factory)
                if self.from_block is not None and int(row["start_block"]) != self.from_block:
                    raise DatabaseMismatch("events from block", row["start_block"], self.from_block)
                self.start_block = int(row["start_block"])
        self._load()

    def _load(self) -> None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_CHECKPOINT).where(_CHECKPOINT.c.id == 1)).mappings().one()
            self._cp = _Cp(int(row["block_number"]), row["block_hash"], row["digest"], int(row["event_count"]))
            created = conn.execute(
                sa.select(_EVENT.c.args)
                .where(_EVENT.c.address == self.factory, _EVENT.c.event_name == "PoolCreated")
                .order_by(_EVENT.c.block_number, _EVENT.c.log_index)
            ).scalars()
            self.pools = {args["pool"]: args["paymentToken"] for args in created}

    @property
    def checkpoint(self) -> tuple[int, str, str]:
        """(block number, block hash, digest) of the last indexed block."""
        assert self._cp is not None, "call prepare() first"
        return self._cp.number, self._cp.hash, self._cp.digest

    def pools_before_start(self) -> list[str]:
        """Pools the factory had made before this database's start block (a later `from_block`):
        pools are found by their PoolCreated event, so these are not mirrored."""
        if self.start_block <= self.deployment.start_block:
            return []
        block = hex(self.start_block - 1)

        def view(signature: str, word: str = "") -> str:
            data = "0x" + keccak(text=signature)[:4].hex() + word
            return str(self.rpc.call("eth_call", [{"to": self.factory, "data": data}, block]))

        count = int(view("poolCount()"), 16)
        return [checksum("0x" + view("poolAt(uint256)", f"{i:064x}")[-40:]) for i in range(count)]

    def digest_at(self, block: int) -> str:
        """The integrity digest after `block` (which must not be above the checkpoint)."""
        with self.engine.connect() as conn:
            digest = conn.execute(
                sa.select(_BLOCK.c.digest).where(_BLOCK.c.number <= block).order_by(_BLOCK.c.number.desc()).limit(1)
            ).scalar()
        return str(digest) if digest else GENESIS_DIGEST

    # --- the loop ---------------------------------------------------------------------------------

    def run(
        self,
        follow: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        on_step: Callable[[StepResult], None] = lambda _: None,
        poll_interval: float = 1.0,
        on_outage: Callable[[RpcUnavailable, float], None] = lambda _exc, _wait: None,
        on_indexes: deferred.Built = lambda _done, _total: None,
        on_rebuild: Progress | None = None,
    ) -> None:
        """Step until the head (or, following, until `should_stop`), checking it between batches.

        Batches are pipelined: while a writer thread commits batch k (projections, SQL), this
        thread reads and decodes batch k+1 on top of batch k's end. Commits stay one transaction
        per batch, in order; anything but a batch (a reorg, a retry, the head reached, an error)
        first waits for the write in flight, so it is handled against the committed checkpoint.

        A node that stays unreachable past the client's retries (RpcUnavailable) ends the run;
        following, the run waits it out instead: `on_outage` hears the error and the seconds
        until the next try (doubling from 1 s up to a minute while the outage lasts).

        A first load runs without the secondary indexes and builds them when it reaches the head
        or stops (indexer/deferred.py); `on_indexes` hears how far that is. A reorg deeper than the
        undo log rebuilds every projection from the raw events: `on_rebuild` hears how far that is.
        """
        outage_wait = _FIRST_OUTAGE_WAIT
        pending: tuple[Future[StepResult], _Prepared] | None = None
        deferring = self._start_first_load()

        def settle() -> None:
            """Wait for the write in flight, if any, and report it."""
            nonlocal pending
            if pending is not None:
                done, pending = pending[0], None
                on_step(done.result())

        def pause(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not should_stop():
                time.sleep(min(0.1, seconds))

        def wait_out(exc: RpcUnavailable) -> None:
            nonlocal outage_wait
            if not follow:
                raise exc
            on_outage(exc, outage_wait)
            pause(outage_wait)
            outage_wait = min(outage_wait * 2, _LAST_OUTAGE_WAIT)

        def finish_first_load(failing: bool = False) -> None:
            """Build the indexes a first load went without (nothing is in flight)."""
            nonlocal deferring
            if not deferring:
                return
            deferring = False
            try:
                deferred.build_all(self.engine, on_indexes)
            except DATABASE_FAILURES:
                if not failing:  # failing already: its error is the one to tell; the next run builds them
                    raise

        failure: BaseException | None = None
        with (
            _collect_between_batches(),
            _WalCheckpoints(self.engine) as checkpoints,
            ThreadPoolExecutor(1, thread_name_prefix="indexer-writer") as writer,
            ThreadPoolExecutor(1, thread_name_prefix="indexer-inserter") as inserter,
        ):
            self._wal_checkpoints = checkpoints
            self._inserter = inserter
            try:
                while not should_stop():
                    gc.collect(1)
                    try:
                        if pending is None:
                            assert self._cp is not None, "call prepare() first"
                            outcome = self._next(self._cp, self.pools)
                        else:
                            after = pending[1]
                            outcome = self._next(after.after, {**self.pools, **after.new_pools})
                    except RpcUnavailable as exc:
                        settle()  # what was read before the outage lands first
                        wait_out(exc)
                        continue
                    outage_wait = _FIRST_OUTAGE_WAIT
                    if isinstance(outcome, _Prepared):
                        settle()
                        pending = (writer.submit(self._write, outcome), outcome)
                        continue
                    if pending is not None:  # settle the write, then look again from the checkpoint
                        settle()
                        continue
                    try:
                        if isinstance(outcome, StepResult):
                            result = outcome
                        else:
                            result = self._rollback(*outcome, on_rebuild=on_rebuild)
                    except RpcUnavailable as exc:
                        wait_out(exc)
                        continue
                    on_step(result)
                    if result.kind != "idle":
                        continue
                    finish_first_load()
                    if not follow:
                        return
                    gc.collect()  # caught up: the one moment nothing is in flight
                    pause(poll_interval)
            except BaseException as exc:
                failure = exc
                raise
            finally:
                try:
                    settle()  # stopping or failing: the batch in flight still lands whole
                    if not isinstance(failure, KeyboardInterrupt):  # a second Ctrl-C: no index building now
                        finish_first_load(failing=failure is not None)
                finally:
                    self._wal_checkpoints = None
                    self._inserter = None

    def _start_first_load(self) -> bool:
        """Drop the secondary indexes if this run is (or resumes) a first load; whether it is."""
        with self.engine.begin() as conn:
            if self.lock is not None:
                self.lock.check(conn)
            return deferred.start(conn)

    def step(self) -> StepResult:
        """One unit of work: a reorg rollback, one batch, or nothing when caught up."""
        assert self._cp is not None, "call prepare() first"
        outcome = self._next(self._cp, self.pools)
        if isinstance(outcome, _Prepared):
            return self._write(outcome)
        return outcome if isinstance(outcome, StepResult) else self._rollback(*outcome)

    def _next(self, cp: _Cp, pools: Mapping[str, str]) -> _Prepared | StepResult | tuple[_Cp, int, int, float]:
        """What comes after `cp`: a batch read and decoded (not written), idle or retry, or the
        arguments of a rollback when `cp` is no longer on the chain."""
        started = time.monotonic()
        calls: list[tuple[str, Sequence[Any]]] = [("eth_blockNumber", [])]
        checks_cp = cp.number >= 0 and bool(cp.hash)
        if checks_cp:
            calls.append(("eth_getBlockByNumber", [hex(cp.number), False]))
        # The header of the block the next range most likely ends at, read now, before the logs,
        # as `_read` needs it: one round trip to the node less per batch.
        likely_end = cp.number + (self.fetcher.span if self.fetcher is not None else 1)
        calls.append(("eth_getBlockByNumber", [hex(likely_end), False]))
        answers = self.rpc.batch(calls)
        head = int(answers[0], 16)
        target = head - self.finality_depth
        if checks_cp:
            header = answers[1]
            if header is None or header["hash"].lower() != cp.hash:
                return (cp, head, target, started)
        first = cp.number + 1
        if first > target:
            return StepResult("idle", first, cp.number, head, target, digest=cp.digest)
        end_header = answers[-1]
        known = {likely_end: str(end_header["hash"]).lower()} if end_header is not None else {}
        try:
            return self._prepare(cp, pools, first, head, target, started, known)
        except ReorgDuringBatch as exc:
            return StepResult("retry", first, cp.number, head, target, digest=cp.digest, detail=str(exc))

    # --- one batch --------------------------------------------------------------------------------

    def _filters(self, pools: Mapping[str, str], core: bool) -> list[LogFilter]:
        """eth_getLogs filters for `pools` (address -> payment token) and, with `core`, the factory
        and PatentAsset."""
        pool_list = sorted(pools)
        filters: list[LogFilter] = []
        addresses = [self.factory, self.asset_registry] if core else []
        chunks = [pool_list[i : i + _ADDRESSES_PER_FILTER] for i in range(0, len(pool_list), _ADDRESSES_PER_FILTER)]
        if addresses and not chunks:
            chunks = [[]]
        for n, chunk in enumerate(chunks):
            filters.append(LogFilter(tuple((addresses if n == 0 else []) + chunk)))
        by_token: dict[str, list[str]] = {}
        for pool in pool_list:
            token = pools[pool]
            if token:
                by_token.setdefault(token, []).append(pool)
        for token, members in sorted(by_token.items()):
            for i in range(0, len(members), _ADDRESSES_PER_FILTER):
                topics = tuple("0x" + "00" * 12 + p[2:].lower() for p in members[i : i + _ADDRESSES_PER_FILTER])
                filters.append(LogFilter((token,), (TRANSFER_TOPIC, topics)))
                filters.append(LogFilter((token,), (TRANSFER_TOPIC, None, topics)))
        return filters

    def _prepare(
        self,
        cp: _Cp,
        pools: Mapping[str, str],
        first: int,
        head: int,
        target: int,
        started: float,
        known: dict[int, str],
    ) -> _Prepared:
        """Read, check and decode the next batch after `cp` (nothing is written); `known`: block
        hashes read just now, before any log (see `_read`)."""
        assert self.fetcher is not None
        new_pools: dict[str, str] = {}
        end, raw, end_hash_before = self._read(first, target, pools, known)
        logs = {_log_key(log): log for log in raw}
        # Pools created in this batch: read them (and their token transfers) from their block on.
        while True:
            created = sorted(
                (
                    log
                    for log in logs.values()
                    if log.address == self.factory and log.topics and log.topics[0] == POOL_CREATED_TOPIC
                ),
                key=_log_key,
            )
            fresh = []
            for log in created:
                _, args = decode_log(log)
                pool = args.get("pool")
                if isinstance(pool, str) and pool not in pools and pool not in new_pools:
                    new_pools[pool] = args["paymentToken"]
                    fresh.append((pool, log.block_number))
            if not fresh:
                break
            for pool, block in fresh:
                found = self.fetcher.fetch_all(block, end, self._filters({pool: new_pools[pool]}, core=False))
                for log in found:
                    logs[_log_key(log)] = log
        ordered = sorted(logs.values(), key=_log_key)
        headers = self.rpc.headers([first, end, *{log.block_number for log in ordered}])
        self._verify(cp, first, end, end_hash_before, headers, ordered)
        end_header = headers[end]
        assert end_header is not None
        events, packed_events, blocks, digest = self._rows(cp.digest, ordered, headers)
        dialect = self.engine.dialect.name
        return _Prepared(
            cp,
            first,
            end,
            end_header["hash"].lower(),
            head,
            target,
            events,
            packed_events,
            pack_rows(dialect, _BLOCK, blocks),
            digest,
            new_pools,
            started,
        )

    def _read(
        self, first: int, target: int, pools: Mapping[str, str], known: dict[int, str]
    ) -> tuple[int, list[Log], str | None]:
        """The logs of the next range from `first` (at most to `target`): (end, logs, the end
        block's hash as read before the logs, to notice a reorg landing while they are read).
        `known`: hashes read before this call (and so before the logs); the first attempt takes its
        end's hash from there when it has it, a retry of a smaller range reads it again."""
        assert self.fetcher is not None
        end_hash: dict[int, str | None] = {}

        def before(_start: int, end: int) -> None:
            end_hash.clear()
            end_hash[end] = known[end] if end in known else self._hash_at(end)
            known.clear()

        end, raw = self.fetcher.fetch(first, target, self._filters(pools, core=True), before)
        return end, raw, end_hash.get(end)

    def _write(self, batch: _Prepared) -> StepResult:
        """Commit a prepared batch: raw events, digests, projections and checkpoint, one transaction."""
        cp, end, end_hash, events = batch.cp, batch.end, batch.end_hash, batch.events
        checkpoints = self._wal_checkpoints
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # see _WalCheckpoints
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={0 if checkpoints else _SQLITE_AUTOCHECKPOINT}")
                conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
            if self.lock is not None:
                self.lock.check(conn)
            # Within the reorg window, keep what undoes this batch's projection changes.
            store = Store(conn, record=end >= batch.target - self.recent_blocks, cache=self._row_cache)
            if events:
                store.prefetch(events)
                self._write_beside(conn, batch, store)
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
        self._row_cache.keep(store)
        if checkpoints is not None:
            checkpoints.kick()
        if batch.new_pools:  # a new dict, not an update: the reading thread may be copying it
            self.pools = {**self.pools, **batch.new_pools}
        self._cp = batch.after
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

    def _write_beside(self, conn: Connection, batch: _Prepared, store: Store) -> None:
        """Insert the batch's raw events and blocks, apply its events to the projections in
        `store` and write their rows, in that order on the connection, with the database's work
        beside this thread's when `run` is on: the writes go, one after another, to a thread of
        their own (the inserter), while this one applies the events in memory and packs each
        table's rows. The store waits for the writes queued so far before it reads the connection
        itself (`Store.settle`), so the connection serves one thread at a time; everything stays
        in the batch's one transaction. A failed write skips the ones after it and is raised here,
        once none is running."""

        def insert() -> None:
            insert_packed(conn, batch.packed_events)
            insert_packed(conn, batch.packed_blocks)

        if self._inserter is None:
            insert()
            for event in batch.events:
                apply(store, event)
            store.flush()
            return
        queue = self._inserter
        failed: list[BaseException] = []
        writes: list[Future[None]] = []

        def write(op: Callable[[], object]) -> None:
            if not failed:  # after a failure the transaction only rolls back
                try:
                    op()
                except BaseException as exc:
                    failed.append(exc)

        def submit(op: Callable[[], object]) -> None:
            writes.append(queue.submit(write, op))

        def settle() -> None:
            wait(writes)
            if failed:
                raise failed[0]

        submit(insert)
        previous, store.settle = store.settle, settle
        try:
            for event in batch.events:
                apply(store, event)
            store.flush(submit)
        finally:
            wait(writes)  # the connection is free again only once every write is over
            store.settle = previous
        settle()  # the first failed write's error, if one failed

    def _verify(
        self,
        cp: _Cp,
        first: int,
        end: int,
        end_hash_before: str | None,
        headers: dict[int, dict[str, Any] | None],
        logs: Sequence[Log],
    ) -> None:
        first_header, end_header = headers.get(first), headers.get(end)
        if first_header is None or end_header is None:
            raise ReorgDuringBatch(end, end_hash_before or "?", "missing")
        if cp.hash and first_header["parentHash"].lower() != cp.hash:
            raise ReorgDuringBatch(cp.number, cp.hash, first_header["parentHash"].lower())
        if end_hash_before is not None and end_header["hash"].lower() != end_hash_before:
            raise ReorgDuringBatch(end, end_hash_before, end_header["hash"].lower())
        for log in logs:
            header = headers.get(log.block_number)
            got = "missing" if header is None else header["hash"].lower()
            if got != log.block_hash:
                raise ReorgDuringBatch(log.block_number, log.block_hash, got)

    def _rows(
        self, digest: str, logs: Sequence[Log], headers: dict[int, dict[str, Any] | None]
    ) -> tuple[list[EventRow], PackedRows, list[dict[str, Any]], str]:
        """The batch's event rows (and the same packed for the insert), block rows and digest."""
        blocks: list[dict[str, Any]] = []
        timestamps: dict[int, int] = {}
        i = 0
        while i < len(logs):
            number = logs[i].block_number
            j = i
            while j < len(logs) and logs[j].block_number == number:
                j += 1
            group = logs[i:j]
            header = headers[number]
            assert header is not None
            timestamp = timestamps[number] = int(header["timestamp"], 16)
            digest = next_digest(digest, number, group[0].block_hash, group)
            blocks.append(
                {
                    "number": number,
                    "hash": group[0].block_hash,
                    "parent_hash": header["parentHash"].lower(),
                    "timestamp": timestamp,
                    "event_count": len(group),
                    "digest": digest,
                }
            )
            i = j
        events, packed = event_rows(self.engine.dialect.name, logs, self._chain_id, timestamps)
        return events, packed, blocks, digest

    def _hash_at(self, number: int) -> str | None:
        header = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        return None if header is None else str(header["hash"]).lower()

    # --- reorgs -----------------------------------------------------------------------------------

    def _ancestor(self, cp: _Cp) -> tuple[int, str]:
        """The newest stored block the chain still has (else the block before the start)."""
        with self.engine.connect() as conn:
            recent = conn.execute(sa.select(_RECENT.c.number, _RECENT.c.hash).where(_RECENT.c.number < cp.number))
            blocks = conn.execute(sa.select(_BLOCK.c.number, _BLOCK.c.hash).where(_BLOCK.c.number < cp.number))
            known = {int(n): str(h) for n, h in [*recent, *blocks]}
        candidates = sorted(known, reverse=True)
        for i in range(0, len(candidates), 50):
            part = candidates[i : i + 50]
            headers = self.rpc.headers(part)
            for number in part:
                header = headers.get(number)
                if header is not None and header["hash"].lower() == known[number]:
                    return number, known[number]
        parent = self.start_block - 1
        return parent, (self._hash_at(parent) or "") if parent >= 0 else ""

    def _rollback(
        self, cp: _Cp, head: int, target: int, started: float, on_rebuild: Progress | None = None
    ) -> StepResult:
        """Roll back from `cp` (no longer on the chain) to the common ancestor; `on_rebuild` hears
        the progress of a full rebuild of the projections, when the reorg needs one."""
        self._row_cache.clear()
        number, block_hash = self._ancestor(cp)
        with self.engine.begin() as conn:
            if self.lock is not None:
                self.lock.check(conn)
            removed = conn.execute(sa.delete(_EVENT).where(_EVENT.c.block_number > number)).rowcount
            conn.execute(sa.delete(_BLOCK).where(_BLOCK.c.number > number))
            conn.execute(sa.delete(_RECENT).where(_RECENT.c.number > number))
            digest = (
                conn.execute(
                    sa.select(_BLOCK.c.digest)
                    .where(_BLOCK.c.number <= number)
                    .order_by(_BLOCK.c.number.desc())
                    .limit(1)
                ).scalar()
                or GENESIS_DIGEST
            )
            count = int(conn.execute(sa.select(sa.func.count()).select_from(_EVENT)).scalar_one())
            conn.execute(
                sa.update(_CHECKPOINT)
                .where(_CHECKPOINT.c.id == 1)
                .values(block_number=number, block_hash=block_hash, digest=digest, event_count=count)
            )
            undone = undo_to(conn, number, cp.number)
            if undone is None:  # deeper than the undo log reaches: replay the whole history
                conn.execute(sa.delete(_UNDO).where(_UNDO.c.batch_end > number))
                how = f"rebuilt every projection from {rebuild(conn, on_rebuild)} raw events"
            else:
                how = f"restored {undone[0]} projection rows and replayed {undone[1]} events"
        self._load()
        return StepResult(
            "reorg",
            number + 1,
            cp.number,
            head,
            target,
            digest=str(digest),
            rolled_back=int(removed or 0),
            ancestor=number,
            seconds=time.monotonic() - started,
            detail=f"block {cp.number} {cp.hash} is no longer canonical; rolled back to block {number} ({how})",
        )

    # --- maintenance ------------------------------------------------------------------------------

    def rebuild_projections(self, on_progress: Progress | None = None) -> int:
        """Rebuild every current-state table from the raw events, in one transaction; `on_progress`
        hears (events replayed, events in all) as it goes."""
        self._row_cache.clear()
        with self.engine.begin() as conn:
            if self.lock is not None:
                self.lock.check(conn)
            return rebuild(conn, on_progress)


def table_counts(conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
    """Row counts by table name (one statement: `SELECT (SELECT count(*) FROM a), ...`)."""
    tables = list(tables)
    if not tables:
        return {}
    counts = [sa.select(sa.func.count()).select_from(t).scalar_subquery() for t in tables]
    row = conn.execute(sa.select(*counts)).one()
    return {t.name: int(n) for t, n in zip(tables, row, strict=True)}

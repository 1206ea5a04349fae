"""The indexing loop: step after step, each a batch, a reorg rollback, a retry or nothing.

The jobs are in modules of their own: indexer/reader.py reads and checks a batch (and decodes it),
indexer/writer.py commits it (events, projections, digests and checkpoint in one transaction),
indexer/reorg.py rolls a reorganisation back to the common ancestor. The `Indexer` here sets them
up for one deployment and one database and runs them: `step` does one thing, `run` pipelines
batches (the next one is read while the last is written) until the head, or follows it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from eth_utils.crypto import keccak
from sqlalchemy.engine import Connection, Engine

from indexer.batch import Batch, Position, Reorged, StepResult
from indexer.digest import GENESIS_DIGEST
from indexer.errors import DatabaseMismatch, DeploymentNotOnChain, InvalidSettings, RpcUnavailable, StartBeyondHead
from indexer.fetch import LogFetcher, Rpc
from indexer.lock import Lock
from indexer.logs import checksum
from indexer.projections import Progress
from indexer.reader import Reader
from indexer.reorg import Reorgs
from indexer.schema import Block, Checkpoint, Event
from indexer.store import RowCache
from indexer.writer import WalCheckpoints, Writer
from registry.deploy import Deployment

__all__ = ["GENESIS_DIGEST", "Indexer", "StepResult", "table_counts"]

_EVENT = Event.__table__  # type: ignore[attr-defined]
_BLOCK = Block.__table__  # type: ignore[attr-defined]
_CHECKPOINT = Checkpoint.__table__  # type: ignore[attr-defined]

#: Seconds between two collections of the young generations while batches flow (`run`).
_COLLECT_EVERY = 10.0
#: Following, the seconds to wait before trying an unreachable node again: the first wait, doubled
#: while the outage lasts up to the last.
_FIRST_OUTAGE_WAIT = 1.0
_LAST_OUTAGE_WAIT = 60.0


@contextmanager
def _collect_between_batches() -> Iterator[None]:
    """Run Python's cycle collector only between batches while indexing.

    A batch holds a few hundred thousand live objects (parsed JSON, logs, rows); the automatic
    collector would walk them again and again as they are made, which cost a third of the
    indexer's CPU. Batches are freed by reference counting, so a collection finds little: `run`
    collects the young generations between batches at most every `_COLLECT_EVERY` seconds (each
    collection walks the batch read ahead and the row cache, about 25 ms that hold the
    interpreter lock the reader and writer share), and everything whenever it catches up with the
    head.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    _cp: Position | None = None
    _row_cache: RowCache = field(default_factory=RowCache)
    #: While `run` is on: its writer, whose database work goes to an inserter thread (`_write`).
    _running: Writer | None = None

    def __post_init__(self) -> None:
        self.fetcher = self.fetcher or LogFetcher(self.rpc)
        self.factory = self.deployment.address("PoolFactory")
        self.asset_registry = self.deployment.address("PatentAsset")
        self.start_block = self.deployment.start_block if self.from_block is None else self.from_block
        self.reader = Reader(
            self.rpc,
            self.fetcher,
            self.factory,
            self.asset_registry,
            chain_id=self.deployment.chain_id,  # `prepare` checks the node's is the same
            dialect=self.engine.dialect.name,
            finality_depth=self.finality_depth,
        )

    @property
    def writer(self) -> Writer:
        """Writes batches one after another on the calling thread (`run` has its own)."""
        return Writer(self.engine, self.lock, self.recent_blocks, self.finality_depth, self._row_cache)

    @property
    def reorgs(self) -> Reorgs:
        return Reorgs(self.engine, self.reader, self.start_block, self.lock)

    # --- setup ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Check the database mirrors this chain and deployment (creating its checkpoint on first
        use) and load the pools found so far."""
        chain_id = self.rpc.chain_id()
        if chain_id != self.deployment.chain_id:
            raise DatabaseMismatch("the deployment's chain", self.deployment.chain_id, chain_id)
        if self.from_block is not None and self.from_block < 0:
            raise InvalidSettings(f"--from-block must be 0 or more, not {self.from_block}")
        code = self.rpc.call("eth_getCode", [self.factory, "latest"])
        if not isinstance(code, str) or code.lower() in ("", "0x", "0x0"):
            raise DeploymentNotOnChain(self.factory, chain_id)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_CHECKPOINT).where(_CHECKPOINT.c.id == 1)).mappings().first()
            if row is None:
                parent = self.start_block - 1
                parent_hash = self.reader.hash_at(parent) if parent >= 0 else ""
                if parent_hash is None:  # the block before the start is not on the chain yet
                    source = "--from-block" if self.from_block is not None else "the deployment's first block"
                    raise StartBeyondHead(self.start_block, self.rpc.block_number(), source)
                conn.execute(
                    sa.insert(_CHECKPOINT).values(
                        id=1,
                        chain_id=chain_id,
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
                if int(row["chain_id"]) != chain_id:
                    raise DatabaseMismatch("chain", row["chain_id"], chain_id)
                if row["factory"] != self.factory:
                    raise DatabaseMismatch("the deployment of PoolFactory", row["factory"], self.factory)
                if self.from_block is not None and int(row["start_block"]) != self.from_block:
                    raise DatabaseMismatch("events from block", row["start_block"], self.from_block)
                self.start_block = int(row["start_block"])
        self._load()

    def _load(self) -> None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_CHECKPOINT).where(_CHECKPOINT.c.id == 1)).mappings().one()
            self._cp = Position(int(row["block_number"]), row["block_hash"], row["digest"], int(row["event_count"]))
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

        A reorg deeper than the undo log rebuilds every projection from the raw events:
        `on_rebuild` hears how far that is.
        """
        outage_wait = _FIRST_OUTAGE_WAIT
        pending: tuple[Future[StepResult], Batch] | None = None
        self._check_lock()

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

        with (
            _collect_between_batches(),
            WalCheckpoints(self.engine) as checkpoints,
            ThreadPoolExecutor(1, thread_name_prefix="indexer-writer") as writer,
            ThreadPoolExecutor(1, thread_name_prefix="indexer-inserter") as inserter,
        ):
            self._running = replace(self.writer, inserter=inserter, wal=checkpoints)
            collected = time.monotonic()
            try:
                while not should_stop():
                    if time.monotonic() - collected >= _COLLECT_EVERY:
                        gc.collect(1)
                        collected = time.monotonic()
                    try:
                        if pending is None:
                            assert self._cp is not None, "call prepare() first"
                            outcome = self.reader.next(self._cp, self.pools)
                        else:
                            after = pending[1]
                            outcome = self.reader.next(after.after, {**self.pools, **after.new_pools})
                    except RpcUnavailable as exc:
                        settle()  # what was read before the outage lands first
                        wait_out(exc)
                        continue
                    outage_wait = _FIRST_OUTAGE_WAIT
                    if isinstance(outcome, Batch):
                        settle()
                        pending = (writer.submit(self._write, outcome), outcome)
                        continue
                    if pending is not None:  # settle the write, then look again from the checkpoint
                        settle()
                        continue
                    try:
                        result = outcome if isinstance(outcome, StepResult) else self._roll_back(outcome, on_rebuild)
                    except RpcUnavailable as exc:
                        wait_out(exc)
                        continue
                    on_step(result)
                    if result.kind != "idle":
                        continue
                    if not follow:
                        return
                    gc.collect()  # caught up: the one moment nothing is in flight
                    pause(poll_interval)
            finally:
                try:
                    settle()  # stopping or failing: the batch in flight still lands whole
                finally:
                    self._running = None

    def _check_lock(self) -> None:
        """At the start of a run: refuse it if this process no longer holds the writer lock."""
        if self.lock is not None:
            with self.engine.begin() as conn:
                self.lock.check(conn)

    def step(self) -> StepResult:
        """One unit of work: a reorg rollback, one batch, or nothing when caught up."""
        assert self._cp is not None, "call prepare() first"
        outcome = self.reader.next(self._cp, self.pools)
        if isinstance(outcome, Batch):
            return self._write(outcome)
        return outcome if isinstance(outcome, StepResult) else self._roll_back(outcome)

    def _write(self, batch: Batch) -> StepResult:
        """Commit a batch (on `run`'s writer while it runs), then stand on its end."""
        result = (self._running or self.writer).write(batch)
        if batch.new_pools:  # a new dict, not an update: the reading thread may be copying it
            self.pools = {**self.pools, **batch.new_pools}
        self._cp = batch.after
        return result

    def _roll_back(self, found: Reorged, on_rebuild: Progress | None = None) -> StepResult:
        self._row_cache.clear()
        result = self.reorgs.roll_back(found, on_rebuild)
        self._load()
        return result

    def rebuild_projections(self, on_progress: Progress | None = None) -> int:
        """Rebuild every current-state table from the raw events, in one transaction; `on_progress`
        hears (events replayed, events in all) as it goes."""
        self._row_cache.clear()
        return self.reorgs.rebuild_projections(on_progress)


def table_counts(conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
    """Row counts by table name (one statement: `SELECT (SELECT count(*) FROM a), ...`)."""
    tables = list(tables)
    if not tables:
        return {}
    counts = [sa.select(sa.func.count()).select_from(t).scalar_subquery() for t in tables]
    row = conn.execute(sa.select(*counts)).one()
    return {t.name: int(n) for t, n in zip(tables, row, strict=True)}

"""The loop's knobs: finality depth, a later start block, and the database's identity."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer import bulk, store, writer
from indexer.errors import DatabaseMismatch
from indexer.fetch import LogFetcher, Rpc
from indexer.sync import GENESIS_DIGEST, Indexer, StepResult
from registry.node import AnvilNode
from registry.types import Tier
from tests.conftest import USDC, World
from tests.indexer.conftest import dump, index_chain, statements_sent


def test_the_indexer_stays_finality_depth_blocks_behind_the_head(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    world.pool.set_territory("deep")
    indexer = index_chain(engine, anvil, world.deployment, finality_depth=3)
    head = world.w3.eth.block_number
    assert indexer.checkpoint[0] == head - 3
    assert indexer.checkpoint[1] == "0x" + world.w3.eth.get_block(head - 3)["hash"].hex()


def test_a_later_start_block_skips_earlier_events_and_is_kept(world: World, anvil: AnvilNode, engine: Engine) -> None:
    start = world.w3.eth.block_number + 1
    world.pool.set_territory("late")
    world.family(1, {"US": 1}, family_id="LATE-1")
    indexer = index_chain(engine, anvil, world.deployment, from_block=start)
    assert indexer.checkpoint[2] != GENESIS_DIGEST
    assert indexer.digest_at(start - 1) == GENESIS_DIGEST
    # PatentAsset is read from the start block on; the pool was created before it, so it is not
    # discovered and nothing of it is mirrored (a later start suits the registry, not old pools).
    assert indexer.pools == {}
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(sa.text("select distinct event_name from event"))}
        assert int(conn.execute(sa.text("select min(block_number) from event")).scalar_one()) >= start
    assert "FamilyRegistered" in names and "TerritorySet" not in names
    again = Indexer(engine, Rpc(anvil.url), world.deployment)
    again.prepare()
    assert again.start_block == start
    with pytest.raises(DatabaseMismatch, match="events from block"):
        Indexer(engine, Rpc(anvil.url), world.deployment, from_block=start + 1).prepare()


def selects_from(engine: Engine, *clauses: str) -> AbstractContextManager[list[str]]:
    """The SELECT statements sent to `engine` meanwhile that hold one of `clauses` ("FROM member")."""

    def select(statement: str) -> str | None:
        wanted = statement.lstrip().upper().startswith("SELECT") and any(c in statement for c in clauses)
        return statement if wanted else None

    return statements_sent(engine, select)


def test_later_batches_read_the_rows_earlier_batches_wrote_from_memory(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    pool = world.pool
    pool.set_tier_fee(Tier.STARTUP, 10 * USDC)
    world.founder_with_asset(1)
    world.founder_with_asset(2)
    pool.activate()
    world.fund(3, 100 * USDC)
    world.pool_as(3).join(Tier.STARTUP, 10 * USDC)
    indexer = index_chain(engine, anvil, world.deployment)
    world.pool_as(3).renew(10 * USDC)  # touches the member's and the pool's rows again

    with selects_from(engine, "FROM member", "FROM pool ") as selects:
        indexer.run()
    assert selects == []
    with engine.connect() as conn:
        renewals = conn.execute(sa.text("select renewals from member where member = :m"), {"m": world.keys[3].address})
        assert renewals.scalar_one() == 1


def test_a_batch_reads_the_members_it_touches_in_one_query(world: World, anvil: AnvilNode, engine: Engine) -> None:
    pool = world.pool
    pool.set_tier_fee(Tier.STARTUP, 10 * USDC)
    world.founder_with_asset(1)
    pool.activate()
    indexer = index_chain(engine, anvil, world.deployment)
    joining = [3, 4, 5, 6]
    for n in joining:  # members the indexer has never seen: not in its row cache, not in the database
        world.fund(n, 100 * USDC)
        world.pool_as(n).join(Tier.STARTUP, 10 * USDC)

    with selects_from(engine, "FROM member") as selects:
        indexer.run()
    assert len(selects) == 1, selects
    with engine.connect() as conn:
        members = set(conn.execute(sa.text("select member from member")).scalars())
    assert {world.keys[n].address for n in joining} <= members


class _Timed:
    """Wraps a function to note (thread name, start, end) of each call, slowed by `pause` seconds."""

    def __init__(self, function: Callable[..., Any], pause: float = 0.0) -> None:
        self.function, self.pause = function, pause
        self.calls: list[tuple[str, float, float]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            time.sleep(self.pause)
            return self.function(*args, **kwargs)
        finally:
            self.calls.append((threading.current_thread().name, started, time.monotonic()))


@pytest.fixture
def renewing(world: World, anvil: AnvilNode, engine: Engine) -> Indexer:
    """An indexed pool with a member, then a renewal not yet indexed; a new indexer (nothing in its
    row cache) to index it: the renewal's RevenueReceived reads the pool's row from the database."""
    pool = world.pool
    pool.set_tier_fee(Tier.STARTUP, 10 * USDC)
    world.founder_with_asset(1)
    pool.activate()
    world.fund(3, 100 * USDC)
    world.pool_as(3).join(Tier.STARTUP, 10 * USDC)
    index_chain(engine, anvil, world.deployment)
    world.pool_as(3).renew(10 * USDC)
    indexer = Indexer(engine, Rpc(anvil.url), world.deployment)
    indexer.prepare()
    return indexer


def test_a_batch_inserts_its_raw_events_beside_its_projections_and_reads_rows_after(
    renewing: Indexer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = _Timed(bulk.insert_packed, pause=0.3)
    select = _Timed(store._select_by_key)
    monkeypatch.setattr(writer, "insert_packed", insert)
    monkeypatch.setattr(store, "_select_by_key", select)
    renewing.run()
    assert insert.calls and {name for name, _, _ in insert.calls} == {"indexer-inserter_0"}
    assert select.calls, "the pool's row was not read from the database"
    inserted = max(end for _, _, end in insert.calls)
    assert all(start >= inserted for _, start, _ in select.calls), "a row was read while the insert ran"
    with engine.connect() as conn:
        assert conn.execute(sa.text("select renewals from member")).scalar_one() == 1


def test_a_failed_raw_insert_fails_its_batch_and_writes_nothing(
    renewing: Indexer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(engine)

    def broken(*_: Any) -> None:
        raise sa.exc.OperationalError("INSERT INTO event", None, Exception("disk I/O error"))

    monkeypatch.setattr(writer, "insert_packed", broken)
    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        renewing.run()
    assert dump(engine) == before


def test_a_failing_projection_waits_for_the_raw_insert_before_the_rollback(
    renewing: Indexer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(engine)
    insert = _Timed(bulk.insert_packed, pause=0.3)
    monkeypatch.setattr(writer, "insert_packed", insert)

    def broken(*_: Any) -> None:
        raise RuntimeError("a projection bug")

    monkeypatch.setattr(writer, "apply", broken)
    rollbacks: list[float] = []
    sa.event.listen(engine, "rollback", lambda _conn: rollbacks.append(time.monotonic()))
    with pytest.raises(RuntimeError, match="a projection bug"):
        renewing.run()
    assert insert.calls and rollbacks
    assert max(end for _, _, end in insert.calls) <= min(rollbacks), "rolled back while the insert ran"
    assert dump(engine) == before


def test_a_failed_projection_write_skips_the_writes_after_it_and_fails_the_batch(
    renewing: Indexer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(engine)
    written: list[str] = []
    insert = bulk.insert_packed

    def failing(conn: Any, packed: Any) -> None:
        written.append(packed.table.name)
        # The batch's first write: a payment's token Transfer comes before its RevenueReceived (the
        # pool books what arrived, so it reads its balance after the transfer).
        if packed.table.name == "token_transfer":
            raise sa.exc.OperationalError("COPY token_transfer", None, Exception("disk full"))
        insert(conn, packed)

    monkeypatch.setattr(store, "insert_packed", failing)
    monkeypatch.setattr(store, "update_packed", lambda _conn, packed: written.append(packed.table.name))
    with pytest.raises(sa.exc.OperationalError, match="disk full"):
        renewing.run()
    assert written == ["token_transfer"], "a write ran after the failed one"
    assert dump(engine) == before


def test_a_batch_reads_its_end_blocks_hash_with_the_head_not_on_its_own(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    for n in range(8):
        world.pool.set_territory(f"T{n}")
    single: list[str] = []

    class Counting(Rpc):
        def call(self, method: str, params: Sequence[Any], start: int | None = None) -> Any:
            single.append(method)
            return super().call(method, params, start)

    rpc = Counting(anvil.url)
    steps: list[StepResult] = []
    indexer = Indexer(engine, rpc, world.deployment, fetcher=LogFetcher(rpc, 2, 2))
    indexer.prepare()
    single.clear()
    indexer.run(on_step=steps.append)
    batches = [s.kind for s in steps].count("batch")
    assert batches >= 5
    # Only a range cut short by the head (the last) reads its end block's hash on its own.
    assert single.count("eth_getBlockByNumber") <= 1, single

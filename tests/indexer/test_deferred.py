"""A first load goes without the secondary indexes and builds them at its end (indexer/deferred.py)."""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from indexer import deferred
from indexer.errors import RpcUnavailable
from indexer.fetch import LogFetcher, Rpc
from indexer.sync import Indexer, StepResult
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import dump, index_chain, statements_sent
from tests.indexer.proxy import JsonHandler, Proxy


def index_ddl(engine: Engine) -> AbstractContextManager[list[str]]:
    """What `engine` meanwhile does to indexes, in order: "drop <index>", "create <index>"."""

    def ddl(statement: str) -> str | None:
        words = statement.split()
        if words[:2] in (["DROP", "INDEX"], ["CREATE", "INDEX"]):
            name = words[2].strip('"')
            return f"{words[0].lower()} {name}"
        return None

    return statements_sent(engine, ddl)


def built(ddl: list[str], engine: Engine) -> list[str]:
    """`ddl` with its CREATE INDEX statements in name order on PostgreSQL, which builds two at a
    time, the raw events' first (SQLite builds them one by one, in name order)."""
    if engine.dialect.name != "postgresql":
        return ddl
    return [s for s in ddl if not s.startswith("create")] + sorted(s for s in ddl if s.startswith("create"))


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


def activity(world: World, rounds: int) -> None:
    for n in range(rounds):
        world.pool.set_territory(f"T{n}")
        world.w3.provider.make_request("anvil_mine", [hex(3)])  # type: ignore[arg-type]


def small_batches(engine: Engine, anvil: AnvilNode, world: World) -> Indexer:
    rpc = Rpc(anvil.url)
    indexer = Indexer(engine, rpc, world.deployment, fetcher=LogFetcher(rpc, initial_range=2, max_range=2))
    indexer.prepare()
    return indexer


NAMES = [str(index.name) for index in deferred.deferrable()]


def test_the_deferred_indexes_are_the_secondary_ones_outside_the_undo_log() -> None:
    assert "ix_event_tx_hash" in NAMES and "ix_payment_payer" in NAMES and "ix_member_block_number" in NAMES
    assert not any(name.startswith("ix_projection_undo") for name in NAMES)
    assert all(not index.unique for index in deferred.deferrable())


def test_a_first_load_writes_every_batch_without_them_and_builds_them_at_the_head(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    activity(world, 5)
    indexer = small_batches(engine, anvil, world)
    heard: list[tuple[int, int]] = []
    missing_after_batches: list[int] = []

    def on_step(result: StepResult) -> None:
        if result.kind == "batch":
            with engine.connect() as conn:
                missing_after_batches.append(len(deferred.missing(conn)))

    with index_ddl(engine) as ddl:
        indexer.run(on_step=on_step, on_indexes=lambda done, total: heard.append((done, total)))
    assert len(missing_after_batches) >= 5 and set(missing_after_batches) == {len(NAMES)}
    assert built(ddl, engine) == [f"drop {n}" for n in NAMES] + [f"create {n}" for n in NAMES]
    assert heard == [(n, len(NAMES)) for n in range(len(NAMES) + 1)]
    assert schema_differences(engine) == []


def test_postgresql_builds_two_indexes_at_a_time_the_raw_events_first(
    world: World, anvil: AnvilNode, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: it builds them one after another")
    activity(world, 2)
    running: set[str] = set()
    at_once: list[int] = []
    order: list[str] = []
    guard = threading.Lock()
    create = sa.Index.create

    def watched(index: sa.Index, bind: Any, checkfirst: bool = False) -> None:
        with guard:
            running.add(str(index.name))
            order.append(str(index.name))
            at_once.append(len(running))
        time.sleep(0.05)
        try:
            create(index, bind, checkfirst)
        finally:
            with guard:
                running.discard(str(index.name))

    monkeypatch.setattr(sa.Index, "create", watched)
    index_chain(engine, anvil, world.deployment)
    assert max(at_once) == 2
    assert set(order[:2]) == {"ix_event_address_name", "ix_event_tx_hash"}
    assert sorted(order) == sorted(NAMES) and schema_differences(engine) == []


def test_a_failed_index_leaves_the_others_built_for_the_next_run(
    world: World, anvil: AnvilNode, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    activity(world, 2)
    create = sa.Index.create

    def broken(index: sa.Index, bind: Any, checkfirst: bool = False) -> None:
        if index.name == "ix_payment_pool":
            raise sa.exc.OperationalError("CREATE INDEX", None, Exception("no space left on device"))
        create(index, bind, checkfirst)

    monkeypatch.setattr(sa.Index, "create", broken)
    with pytest.raises(sa.exc.OperationalError, match="no space left"):
        index_chain(engine, anvil, world.deployment)
    with engine.connect() as conn:
        left = [str(index.name) for index in deferred.missing(conn)]
    # PostgreSQL commits each index on its own, the others built; SQLite stops at the failed one.
    assert left == ["ix_payment_pool"] if engine.dialect.name == "postgresql" else "ix_payment_pool" in left
    monkeypatch.undo()
    index_chain(engine, anvil, world.deployment)
    assert schema_differences(engine) == []


def test_a_database_with_events_keeps_its_indexes(world: World, anvil: AnvilNode, engine: Engine) -> None:
    indexer = index_chain(engine, anvil, world.deployment)
    activity(world, 2)
    heard: list[tuple[int, int]] = []
    with index_ddl(engine) as ddl:
        indexer.run(on_indexes=lambda done, total: heard.append((done, total)))
    assert indexer.checkpoint[0] == world.w3.eth.block_number
    assert ddl == [] and heard == []


def test_a_killed_first_load_goes_on_without_them_and_builds_them_at_its_end(
    world: World, anvil: AnvilNode, new_engine: Any
) -> None:
    activity(world, 2)
    engine = new_engine()
    index_chain(engine, anvil, world.deployment)
    # As a first load killed while building its indexes leaves it: rows in, some indexes missing.
    with engine.begin() as conn:
        for index in deferred.deferrable()[::2]:
            index.drop(conn)
    activity(world, 2)
    with index_ddl(engine) as ddl:
        index_chain(engine, anvil, world.deployment)
    assert built(ddl, engine) == [f"drop {n}" for n in NAMES[1::2]] + [f"create {n}" for n in NAMES]
    assert schema_differences(engine) == []
    assert dump(engine) == dump(index_chain(new_engine(), anvil, world.deployment).engine)


def test_a_first_load_stopped_half_way_builds_them_before_it_returns(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    activity(world, 5)
    indexer = small_batches(engine, anvil, world)
    batches: list[int] = []
    indexer.run(should_stop=lambda: bool(batches), on_step=lambda result: batches.append(result.last))
    assert indexer.checkpoint[0] < world.w3.eth.block_number, "the run was not stopped half-way"
    assert schema_differences(engine) == []


class _DiesAfter(Proxy):
    """A proxy to anvil that answers HTTP 503 to everything after `calls` requests."""

    def __init__(self, upstream: str, calls: int) -> None:
        proxy = self
        self.left = calls

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.body()
                proxy.left -= 1
                if proxy.left < 0:
                    self.answer(b'{"error": "gone"}', 503)
                else:
                    self.answer(proxy.forward(body))

        super().__init__(upstream, Handler)


def test_a_first_load_that_fails_builds_them_before_it_tells_why(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    activity(world, 5)
    with _DiesAfter(anvil.url, 12) as proxy:
        rpc = Rpc(proxy.url, backoff=0.001, attempts=2)
        indexer = Indexer(engine, rpc, world.deployment, fetcher=LogFetcher(rpc, initial_range=2, max_range=2))
        indexer.prepare()
        with pytest.raises(RpcUnavailable):
            indexer.run()
    assert indexer.checkpoint[0] < world.w3.eth.block_number, "the provider died too late"
    assert schema_differences(engine) == []


def test_an_aborted_first_load_leaves_them_to_the_next_run(world: World, anvil: AnvilNode, engine: Engine) -> None:
    activity(world, 5)
    indexer = small_batches(engine, anvil, world)
    batches: list[int] = []

    def abort() -> bool:
        if batches:
            raise KeyboardInterrupt  # as a second Ctrl-C does
        return False

    with pytest.raises(KeyboardInterrupt):
        indexer.run(should_stop=abort, on_step=lambda result: batches.append(result.last))
    with engine.connect() as conn:
        assert [str(index.name) for index in deferred.missing(conn)] == NAMES
    indexer.run()
    assert schema_differences(engine) == []

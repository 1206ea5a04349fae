"""Reorgs: after `anvil_reorg` / `anvil_rollback` replace the last blocks, indexing again gives a
database equal, table by table, to a fresh index of the canonical chain, with the same digests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
import sqlalchemy as sa
from hexbytes import HexBytes
from sqlalchemy.engine import Engine
from web3 import Web3

from indexer.fetch import LogFetcher, Rpc
from indexer.logs import Log
from indexer.schema import Event
from indexer.sync import GENESIS_DIGEST, Indexer, StepResult
from registry.client import PatentPoolClient
from registry.node import AnvilNode
from tests.conftest import USDC, World
from tests.indexer.conftest import dump, index_chain

_EVENT = Event.__table__  # type: ignore[attr-defined]


def reorg(w3: Web3, depth: int, txs: list[tuple[dict[str, Any], int]]) -> None:
    """Replace the last `depth` blocks by as many new ones holding `txs` (tx, block offset).

    Nonces are set from the fork point (left to anvil, they may follow the old head, and the
    transaction would not fit the new blocks); the new blocks are checked to hold every one, so a
    transaction anvil leaves out fails here, not later as a wrong mirror."""
    base = w3.eth.block_number - depth
    nonces: dict[str, int] = {}
    for tx, _ in txs:
        sender = tx["from"]
        if sender not in nonces:
            nonces[sender] = w3.eth.get_transaction_count(sender, block_identifier=base)
        tx.setdefault("nonce", hex(nonces[sender]))
        nonces[sender] += 1
    result = w3.provider.make_request("anvil_reorg", [depth, [[tx, offset] for tx, offset in txs]])  # type: ignore[arg-type]
    assert "error" not in result, result
    mined = [cast(list[HexBytes], w3.eth.get_block(base + 1 + n)["transactions"]) for n in range(depth)]
    assert sum(map(len, mined)) == len(txs), f"anvil_reorg mined {mined} in the new blocks, not {len(txs)} transactions"
    failed = [tx.hex() for block in mined for tx in block if w3.eth.get_transaction_receipt(tx)["status"] != 1]
    assert not failed, f"anvil_reorg's transactions {failed} reverted in the new blocks"
    receipts = [
        (log["blockHash"].hex(), log["logIndex"])
        for block in mined
        for tx in block
        for log in w3.eth.get_transaction_receipt(tx)["logs"]
    ]
    served = w3.eth.get_logs({"fromBlock": base + 1, "toBlock": base + depth})
    assert [(log["blockHash"].hex(), log["logIndex"]) for log in served] == receipts, (
        f"after anvil_reorg, eth_getLogs serves {served} but the receipts hold {receipts}"
    )


def rollback(w3: Web3, depth: int) -> None:
    result = w3.provider.make_request("anvil_rollback", [depth])  # type: ignore[arg-type]
    assert "error" not in result, result


def call(client: Any, fn: str, *args: Any) -> dict[str, Any]:
    """An unsigned transaction request anvil signs for the (unlocked) development account."""
    data = client.contract.functions[fn](*args)._encode_transaction_data()
    # Explicit fee caps: left to anvil, they follow the current head, and the replacement blocks
    # (built on an older parent) may need a higher base fee; such a transaction would be left out.
    return {
        "from": client.chain.address,
        "to": client.address,
        "data": data,
        "gas": hex(3_000_000),
        "maxFeePerGas": hex(10**12),
        "maxPriorityFeePerGas": hex(10**9),
    }


def index_again(indexer: Indexer) -> list[StepResult]:
    steps: list[StepResult] = []
    indexer.run(on_step=steps.append)
    return steps


def assert_same_as_fresh(
    engine: Engine, indexer: Indexer, new_engine: Callable[[], Engine], anvil: AnvilNode, world: World
) -> None:
    fresh = index_chain(new_engine(), anvil, world.deployment)
    assert fresh.checkpoint == indexer.checkpoint
    assert dump(engine) == dump(fresh.engine)
    number = indexer.checkpoint[0]
    for block in range(world.deployment.start_block, number + 1):
        assert indexer.digest_at(block) == fresh.digest_at(block)
    assert indexer.checkpoint[2] != GENESIS_DIGEST


def doomed_pool(world: World) -> PatentPoolClient:
    """A pool created in the blocks that will reorg away, with its own events and a token payment."""
    doomed = world.new_pool("Doomed")
    doomed.set_territory("doomed")
    world.coin.mint(world.operator.address, 5 * USDC)
    world.coin.transfer(doomed.address, 5 * USDC)
    return doomed


def test_a_reorg_at_the_same_height_forgets_the_replaced_blocks_and_their_pools(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    w3 = world.w3
    world.pool.set_territory("A")
    world.pool.admit_founder(world.keys[1].address)
    doomed = doomed_pool(world)
    indexer = index_chain(engine, anvil, world.deployment)
    tables = dump(engine)
    assert doomed.address in {p["address"] for p in tables["pool"]}
    assert any(t["to_address"] == doomed.address for t in tables["token_transfer"])
    height = w3.eth.block_number

    reorg(
        w3,
        4,
        [
            (call(world.pool, "setTerritory", "B"), 0),
            (call(world.factory, "createPool", "Other", 1, "radar", world.coin.address, world.operator.address), 2),
        ],
    )
    assert w3.eth.block_number == height
    steps = index_again(indexer)
    assert [s.kind for s in steps].count("reorg") == 1
    reorged = next(s for s in steps if s.kind == "reorg")
    assert reorged.ancestor == height - 4 and reorged.rolled_back > 0

    tables = dump(engine)
    names = {p["address"]: p["name"] for p in tables["pool"]}
    # The factory's next clone lands at the doomed pool's address (same factory nonce): the mirror
    # must hold the new pool there, with nothing left of the old one.
    created = w3.eth.get_logs({"fromBlock": height - 3, "toBlock": height, "address": world.factory.address})
    assert names == {world.pool.address: "Test pool", doomed.address: "Other"}, (created, steps)
    assert next(p for p in tables["pool"] if p["address"] == doomed.address)["territory"] == ""
    assert not any(t["to_address"] == doomed.address for t in tables["token_transfer"])
    assert next(p for p in tables["pool"] if p["address"] == world.pool.address)["territory"] == "B"
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def test_a_longer_replacement_chain_is_followed(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    w3 = world.w3
    doomed_pool(world)
    indexer = index_chain(engine, anvil, world.deployment)
    height = w3.eth.block_number
    reorg(w3, 2, [(call(world.pool, "setTerritory", "longer"), 1)])
    world.pool.set_tier_fee(1, 7 * USDC)
    world.pool.admit_founder(world.keys[2].address)
    assert w3.eth.block_number == height + 2
    steps = index_again(indexer)
    assert [s.kind for s in steps].count("reorg") == 1
    assert indexer.checkpoint[0] == height + 2
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def test_a_shorter_replacement_chain_is_followed(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    w3 = world.w3
    doomed = doomed_pool(world)
    indexer = index_chain(engine, anvil, world.deployment)
    height = w3.eth.block_number
    rollback(w3, 3)
    world.pool.set_territory("shorter")
    assert w3.eth.block_number == height - 2
    steps = index_again(indexer)
    assert [s.kind for s in steps].count("reorg") == 1
    assert indexer.checkpoint[0] == height - 2
    tables = dump(engine)
    # The pool's creation survived (3 blocks back is after it), its later events did not.
    kept = next(p for p in tables["pool"] if p["address"] == doomed.address)
    assert kept["territory"] == ""
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def test_two_independent_indexers_report_the_same_digests(
    world: World, anvil: AnvilNode, new_engine: Callable[[], Engine]
) -> None:
    doomed_pool(world)
    first = index_chain(new_engine(), anvil, world.deployment)
    # The second reads in one-block ranges: other batches, same stream, same digest.
    second = Indexer(new_engine(), Rpc(anvil.url), world.deployment)
    assert second.fetcher is not None
    second.fetcher.span = second.fetcher.max_range = 1
    second.prepare()
    second.run()
    assert first.checkpoint == second.checkpoint
    assert dump(first.engine) == dump(second.engine)


def test_rebuilding_the_projections_reproduces_them(world: World, anvil: AnvilNode, engine: Engine) -> None:
    doomed_pool(world)
    world.pool.set_territory("rebuilt")
    indexer = index_chain(engine, anvil, world.deployment)
    before = dump(engine)
    heard: list[tuple[int, int]] = []
    assert indexer.rebuild_projections(lambda done, total: heard.append((done, total))) == len(before["event"])
    assert dump(engine) == before
    events = len(before["event"])
    assert heard[0] == (0, events) and heard[-1] == (events, events)


def test_a_pool_created_in_reorged_blocks_is_forgotten(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    doomed = doomed_pool(world)
    indexer = index_chain(engine, anvil, world.deployment)
    assert doomed.address in indexer.pools
    reorg(world.w3, 4, [(call(world.pool, "setTerritory", "kept"), 3)])
    index_again(indexer)
    assert doomed.address not in indexer.pools
    tables = dump(engine)
    assert [p["address"] for p in tables["pool"]] == [world.pool.address]
    assert all(doomed.address not in (t["from_address"], t["to_address"]) for t in tables["token_transfer"])
    assert all(e["address"] != doomed.address for e in tables["event"])
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def _batches_then_reorg(
    world: World, anvil: AnvilNode, engine: Engine, depth: int, **kwargs: Any
) -> tuple[Indexer, StepResult]:
    """Three batches (the history, 2 blocks, 4 blocks), then a reorg of the last `depth` blocks;
    returns the reorg's step."""
    doomed_pool(world)
    world.pool.set_territory("one")
    indexer = index_chain(engine, anvil, world.deployment, **kwargs)
    world.pool.admit_founder(world.keys[1].address)
    world.pool.set_tier_fee(1, 3 * USDC)
    index_again(indexer)
    world.pool.set_territory("two")
    world.pool.admit_founder(world.keys[2].address)
    world.coin.mint(world.operator.address, 2 * USDC)
    world.coin.transfer(world.pool.address, 2 * USDC)
    index_again(indexer)
    reorg(world.w3, depth, [(call(world.pool, "setTerritory", "three"), 0)])
    steps = index_again(indexer)
    reorged = [s for s in steps if s.kind == "reorg"]
    assert len(reorged) == 1
    return indexer, reorged[0]


@pytest.mark.parametrize("depth", [2, 6], ids=["within the last batch", "into the batch before"])
def test_a_shallow_reorg_undoes_only_the_recent_batches(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine], depth: int
) -> None:
    indexer, reorged = _batches_then_reorg(world, anvil, engine, depth)
    # Only the batches above the ancestor are undone: their few changed rows restored and the
    # events between the oldest one's start and the ancestor replayed, not the whole history.
    assert reorged.rollback == "undo", reorged
    assert reorged.restored_rows > 0, reorged
    assert reorged.replayed_events == {2: 2, 6: 0}[depth]
    tables = dump(engine)
    assert next(p for p in tables["pool"] if p["address"] == world.pool.address)["territory"] == "three"
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def test_a_reorg_deeper_than_the_undo_record_rebuilds_every_projection(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    # With no reorg window, only the newest batch keeps its undo record; the reorg reaches below it.
    indexer, reorged = _batches_then_reorg(world, anvil, engine, 6, recent_blocks=0)
    assert reorged.rollback == "rebuild", reorged
    assert reorged.ancestor is not None
    with engine.connect() as conn:  # every raw event up to the ancestor was replayed
        kept = sa.select(sa.func.count()).select_from(_EVENT).where(_EVENT.c.block_number <= reorged.ancestor)
        assert reorged.replayed_events == conn.execute(kept).scalar_one() > 0
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def test_a_full_rebuild_after_a_reorg_shows_its_progress(world: World, anvil: AnvilNode, engine: Engine) -> None:
    doomed_pool(world)
    world.pool.set_territory("one")
    indexer = index_chain(engine, anvil, world.deployment, recent_blocks=0)
    world.pool.admit_founder(world.keys[1].address)
    index_again(indexer)
    world.pool.set_territory("two")
    index_again(indexer)
    reorg(world.w3, 4, [(call(world.pool, "setTerritory", "three"), 0)])
    heard: list[tuple[int, int]] = []
    indexer.run(on_rebuild=lambda done, total: heard.append((done, total)))
    assert heard and heard[0][0] == 0 and heard[-1][0] == heard[-1][1] > 0, heard


def test_a_reorg_that_lands_while_a_batch_is_being_written_is_caught(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    w3 = world.w3
    doomed_pool(world)
    for n in range(6):
        world.pool.set_territory(f"T{n}")
    height = w3.eth.block_number
    # Two-block batches, so reading batch k+1 overlaps writing batch k; the chain's last 3 blocks are
    # replaced right after the writer commits a batch near the head, under the reading thread's feet.
    indexer = Indexer(engine, Rpc(anvil.url), world.deployment, fetcher=LogFetcher(Rpc(anvil.url), 2, 2))
    indexer.prepare()
    write = indexer._write
    fired: list[int] = []

    def write_then_reorg(batch: Any) -> StepResult:
        result = write(batch)
        if not fired and batch.end >= height - 2:
            fired.append(batch.end)
            reorg(w3, 3, [(call(world.pool, "setTerritory", "replaced"), 1)])
        return result

    indexer._write = write_then_reorg  # type: ignore[method-assign]
    steps: list[StepResult] = []
    indexer.run(on_step=steps.append)
    assert fired and [s.kind for s in steps].count("reorg") >= 1
    assert indexer.checkpoint[0] == height
    tables = dump(engine)
    assert next(p for p in tables["pool"] if p["address"] == world.pool.address)["territory"] == "replaced"
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)


def test_a_reorg_that_lands_while_a_batch_reads_its_logs_is_caught_and_read_again(
    world: World, anvil: AnvilNode, engine: Engine, new_engine: Callable[[], Engine]
) -> None:
    # The chain's last blocks are replaced between a batch's eth_getLogs calls: the logs it holds
    # come from both chains. The hashes read before the logs (the end block's, with the head) and
    # after them (the headers) tell, and the batch is read again instead of written.
    w3 = world.w3
    for n in range(6):
        world.pool.set_territory(f"T{n}")
    # The two-block batches count from the deployment's first block: the last batch must start at
    # height - 2's block for the reorg to land between its filters' calls, whatever the number of
    # blocks the deployment and the fixtures took.
    if (w3.eth.block_number - world.deployment.start_block) % 2 == 1:
        world.pool.set_territory("T6")
    height = w3.eth.block_number
    calls: list[int] = []

    class ReorgWhileReading(Rpc):
        def get_logs(self, query: dict[str, Any], start: int | None = None) -> list[Log]:
            if int(query["fromBlock"], 16) >= height - 2:
                calls.append(int(query["fromBlock"], 16))
                if len(calls) == 2:  # after the first filter's logs, before the others'
                    reorg(w3, 3, [(call(world.pool, "setTerritory", "replaced"), 1)])
            return super().get_logs(query, start)

    rpc = ReorgWhileReading(anvil.url)
    indexer = Indexer(engine, rpc, world.deployment, fetcher=LogFetcher(rpc, 2, 2))
    indexer.prepare()
    steps: list[StepResult] = []
    indexer.run(on_step=steps.append)
    assert len(calls) > 3, "the batch was not read again"
    assert "reorg" not in [s.kind for s in steps], "the mixed batch was written, then rolled back"
    assert indexer.checkpoint[0] == height
    assert next(p for p in dump(engine)["pool"] if p["address"] == world.pool.address)["territory"] == "replaced"
    assert_same_as_fresh(engine, indexer, new_engine, anvil, world)

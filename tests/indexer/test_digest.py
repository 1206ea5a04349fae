"""The integrity digest as documented (indexer/digest.py), computed here from eth_getLogs alone, and
migration 0002, which recomputes digests stored under the earlier per-log form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from eth_utils.crypto import keccak
from sqlalchemy.engine import Engine
from web3.types import RPCEndpoint

from indexer.db import alembic_config, upgrade
from indexer.schema import Block, Checkpoint
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import index_chain

_BLOCK = Block.__table__  # type: ignore[attr-defined]
_CHECKPOINT = Checkpoint.__table__  # type: ignore[attr-defined]


def _b(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string[2:])


def digest_from_logs(logs: list[dict[str, str]]) -> dict[int, str]:
    """The documented definition, written independently: digest after each block with logs."""
    digest = bytes(32)
    by_block: dict[int, list[dict[str, str]]] = {}
    for log in logs:
        by_block.setdefault(int(log["blockNumber"], 16), []).append(log)
    out = {}
    for number in sorted(by_block):
        group = sorted(by_block[number], key=lambda x: int(x["logIndex"], 16))
        stream = number.to_bytes(8, "big") + _b(group[0]["blockHash"])
        for log in group:
            data = _b(log["data"])
            stream += _b(log["address"]) + _b(log["transactionHash"]) + int(log["logIndex"], 16).to_bytes(8, "big")
            stream += len(log["topics"]).to_bytes(1, "big") + b"".join(_b(t) for t in log["topics"])
            stream += len(data).to_bytes(4, "big") + data
        digest = keccak(digest + stream)
        out[number] = "0x" + digest.hex()
    return out


def _activity(world: World) -> None:
    world.pool.set_territory("digest")
    world.family(1, {"US": 1}, family_id="DIGEST-1")
    world.family(2, {"EP": 1}, family_id="DIGEST-2")


def test_the_stored_digests_follow_the_documented_definition(world: World, anvil: AnvilNode, engine: Engine) -> None:
    _activity(world)
    indexer = index_chain(engine, anvil, world.deployment)
    with engine.connect() as conn:
        stored = {int(n): d for n, d in conn.execute(sa.select(_BLOCK.c.number, _BLOCK.c.digest))}
        sources = [row[0] for row in conn.execute(sa.text("select distinct address from event"))]
    start, head = world.deployment.start_block, indexer.checkpoint[0]
    logs = []
    for address in sources:  # every address the indexer stored events of, over the indexed range
        logs += world.w3.provider.make_request(
            RPCEndpoint("eth_getLogs"), [{"address": address, "fromBlock": hex(start), "toBlock": hex(head)}]
        )["result"]
    wanted = {log["blockHash"].lower() for log in logs}
    assert len(wanted) == len(stored) > 3
    expected = digest_from_logs(logs)
    assert stored == expected
    assert indexer.checkpoint[2] == expected[max(expected)]
    assert documented_digests()(logs) == expected  # the recipe docs/indexer.md gives readers


def documented_digests() -> Any:
    """The `digests` function of docs/indexer.md's Python snippet."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "indexer.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code, "docs/indexer.md lost its digest snippet"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["digests"]


def test_migration_0002_recomputes_digests_of_an_older_database(world: World, anvil: AnvilNode, engine: Engine) -> None:
    _activity(world)
    indexer = index_chain(engine, anvil, world.deployment)
    with engine.connect() as conn:
        before = sorted(conn.execute(sa.select(_BLOCK.c.number, _BLOCK.c.digest)).all())
    # As a database written under revision 0001 looks: other digests, recorded at 0001.
    with engine.begin() as conn:
        conn.execute(sa.update(_BLOCK).values(digest="0x" + "ab" * 32))
        conn.execute(sa.update(_CHECKPOINT).values(digest="0x" + "cd" * 32))
    config = alembic_config(engine)
    command.downgrade(config, "0002")
    command.stamp(config, "0001")
    upgrade(engine)
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(_BLOCK.c.number, _BLOCK.c.digest)).all()) == before
        assert conn.execute(sa.select(_CHECKPOINT.c.digest)).scalar_one() == indexer.checkpoint[2]

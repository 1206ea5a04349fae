"""Integrity digest, second form: one keccak-256 per block over length-delimited leaves.

The first form hashed every log's leaf on its own; the indexer now hashes each block's stream once
(indexer/digest.py). This migration recomputes the stored digests (`block.digest` and the
checkpoint's) from the raw events, so a database written before it reports the same digests as a
fresh index. Nothing else changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:20:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op
from eth_hash.auto import keccak

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENT = sa.table(
    "event",
    sa.column("block_number", sa.BigInteger),
    sa.column("log_index", sa.Integer),
    sa.column("block_hash", sa.String),
    sa.column("address", sa.String),
    sa.column("tx_hash", sa.String),
    sa.column("topics", sa.JSON),
    sa.column("data", sa.Text),
)
_BLOCK = sa.table("block", sa.column("number", sa.BigInteger), sa.column("digest", sa.String))
_CHECKPOINT = sa.table("checkpoint", sa.column("id", sa.Integer), sa.column("digest", sa.String))


class _Log(NamedTuple):
    address: str
    tx_hash: str
    log_index: int
    topics: list[str]
    data: str


#: The digest before any block, and the second form's step (indexer/digest.py when this migration
#: was written), spelled out here so a later change to the live digest cannot change this one.
GENESIS_DIGEST = "0x" + "00" * 32


def next_digest(previous: str, number: int, block_hash: str, logs: list[_Log]) -> str:
    """keccak(previous || number_u64 || block_hash || leaf_1 || ...), each leaf address(20) ||
    tx_hash(32) || log_index_u64 || topic_count_u8 || topics || data_length_u32 || data."""
    parts = [previous[2:], f"{number:016x}", block_hash[2:]]
    for log in logs:
        parts.append(log.address[2:] + log.tx_hash[2:] + f"{log.log_index:016x}{len(log.topics):02x}")
        parts.extend(topic[2:] for topic in log.topics)
        parts.append(f"{(len(log.data) - 2) // 2:08x}" + log.data[2:])
    return "0x" + keccak(bytes.fromhex("".join(parts))).hex()


def upgrade() -> None:
    conn = op.get_bind()
    query = sa.select(_EVENT).order_by(_EVENT.c.block_number, _EVENT.c.log_index)
    digest = GENESIS_DIGEST
    updates: list[dict[str, object]] = []
    block: tuple[int, str] | None = None
    logs: list[_Log] = []

    def close_block() -> None:
        nonlocal digest
        if block is not None:
            digest = next_digest(digest, block[0], block[1], logs)
            updates.append({"n": block[0], "d": digest})

    for row in conn.execute(query.execution_options(yield_per=10_000)).mappings():
        key = (int(row["block_number"]), str(row["block_hash"]))
        if key != block:
            close_block()
            block, logs = key, []
        logs.append(_Log(row["address"], row["tx_hash"], int(row["log_index"]), list(row["topics"]), row["data"]))
    close_block()
    if updates:
        conn.execute(
            sa.update(_BLOCK).where(_BLOCK.c.number == sa.bindparam("n")).values(digest=sa.bindparam("d")), updates
        )
    conn.execute(sa.update(_CHECKPOINT).where(_CHECKPOINT.c.id == 1).values(digest=digest))


def downgrade() -> None:
    raise NotImplementedError("the per-log digest of revision 0001 is not kept; re-index to go back")

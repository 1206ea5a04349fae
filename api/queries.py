"""Reads the routes (and pages) share: addresses, pools, names of enum values, the indexed time."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Path
from sqlmodel import Session, col, select
from web3 import Web3

from api.chain import ChainReader
from api.problems import Problem
from indexer.schema import Block, Pool
from registry.types import Lifecycle, PatentStatus, PoolKind, Tier

__all__ = [
    "KINDS",
    "LIFECYCLES",
    "STATUSES",
    "TIERS",
    "AddressPath",
    "indexed_time",
    "parse_address",
    "pool_or_404",
    "pool_token",
]

KINDS = [k.name.lower() for k in PoolKind]
LIFECYCLES = [k.name.lower() for k in Lifecycle]
TIERS = [k.name.lower() for k in Tier]
STATUSES = [k.name.lower() for k in PatentStatus]

AddressPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="An address, 0x and 40 hex digits, in any case.",
        examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"],
    ),
]


def name_of(names: list[str], value: int) -> str:
    return names[value] if 0 <= value < len(names) else str(value)


def parse_address(value: str, what: str) -> str:
    """`value` checksummed; a 400 problem naming `what` for anything that is not an address."""
    text = value.strip()
    if not Web3.is_address(text.lower()) or not text.lower().startswith("0x"):
        raise Problem(400, f"{what} must be an address (0x and 40 hex digits), not {text[:80]!r}", kind="address")
    return Web3.to_checksum_address(text.lower())


def pool_or_404(session: Session, address: str) -> Pool:
    checksum = parse_address(address, "the pool")
    pool = session.get(Pool, checksum)
    if pool is None:
        raise Problem(404, f"no pool at {checksum} in this registry", kind="unknown-pool")
    return pool


def pool_token(chain: ChainReader, pool: Pool) -> tuple[int, str] | None:
    return chain.token(pool.payment_token)


def indexed_time(session: Session, indexed_block: int) -> int:
    """The timestamp of the latest block up to `indexed_block` that holds events (0 when none)."""
    value = session.exec(
        select(Block.timestamp).where(Block.number <= indexed_block).order_by(sa.desc(col(Block.number))).limit(1)
    ).first()
    return int(value or 0)

"""The response models every route shares: provenance, amounts, times, pages and the indexed block.

JSON field names are camelCase (`blockNumber`); amounts are decimal strings in base units with the
token's decimals and symbol beside them; times are unix seconds with their ISO 8601 UTC form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from indexer.schema import Provenance as ProvenanceRow

T = TypeVar("T")

__all__ = [
    "Amount",
    "ApiModel",
    "IndexedBlock",
    "Item",
    "Page",
    "Provenance",
    "Time",
    "amount",
    "provenance",
    "time_of",
]


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class Provenance(ApiModel):
    """Where a fact was last changed on chain: enough to find and re-check the log."""

    chain_id: int
    tx_hash: str = Field(examples=["0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"])
    block_number: int
    block_hash: str
    log_index: int


class Time(ApiModel):
    """A moment: unix seconds and the same in ISO 8601 UTC."""

    unix: int = Field(examples=[1767225600])
    iso: str = Field(examples=["2026-01-01T00:00:00Z"])


class Amount(ApiModel):
    """A token amount: exact base units as a decimal string, and how to read them."""

    value: str = Field(description="Base units (no decimal point), exact.", examples=["2000000000"])
    decimals: int | None = Field(description="The token's decimals (null: the chain could not be asked).")
    symbol: str | None = Field(examples=["tUSD"])
    display: str = Field(description="Human form, e.g. 2,000.00 tUSD.", examples=["2,000.00 tUSD"])


class IndexedBlock(ApiModel):
    """The indexed block a response reflects: the mirror's checkpoint when it was read."""

    chain_id: int
    block_number: int
    block_hash: str
    digest: str = Field(description="The running integrity digest after this block (docs/indexer.md).")
    event_count: int


class Item(ApiModel, Generic[T]):
    """One object, and the indexed block it reflects."""

    data: T
    indexed: IndexedBlock


class Page(ApiModel, Generic[T]):
    """A page of a list, in a stable order; pass `nextCursor` as `cursor` for the next one."""

    data: list[T]
    next_cursor: str | None = Field(description="Null on the last page.")
    limit: int
    indexed: IndexedBlock


def time_of(ts: int) -> Time | None:
    """`ts` as a Time; None for 0 (the contracts' "never")."""
    if ts <= 0:
        return None
    try:
        iso = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        iso = "far future"
    return Time(unix=ts, iso=iso)


def format_units(units: int, decimals: int | None, symbol: str | None) -> str:
    """2,000.00 tUSD from 2000000000 with 6 decimals (at least two places, no rounding)."""
    if decimals is None:
        return f"{units:,} base units"
    whole, frac = divmod(units, 10**decimals) if decimals else (units, 0)
    digits = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    digits = digits.ljust(2, "0")
    text = f"{whole:,}.{digits}"
    return f"{text} {symbol}" if symbol else text


def amount(units: int | Decimal, token: tuple[int, str] | None) -> Amount:
    value = int(units)
    decimals, symbol = token if token is not None else (None, None)
    return Amount(value=str(value), decimals=decimals, symbol=symbol, display=format_units(value, decimals, symbol))


def provenance(row: ProvenanceRow | Any, chain_id: int) -> Provenance:
    return Provenance(
        chain_id=chain_id,
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        block_hash=row.block_hash,
        log_index=row.log_index,
    )

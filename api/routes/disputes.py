"""`/v1/pools/{address}/disputes`: challenges against a pool's assets, their evidence and rulings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlmodel import select

from api.deps import IndexedDep, SessionDep
from api.models import ApiModel, Page, Provenance, provenance
from api.pagination import PageParamsDep, page
from api.problems import PROBLEM_RESPONSES
from api.queries import AddressPath, pool_or_404
from api.responses import CSV_RESPONSE, FormatQuery, respond
from indexer.schema import Dispute

__all__ = ["PoolDisputeOut", "dispute_out", "router"]

router = APIRouter(prefix="/v1/pools", tags=["disputes"], responses=PROBLEM_RESPONSES)

DisputeStatus = Literal["open", "upheld", "dismissed"]

_ZERO_HASH = "0x" + "00" * 32


class PoolDisputeOut(ApiModel):
    """A challenge against an asset of a pool: who opened it on what evidence, and the ruling."""

    pool: str
    dispute_id: int
    asset_id: int
    challenger: str
    evidence_hash: str = Field(description="keccak-256 of the evidence the challenger filed.")
    status: str = Field(examples=["open", "upheld", "dismissed"])
    arbiter: str | None = Field(description="Who resolved it (null while open).")
    ruling_hash: str | None = Field(description="keccak-256 of the ruling (null while open).")
    provenance: Provenance = Field(description="The dispute's last change: its opening or its ruling.")


def _hash_or_none(value: str) -> str | None:
    return value if value and value != _ZERO_HASH else None


def dispute_out(row: Dispute, chain_id: int) -> PoolDisputeOut:
    return PoolDisputeOut(
        pool=row.pool,
        dispute_id=row.dispute_id,
        asset_id=row.asset_id,
        challenger=row.challenger,
        evidence_hash=row.evidence_hash,
        status=row.status,
        arbiter=row.arbiter or None,
        ruling_hash=_hash_or_none(row.ruling_hash),
        provenance=provenance(row, chain_id),
    )


@router.get("/{address}/disputes", response_model=Page[PoolDisputeOut], responses=CSV_RESPONSE)
def list_disputes(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    status: Annotated[DisputeStatus | None, Query(description="Only disputes in this state.")] = None,
    asset: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Only disputes against this asset.")] = None,
    fmt: FormatQuery = None,
) -> Page[PoolDisputeOut] | StreamingResponse:
    """A pool's disputes, by dispute id."""
    pool = pool_or_404(session, address)
    statement = select(Dispute).where(Dispute.pool == pool.address)
    if status is not None:
        statement = statement.where(Dispute.status == status)
    if asset is not None:
        statement = statement.where(Dispute.asset_id == asset)
    rows, cursor = page(session, statement, [Dispute.dispute_id], params, f"disputes:{pool.address}")
    data = [dispute_out(d, indexed.chain_id) for d in rows]
    return respond(
        request, Page[PoolDisputeOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt
    )

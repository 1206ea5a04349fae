"""`/v1/pools`: the pools, their profile and terms, founders, members and assets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlmodel import Session, col, select

from api.deps import IndexedDep, SessionDep, StateDep
from api.models import Amount, ApiModel, Item, Page, Provenance, Time, amount, provenance, time_of
from api.pagination import PageParamsDep, page
from api.problems import PROBLEM_RESPONSES
from api.queries import (
    KINDS,
    LIFECYCLES,
    TIERS,
    AddressPath,
    indexed_time,
    name_of,
    parse_address,
    pool_or_404,
    pool_token,
)
from api.responses import CSV_RESPONSE, FormatQuery, respond
from indexer.schema import Asset, Contribution, Event, Founder, Member, Pool, TierFee

router = APIRouter(prefix="/v1/pools", tags=["pools"], responses=PROBLEM_RESPONSES)

Kind = Literal["company", "industry", "technology", "geography"]
LifecycleName = Literal["incubating", "active", "closed"]


class Counts(ApiModel):
    """How many of each a pool has had (members and founders ever admitted)."""

    members: int
    founders: int
    assets: int
    offers: int
    licences: int
    disputes: int


class PoolSummary(ApiModel):
    """A pool as the list shows it: profile, counts and money moved."""

    address: str
    name: str
    kind: str = Field(examples=["technology"])
    field: str
    territory: str
    lifecycle: str = Field(examples=["active"])
    paused: bool
    payment_token: str
    counts: Counts
    total_revenue: Amount = Field(description="Every payment the pool received.")
    total_claimed: Amount = Field(description="Every claim it paid out.")
    created: Provenance | None = Field(description="The factory's PoolCreated log.")
    provenance: Provenance = Field(description="The pool row's last change.")


class TierFeeOut(ApiModel):
    tier: str = Field(examples=["startup"])
    annual_fee: Amount
    provenance: Provenance


class QualificationOut(ApiModel):
    """What a family must show to be contributed."""

    required_jurisdictions: list[str] = Field(examples=[["US", "CN", "DE", "JP"]])
    min_granted: int = Field(description="Verified grants needed in the required jurisdictions.")
    min_score_bps: int = Field(description="Lowest stability score, in basis points.")


class PoolDetail(PoolSummary):
    """A pool with its terms: fees per tier, operator share, qualification rule, notice period."""

    operator: str
    treasury: str
    asset_registry: str
    operator_share_bps: int
    withdrawal_notice_seconds: int
    total_weight: int
    tier_fees: list[TierFeeOut]
    qualification: QualificationOut


class FounderOut(ApiModel):
    """A founder (licensor) of a pool and its share of the founders' revenue."""

    pool: str
    founder: str
    weight: int
    share_bps: int = Field(description="Its weight over the pool's total weight, in basis points.")
    asset_count: int
    admitted_block: int
    provenance: Provenance


class MemberOut(ApiModel):
    """A member (licensee by membership) and its latest term."""

    pool: str
    member: str
    tier: str
    valid_from: Time | None
    valid_until: Time | None
    current: bool = Field(description="Whether the term runs at the latest indexed block's time.")
    renewals: int
    total_paid: Amount
    joined_block: int
    provenance: Provenance


class PoolAssetOut(ApiModel):
    """A family contributed to a pool, with its qualification facts and standing there."""

    pool: str
    asset_id: int
    family_id: str
    title: str
    founder: str
    weight: int
    initial_weight: int
    granted_in_required: int = Field(description="Verified grants in the pool's required jurisdictions.")
    score_bps: int
    status: str = Field(examples=["active", "withdrawing", "withdrawn", "suspended"])
    suspended: bool
    suspended_by_dispute: int | None
    withdrawal_effective_at: Time | None
    withdrawn_at: Time | None
    contributed_at: Time | None
    provenance: Provenance


def _counts(pool: Pool) -> Counts:
    return Counts(
        members=pool.member_count,
        founders=pool.founder_count,
        assets=pool.asset_count,
        offers=pool.offer_count,
        licences=pool.licence_count,
        disputes=pool.dispute_count,
    )


def created_provenance(session: Session, chain_id: int, pools: Sequence[Pool]) -> dict[str, Provenance]:
    """Each pool's `PoolCreated` log (the factory's), by pool address: one query for a page."""
    txs = {p.created_tx for p in pools if p.created_tx}
    if not txs:
        return {}
    logs = session.exec(
        select(Event).where(Event.event_name == "PoolCreated", col(Event.tx_hash).in_(sorted(txs)))
    ).all()
    return {
        str(e.args.get("pool")): Provenance(
            chain_id=chain_id,
            tx_hash=e.tx_hash,
            block_number=e.block_number,
            block_hash=e.block_hash,
            log_index=e.log_index,
        )
        for e in logs
    }


def summary_of(pool: Pool, chain_id: int, token: tuple[int, str] | None, created: Provenance | None) -> dict[str, Any]:
    return {
        "address": pool.address,
        "name": pool.name,
        "kind": name_of(KINDS, pool.kind),
        "field": pool.field,
        "territory": pool.territory,
        "lifecycle": name_of(LIFECYCLES, pool.lifecycle),
        "paused": pool.paused,
        "payment_token": pool.payment_token,
        "counts": _counts(pool),
        "total_revenue": amount(pool.total_revenue, token),
        "total_claimed": amount(pool.total_claimed, token),
        "created": created,
        "provenance": provenance(pool, chain_id),
    }


@router.get("", response_model=Page[PoolSummary], responses=CSV_RESPONSE)
def list_pools(
    request: Request,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    kind: Annotated[Kind | None, Query(description="Only pools of this kind.")] = None,
    field: Annotated[str | None, Query(max_length=200, description="Only pools of this technology field.")] = None,
    lifecycle: Annotated[LifecycleName | None, Query(description="Only pools in this stage.")] = None,
    fmt: FormatQuery = None,
) -> Page[PoolSummary] | StreamingResponse:
    """The registry's pools, in the order the factory created them."""
    statement = select(Pool)
    if kind is not None:
        statement = statement.where(Pool.kind == KINDS.index(kind))
    if lifecycle is not None:
        statement = statement.where(Pool.lifecycle == LIFECYCLES.index(lifecycle))
    if field is not None:
        statement = statement.where(Pool.field == field)
    rows, cursor = page(session, statement, [Pool.pool_index, Pool.address], params, "pools")
    created = created_provenance(session, indexed.chain_id, rows)
    data = [
        PoolSummary(**summary_of(p, indexed.chain_id, pool_token(state.chain, p), created.get(p.address))) for p in rows
    ]
    return respond(request, Page[PoolSummary](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


@router.get("/{address}", response_model=Item[PoolDetail])
def get_pool(address: AddressPath, session: SessionDep, state: StateDep, indexed: IndexedDep) -> Item[PoolDetail]:
    """One pool: profile, terms, counts and money moved."""
    pool = pool_or_404(session, address)
    token = pool_token(state.chain, pool)
    fees = session.exec(select(TierFee).where(TierFee.pool == pool.address).order_by(col(TierFee.tier))).all()
    detail = PoolDetail(
        **summary_of(
            pool, indexed.chain_id, token, created_provenance(session, indexed.chain_id, [pool]).get(pool.address)
        ),
        operator=pool.operator,
        treasury=pool.treasury,
        asset_registry=pool.asset_registry,
        operator_share_bps=pool.operator_share_bps,
        withdrawal_notice_seconds=pool.withdrawal_notice,
        total_weight=pool.total_weight,
        tier_fees=[
            TierFeeOut(
                tier=name_of(TIERS, f.tier),
                annual_fee=amount(f.annual_fee, token),
                provenance=provenance(f, indexed.chain_id),
            )
            for f in fees
        ],
        qualification=QualificationOut(
            required_jurisdictions=list(pool.required_jurisdictions),
            min_granted=pool.min_granted,
            min_score_bps=pool.min_score_bps,
        ),
    )
    return Item[PoolDetail](data=detail, indexed=indexed)


@router.get("/{address}/founders", response_model=Page[FounderOut], responses=CSV_RESPONSE)
def list_founders(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    fmt: FormatQuery = None,
) -> Page[FounderOut] | StreamingResponse:
    """A pool's founders (licensors), their weight and share of the founders' revenue."""
    pool = pool_or_404(session, address)
    statement = select(Founder).where(Founder.pool == pool.address)
    rows, cursor = page(session, statement, [Founder.founder], params, f"founders:{pool.address}")
    data = [
        FounderOut(
            pool=f.pool,
            founder=f.founder,
            weight=f.weight,
            share_bps=(f.weight * 10_000 // pool.total_weight) if pool.total_weight else 0,
            asset_count=f.asset_count,
            admitted_block=f.admitted_block,
            provenance=provenance(f, indexed.chain_id),
        )
        for f in rows
    ]
    return respond(request, Page[FounderOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


@router.get("/{address}/members", response_model=Page[MemberOut], responses=CSV_RESPONSE)
def list_members(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    current: Annotated[bool | None, Query(description="true: only members whose term runs now; false: lapsed.")] = None,
    tier: Annotated[Literal["startup", "sme", "enterprise"] | None, Query(description="Only this tier.")] = None,
    fmt: FormatQuery = None,
) -> Page[MemberOut] | StreamingResponse:
    """A pool's members, their tier and latest term, by address."""
    pool = pool_or_404(session, address)
    token = pool_token(state.chain, pool)
    at = indexed_time(session, indexed.block_number)
    statement = select(Member).where(Member.pool == pool.address)
    if current is not None:
        statement = statement.where((Member.valid_until > at) if current else (Member.valid_until <= at))
    if tier is not None:
        statement = statement.where(Member.tier == TIERS.index(tier))
    rows, cursor = page(session, statement, [Member.member], params, f"members:{pool.address}")
    data = [
        MemberOut(
            pool=m.pool,
            member=m.member,
            tier=name_of(TIERS, m.tier),
            valid_from=time_of(m.valid_from),
            valid_until=time_of(m.valid_until),
            current=m.valid_until > at,
            renewals=m.renewals,
            total_paid=amount(m.total_paid, token),
            joined_block=m.joined_block,
            provenance=provenance(m, indexed.chain_id),
        )
        for m in rows
    ]
    return respond(request, Page[MemberOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


@router.get("/{address}/assets", response_model=Page[PoolAssetOut], responses=CSV_RESPONSE)
def list_pool_assets(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    status: Annotated[
        Literal["active", "withdrawing", "withdrawn", "suspended"] | None,
        Query(description="Only assets in this standing."),
    ] = None,
    founder: Annotated[str | None, Query(max_length=64, description="Only this founder's contributions.")] = None,
    fmt: FormatQuery = None,
) -> Page[PoolAssetOut] | StreamingResponse:
    """The families contributed to a pool, with their qualification facts, by asset id."""
    pool = pool_or_404(session, address)
    statement = select(Contribution).where(Contribution.pool == pool.address)
    if status is not None:
        statement = statement.where(Contribution.status == status)
    if founder is not None:
        statement = statement.where(Contribution.founder == parse_address(founder, "founder"))
    rows, cursor = page(session, statement, [Contribution.asset_id], params, f"pool-assets:{pool.address}")
    families = {
        a.asset_id: a
        for a in session.exec(select(Asset).where(col(Asset.asset_id).in_([c.asset_id for c in rows]))).all()
    }
    data = []
    for c in rows:
        family = families.get(c.asset_id)
        data.append(
            PoolAssetOut(
                pool=c.pool,
                asset_id=c.asset_id,
                family_id=family.family_id if family else "",
                title=family.title if family else "",
                founder=c.founder,
                weight=c.weight,
                initial_weight=c.initial_weight,
                granted_in_required=c.granted_in_required,
                score_bps=c.score_bps,
                status=c.status,
                suspended=c.suspended,
                suspended_by_dispute=c.suspended_by_dispute or None,
                withdrawal_effective_at=time_of(c.withdrawal_effective_at),
                withdrawn_at=time_of(c.withdrawn_at),
                contributed_at=time_of(c.contributed_at),
                provenance=provenance(c, indexed.chain_id),
            )
        )
    return respond(request, Page[PoolAssetOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)

"""`/v1/companies/{address}`: everything one address is in, across every pool of the registry.

Each sub-list holds at most `SUBLIST_LIMIT` rows (`truncated` says when one was cut; the paged
lists of each pool have the rest), so no address can make an unbounded answer. What the address
can still claim is read from the chain at the indexed block, like the pool's revenue.
"""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter
from pydantic import Field
from sqlmodel import col, select
from web3 import Web3

from api.deps import IndexedDep, SessionDep, StateDep
from api.models import Amount, ApiModel, Item, Provenance, Time, amount, provenance, time_of
from api.problems import PROBLEM_RESPONSES
from api.queries import TIERS, AddressPath, indexed_time, name_of, parse_address, pool_token
from api.routes.assets import SUBLIST_LIMIT, AssetSummary, asset_summary, bounded
from api.routes.disputes import PoolDisputeOut, dispute_out
from indexer.schema import Asset, Claim, Contribution, Dispute, Event, Founder, Licence, Member, Payment, Pool

__all__ = ["CompanyOut", "router"]

router = APIRouter(prefix="/v1/companies", tags=["companies"], responses=PROBLEM_RESPONSES)


class FounderOfOut(ApiModel):
    """A pool the address founds (licenses its families to)."""

    pool: str
    pool_name: str
    weight: int
    share_bps: int = Field(description="Its weight over the pool's total weight, in basis points.")
    asset_count: int
    asset_ids: list[int] = Field(description="The families it contributed to this pool.")
    admitted_block: int
    provenance: Provenance


class MemberOfOut(ApiModel):
    """A pool the address is (or was) a member of, and its latest term."""

    pool: str
    pool_name: str
    tier: str
    valid_from: Time | None
    valid_until: Time | None
    current: bool = Field(description="Whether the term runs at the latest indexed block's time.")
    renewals: int
    total_paid: Amount
    provenance: Provenance


class LicenceHeldOut(ApiModel):
    """A unified licence granted to the address."""

    pool: str
    pool_name: str
    licence_id: int
    offer_id: int
    status: str = Field(examples=["active", "revoked"])
    current: bool = Field(description="Active, and its period runs at the latest indexed block's time.")
    whole_pool: bool
    asset_ids: list[int]
    start: Time | None
    end: Time | None
    price: Amount
    granted_at: Time | None
    provenance: Provenance


class PoolMoneyOut(ApiModel):
    """What the address paid a pool, took from it and may still take."""

    pool: str
    pool_name: str
    paid: Amount = Field(description="The sum of its payments (memberships, renewals, licences).")
    payments: int
    claimed: Amount
    claims: int
    claimable: Amount = Field(description="PatentPool.claimable at the indexed block (read from the chain).")


class CompanyOut(ApiModel):
    """One address across the registry: what it founds, holds, owns, pays, earns and disputes."""

    address: str
    founder_of: list[FounderOfOut]
    member_of: list[MemberOfOut]
    licences: list[LicenceHeldOut]
    assets_owned: list[AssetSummary]
    money: list[PoolMoneyOut] = Field(description="Per pool it paid, claimed from, founds or is treasury of.")
    disputes_opened: list[PoolDisputeOut]
    read_at_block: int = Field(description="The block the claimable amounts were read at (the indexed one).")
    truncated: bool = Field(description=f"Whether a list above was cut at {SUBLIST_LIMIT} rows.")


@router.get("/{address}", response_model=Item[CompanyOut])
def get_company(address: AddressPath, session: SessionDep, state: StateDep, indexed: IndexedDep) -> Item[CompanyOut]:
    """Everything one address is in: founder of, member of, licences, assets, money and disputes."""
    who = parse_address(address, "the company")
    chain_id = indexed.chain_id
    at = indexed_time(session, indexed.block_number)

    founded, cut_founded = bounded(session, select(Founder).where(Founder.founder == who).order_by(col(Founder.pool)))
    contributions, cut_contributions = bounded(
        session,
        select(Contribution)
        .where(Contribution.founder == who)
        .order_by(col(Contribution.pool), col(Contribution.asset_id)),
    )
    memberships, cut_members = bounded(session, select(Member).where(Member.member == who).order_by(col(Member.pool)))
    licences, cut_licences = bounded(
        session, select(Licence).where(Licence.licensee == who).order_by(col(Licence.pool), col(Licence.licence_id))
    )
    owned, cut_owned = bounded(session, select(Asset).where(Asset.owner == who).order_by(col(Asset.asset_id)))
    disputes, cut_disputes = bounded(
        session, select(Dispute).where(Dispute.challenger == who).order_by(col(Dispute.pool), col(Dispute.dispute_id))
    )

    paid: dict[str, int] = defaultdict(int)
    payments: dict[str, int] = defaultdict(int)
    for pool_address, value in session.exec(select(Payment.pool, Payment.amount).where(Payment.payer == who)).all():
        paid[pool_address] += int(value)
        payments[pool_address] += 1
    claimed: dict[str, int] = defaultdict(int)
    claims: dict[str, int] = defaultdict(int)
    for pool_address, value in session.exec(select(Claim.pool, Claim.amount).where(Claim.account == who)).all():
        claimed[pool_address] += int(value)
        claims[pool_address] += 1
    # Only founders and treasuries (current or former) are ever credited by a pool: ask the chain
    # about those pools alone.
    payee_of = {f.pool for f in founded} | set(claimed)
    payee_of |= set(session.exec(select(Pool.address).where(Pool.treasury == who)).all())
    for event in session.exec(select(Event).where(Event.event_name == "TreasurySet")).all():
        if str(event.args.get("treasury", "")).lower() == who.lower():
            payee_of.add(event.address)
    money_pools = sorted(set(paid) | payee_of)
    cut_money = len(money_pools) > SUBLIST_LIMIT
    money_pools = money_pools[:SUBLIST_LIMIT]

    mentioned = {f.pool for f in founded} | {m.pool for m in memberships} | {lic.pool for lic in licences}
    mentioned |= set(money_pools)
    pools = {p.address: p for p in session.exec(select(Pool).where(col(Pool.address).in_(mentioned))).all()}

    def name(pool_address: str) -> str:
        pool = pools.get(pool_address)
        return pool.name if pool else ""

    def token(pool_address: str) -> tuple[int, str] | None:
        pool = pools.get(pool_address)
        return pool_token(state.chain, pool) if pool else None

    assets_in: dict[str, list[int]] = defaultdict(list)
    for c in contributions:
        assets_in[c.pool].append(c.asset_id)

    money = []
    for pool_address in money_pools:
        claimable = 0
        if pool_address in payee_of:
            claimable = int(
                state.chain.call(
                    "PatentPool", Web3.to_checksum_address(pool_address), "claimable", who, block=indexed.block_number
                )
            )
        t = token(pool_address)
        money.append(
            PoolMoneyOut(
                pool=pool_address,
                pool_name=name(pool_address),
                paid=amount(paid[pool_address], t),
                payments=payments[pool_address],
                claimed=amount(claimed[pool_address], t),
                claims=claims[pool_address],
                claimable=amount(claimable, t),
            )
        )

    company = CompanyOut(
        address=who,
        founder_of=[
            FounderOfOut(
                pool=f.pool,
                pool_name=name(f.pool),
                weight=f.weight,
                share_bps=_share(f.weight, pools.get(f.pool)),
                asset_count=f.asset_count,
                asset_ids=assets_in[f.pool],
                admitted_block=f.admitted_block,
                provenance=provenance(f, chain_id),
            )
            for f in founded
        ],
        member_of=[
            MemberOfOut(
                pool=m.pool,
                pool_name=name(m.pool),
                tier=name_of(TIERS, m.tier),
                valid_from=time_of(m.valid_from),
                valid_until=time_of(m.valid_until),
                current=m.valid_until > at,
                renewals=m.renewals,
                total_paid=amount(m.total_paid, token(m.pool)),
                provenance=provenance(m, chain_id),
            )
            for m in memberships
        ],
        licences=[
            LicenceHeldOut(
                pool=lic.pool,
                pool_name=name(lic.pool),
                licence_id=lic.licence_id,
                offer_id=lic.offer_id,
                status=lic.status,
                current=lic.status == "active" and lic.start <= at < lic.end,
                whole_pool=lic.whole_pool,
                asset_ids=list(lic.asset_ids),
                start=time_of(lic.start),
                end=time_of(lic.end),
                price=amount(lic.price, token(lic.pool)),
                granted_at=time_of(lic.granted_at),
                provenance=provenance(lic, chain_id),
            )
            for lic in licences
        ],
        assets_owned=[AssetSummary(**asset_summary(a, chain_id)) for a in owned],
        money=money,
        disputes_opened=[dispute_out(d, chain_id) for d in disputes],
        read_at_block=indexed.block_number,
        truncated=any((cut_founded, cut_contributions, cut_members, cut_licences, cut_owned, cut_disputes, cut_money)),
    )
    return Item[CompanyOut](data=company, indexed=indexed)


def _share(weight: int, pool: Pool | None) -> int:
    return weight * 10_000 // pool.total_weight if pool is not None and pool.total_weight else 0

"""`/v1/stats`: the registry in numbers, as the deck's pool slide shows it, at the indexed block.

Totals are the sums of the pools' own counters (the same figures `/v1/pools` shows per pool);
money moved is summed per payment token, in Python, since amounts are exact uint256 values.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter
from pydantic import Field
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from api.deps import IndexedDep, SessionDep, StateDep
from api.models import Amount, ApiModel, Item, amount
from api.problems import PROBLEM_RESPONSES
from api.queries import LIFECYCLES, indexed_time, name_of
from indexer.schema import Asset, Dispute, Licence, Member, Pool

router = APIRouter(prefix="/v1/stats", tags=["stats"], responses=PROBLEM_RESPONSES)


class PoolsByLifecycle(ApiModel):
    """How many pools there are, and in which stage."""

    total: int
    incubating: int
    active: int
    closed: int


class MoneyMoved(ApiModel):
    """What the pools paying in one token received and paid out."""

    token: str = Field(description="The payment token's address.")
    pools: int = Field(description="How many pools are paid in this token.")
    received: Amount = Field(description="Every payment those pools received (membership fees, licences).")
    claimed: Amount = Field(description="Every claim they paid out.")


class PoolFigures(ApiModel):
    """One pool's line on the slide."""

    address: str
    name: str
    lifecycle: str = Field(examples=["active"])
    members: int = Field(description="Members ever admitted.")
    assets: int = Field(description="Families ever contributed.")


class Stats(ApiModel):
    """The registry in numbers."""

    pools: PoolsByLifecycle
    members: int = Field(description="Memberships ever taken, over all pools.")
    current_members: int = Field(description="Memberships whose term runs at the indexed block's time.")
    founders: int = Field(description="Founders (licensors) admitted, over all pools.")
    families: int = Field(description="Patent families registered.")
    assets: int = Field(description="Families contributed to pools, over all pools.")
    licences: int = Field(description="Unified licences granted.")
    revoked_licences: int
    disputes: int = Field(description="Disputes opened.")
    open_disputes: int
    money_moved: list[MoneyMoved] = Field(description="Per payment token.")
    per_pool: list[PoolFigures] = Field(description="Every pool, in the order the factory created them.")


def _count(session: Session, statement: SelectOfScalar[int]) -> int:
    return int(session.exec(statement).one())


@router.get("", response_model=Item[Stats])
def get_stats(session: SessionDep, state: StateDep, indexed: IndexedDep) -> Item[Stats]:
    """Pools by stage, members, founders, assets, licences, disputes and money moved."""
    pools = session.exec(select(Pool).order_by(col(Pool.pool_index), col(Pool.address))).all()
    stages = Counter(name_of(LIFECYCLES, p.lifecycle) for p in pools)
    received: dict[str, int] = {}
    claimed: dict[str, int] = {}
    paid_in: Counter[str] = Counter()
    for p in pools:
        received[p.payment_token] = received.get(p.payment_token, 0) + p.total_revenue
        claimed[p.payment_token] = claimed.get(p.payment_token, 0) + p.total_claimed
        paid_in[p.payment_token] += 1
    money = []
    for token in sorted(received):
        info = state.chain.token(token)
        money.append(
            MoneyMoved(
                token=token,
                pools=paid_in[token],
                received=amount(received[token], info),
                claimed=amount(claimed[token], info),
            )
        )
    at = indexed_time(session, indexed.block_number)
    stats = Stats(
        pools=PoolsByLifecycle(
            total=len(pools), incubating=stages["incubating"], active=stages["active"], closed=stages["closed"]
        ),
        members=sum(p.member_count for p in pools),
        current_members=_count(session, select(func.count()).select_from(Member).where(Member.valid_until > at)),
        founders=sum(p.founder_count for p in pools),
        families=_count(session, select(func.count()).select_from(Asset)),
        assets=sum(p.asset_count for p in pools),
        licences=sum(p.licence_count for p in pools),
        revoked_licences=_count(session, select(func.count()).select_from(Licence).where(Licence.status == "revoked")),
        disputes=sum(p.dispute_count for p in pools),
        open_disputes=_count(session, select(func.count()).select_from(Dispute).where(Dispute.status == "open")),
        money_moved=money,
        per_pool=[
            PoolFigures(
                address=p.address,
                name=p.name,
                lifecycle=name_of(LIFECYCLES, p.lifecycle),
                members=p.member_count,
                assets=p.asset_count,
            )
            for p in pools
        ],
    )
    return Item[Stats](data=stats, indexed=indexed)

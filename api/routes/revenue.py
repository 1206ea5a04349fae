"""`/v1/pools/{address}/revenue`: money in, how it was split, and what each payee earned and took.

Payments and claims come from the mirror; what each founder and treasury can still claim is read
from the chain (`PatentPool.claimable`) at the indexed block, so every figure in one answer is of
the same state: accrued = claimed + claimable.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import Field
from sqlmodel import Session, col, select
from web3 import Web3

from api.deps import IndexedDep, SessionDep, StateDep
from api.models import Amount, ApiModel, Item, Provenance, amount, provenance
from api.problems import PROBLEM_RESPONSES
from api.queries import AddressPath, pool_or_404, pool_token
from indexer.schema import Claim, Event, Founder, Payment, Pool

__all__ = ["MonthOut", "RevenueAccountOut", "RevenueOut", "by_month", "router", "treasuries_of"]

router = APIRouter(prefix="/v1/pools", tags=["revenue"], responses=PROBLEM_RESPONSES)


class MonthOut(ApiModel):
    """The payments of one calendar month (UTC), split into the operator's and the founders' part."""

    month: str = Field(examples=["2026-01"])
    payments: int
    amount: Amount
    operator: Amount = Field(description="The operator's share plus what no founder weight could take.")
    founders: Amount


class RevenueAccountOut(ApiModel):
    """What one payee of a pool (a founder, or a treasury) has earned, taken and may still take."""

    account: str
    roles: list[str] = Field(examples=[["founder"], ["treasury"], ["former-treasury"]])
    weight: int = Field(description="Its founder weight now (0 for a treasury that is no founder).")
    share_bps: int = Field(description="Its weight over the pool's total weight, in basis points.")
    accrued: Amount = Field(description="claimed + claimable: everything the pool has owed it.")
    claimed: Amount
    claims: int
    claimable: Amount = Field(description="PatentPool.claimable at the indexed block (read from the chain).")
    last_claim: Provenance | None


class RevenueOut(ApiModel):
    """A pool's money: payments in, the operator's and founders' shares, claims, and each payee."""

    pool: str
    payments_in: Amount
    payments: int
    operator_share: Amount = Field(description="operatorAmount + unallocated: what went to the treasury.")
    operator_amount: Amount
    unallocated: Amount = Field(description="Founders' part paid while the pool had no founder weight.")
    founders_share: Amount
    total_claimed: Amount
    claims: int
    total_claimable: Amount = Field(description="The sum of the accounts' claimable.")
    accounts: list[RevenueAccountOut] = Field(description="Every founder and every treasury the pool has had.")
    by_month: list[MonthOut] = Field(description="Consecutive months from the first payment to the last.")
    read_at_block: int = Field(description="The block the claimable amounts were read at (the indexed one).")
    provenance: Provenance = Field(description="The pool row's last change.")


def treasuries_of(session: Session, pool: Pool) -> list[str]:
    """Every address the pool has named its treasury, oldest first (the current one last)."""
    events = session.exec(
        select(Event)
        .where(Event.address == pool.address, Event.event_name == "TreasurySet")
        .order_by(col(Event.block_number), col(Event.log_index))
    ).all()
    seen: list[str] = []
    for event in events:
        treasury = Web3.to_checksum_address(str(event.args.get("treasury", "")).lower())
        if treasury in seen:
            seen.remove(treasury)
        seen.append(treasury)
    if pool.treasury and pool.treasury not in seen:
        seen.append(pool.treasury)
    return seen


#: The last second of year 9999 (datetime's limit); a later block time, meaningless, is shown as it.
_LAST_TIME = 253_402_300_799
#: Beyond this many months between the first and the last payment, gaps are not filled.
_MAX_FILLED_MONTHS = 1_200


def _month(ts: int) -> str:
    return datetime.fromtimestamp(min(max(ts, 0), _LAST_TIME), UTC).strftime("%Y-%m")


def _months_between(first: str, last: str) -> int:
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:])


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def by_month(payments: list[tuple[int, int, int, int, int]]) -> list[tuple[str, int, int, int, int]]:
    """(month, count, amount, operator + unallocated, founders) per month, gaps filled with zeros.

    `payments` are (paid_at, amount, operator_amount, founder_amount, unallocated_amount).
    """
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for paid_at, total, operator, founders, unallocated in payments:
        row = months[_month(paid_at)]
        row[0] += 1
        row[1] += total
        row[2] += operator + unallocated
        row[3] += founders
    if not months:
        return []
    first, last = min(months), max(months)
    if _months_between(first, last) > _MAX_FILLED_MONTHS:
        keys = sorted(months)
    else:
        keys = [first]
        while keys[-1] < last:
            keys.append(_next_month(keys[-1]))
    out = []
    for month in keys:
        count, total, operator, founders = months.get(month, [0, 0, 0, 0])
        out.append((month, count, total, operator, founders))
    return out


@router.get("/{address}/revenue", response_model=Item[RevenueOut])
def get_revenue(address: AddressPath, session: SessionDep, state: StateDep, indexed: IndexedDep) -> Item[RevenueOut]:
    """A pool's revenue: payments in, shares, claims, each founder's and treasury's accrued and claimable."""
    pool = pool_or_404(session, address)
    token = pool_token(state.chain, pool)
    payments = [
        (p.paid_at, p.amount, p.operator_amount, p.founder_amount, p.unallocated_amount)
        for p in session.exec(select(Payment).where(Payment.pool == pool.address)).all()
    ]
    claimed: dict[str, int] = defaultdict(int)
    claims: dict[str, int] = defaultdict(int)
    last_claim: dict[str, Provenance] = {}
    for claim in session.exec(
        select(Claim).where(Claim.pool == pool.address).order_by(col(Claim.block_number), col(Claim.log_index))
    ).all():
        claimed[claim.account] += claim.amount
        claims[claim.account] += 1
        last_claim[claim.account] = provenance(claim, indexed.chain_id)

    founders = {f.founder: f for f in session.exec(select(Founder).where(Founder.pool == pool.address)).all()}
    treasuries = treasuries_of(session, pool)
    roles: dict[str, list[str]] = {account: ["founder"] for account in sorted(founders)}
    for treasury in treasuries:
        roles.setdefault(treasury, []).append("treasury" if treasury == pool.treasury else "former-treasury")
    # Only founders and treasuries are ever credited; a claim by anyone else cannot happen, but
    # shown it would be rather than hidden.
    for account in claimed:
        roles.setdefault(account, [])

    accounts = []
    total_claimable = 0
    for account, account_roles in roles.items():
        claimable = int(state.chain.call("PatentPool", pool.address, "claimable", account, block=indexed.block_number))
        total_claimable += claimable
        weight = founders[account].weight if account in founders else 0
        accounts.append(
            RevenueAccountOut(
                account=account,
                roles=account_roles,
                weight=weight,
                share_bps=weight * 10_000 // pool.total_weight if pool.total_weight else 0,
                accrued=amount(claimed[account] + claimable, token),
                claimed=amount(claimed[account], token),
                claims=claims[account],
                claimable=amount(claimable, token),
                last_claim=last_claim.get(account),
            )
        )

    months = by_month(payments)
    revenue = RevenueOut(
        pool=pool.address,
        payments_in=amount(sum(p[1] for p in payments), token),
        payments=len(payments),
        operator_share=amount(sum(p[2] + p[4] for p in payments), token),
        operator_amount=amount(sum(p[2] for p in payments), token),
        unallocated=amount(sum(p[4] for p in payments), token),
        founders_share=amount(sum(p[3] for p in payments), token),
        total_claimed=amount(sum(claimed.values()), token),
        claims=sum(claims.values()),
        total_claimable=amount(total_claimable, token),
        accounts=accounts,
        by_month=[
            MonthOut(
                month=month,
                payments=count,
                amount=amount(total, token),
                operator=amount(operator, token),
                founders=amount(founders_part, token),
            )
            for month, count, total, operator, founders_part in months
        ],
        read_at_block=indexed.block_number,
        provenance=provenance(pool, indexed.chain_id),
    )
    return Item[RevenueOut](data=revenue, indexed=indexed)

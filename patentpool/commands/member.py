"""`patentpool member ...`: join a pool, renew, and look up a membership."""

from __future__ import annotations

from typing import Annotated

import typer

from patentpool._common import (
    PoolArg,
    Session,
    Step,
    done,
    fail,
    format_amount,
    iso_time,
    out,
    parse_address,
    parse_amount,
    print_json,
    simulate,
    table,
    token_symbol,
    tx_json,
    with_symbol,
)
from patentpool.commands.pool import parse_tier
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared
from registry.client import PatentPoolClient
from registry.types import Lifecycle, Tier

app = typer.Typer(help="Members (licensees): join a pool, renew, look up a membership.", no_args_is_help=True)

MaxFeeOption = Annotated[
    str | None, typer.Option("--max-fee", help="Most you agree to pay, in token units (default: the current fee).")
]
ApproveOption = Annotated[
    bool, typer.Option("--approve/--no-approve", help="Approve the pool to take exactly the fee when needed.")
]


def _iso(ts: int) -> str:
    return iso_time(ts) if ts else "-"


def pay_ready(
    s: Session, pool: PatentPoolClient, amount: int, what: str, approve: bool, main: Step
) -> list[dict[str, object]]:
    """Check the payer can pay `amount`, simulate the approval (when needed) and `main` together,
    then send the approval; returns the approval tx, if any. The caller sends `main` next.

    Every check runs before anything is sent, so a payment that cannot succeed changes nothing.
    """
    token = s.token(pool, write=True)
    payer = s.signer.address
    decimals = token.decimals()
    balance = token.balance_of(payer)
    if balance < amount:
        fail(
            f"{payer} holds {format_amount(balance, decimals)} of the payment token; "
            f"{what} costs {format_amount(amount, decimals)}"
        )
    allowance = token.allowance(payer, pool.address)
    if allowance >= amount:
        simulate(s, [main])
        return []
    if not approve:
        fail(
            f"the pool may spend {format_amount(allowance, decimals)} of your payment token; {what} costs "
            f"{format_amount(amount, decimals)}: approve it or drop --no-approve"
        )
    simulate(
        s,
        [Step(f"approving {format_amount(amount, decimals)}", token.contract, "approve", (pool.address, amount)), main],
        gas_for_all=True,
    )
    return [{"approve": amount, "tx": tx_json(token.approve(pool.address, amount))}]


def _require_active(pool: PatentPoolClient) -> None:
    lifecycle = Lifecycle(pool.profile()["lifecycle"])
    if lifecycle != Lifecycle.ACTIVE:
        fail(f"the pool is {lifecycle.name.lower()}, not active: members can join and renew only in an active pool")
    if pool.paused():
        fail("the pool is paused")


def _max_fee(s: Session, pool: PatentPoolClient, text: str | None, fee: int) -> int:
    if text is None:
        return fee
    limit = parse_amount(text, s.token(pool).decimals(), "--max-fee")
    if fee > limit:
        decimals = s.token(pool).decimals()
        fail(f"the fee is {format_amount(fee, decimals)}, above your --max-fee {format_amount(limit, decimals)}")
    return limit


@app.command("join")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def join(
    pool: PoolArg,
    tier: Annotated[str, typer.Option("--tier", help="startup, sme or enterprise.")],
    max_fee: MaxFeeOption = None,
    approve: ApproveOption = True,
    opts: Opts = OPTS,
) -> None:
    """Join a pool for 365 days by paying the tier's annual fee."""
    member_tier = parse_tier(tier)
    s = opts.session()
    reader = s.pool(pool)
    _require_active(reader)
    fee = reader.tier_fee(member_tier)
    if fee == 0:
        fail(f"the pool offers no {member_tier.name.lower()} tier (no fee set)")
    limit = _max_fee(s, reader, max_fee, fee)
    current = reader.membership(s.signer.address)
    now = int(s.w3.eth.get_block("latest")["timestamp"])
    if current["validUntil"] > now:
        fail(f"{s.signer.address} is already a member until {_iso(current['validUntil'])}: use `member renew`")
    txs = pay_ready(s, reader, fee, "joining", approve, Step("joining", reader.contract, "join", (member_tier, limit)))
    result = s.pool(pool, write=True).join(member_tier, limit)
    data = {
        "pool": reader.address,
        "member": s.signer.address,
        "tier": member_tier.name.lower(),
        "fee": fee,
        "validUntil": result.value,
        "tx": tx_json(result),
        "approvals": txs,
    }
    if opts.as_json:
        print_json(data)
    else:
        paid = with_symbol(fee, s.token(reader).decimals(), token_symbol(s.token(reader)))
        done(
            f"{s.signer.address} joined as {member_tier.name.lower()} member until {_iso(result.value)}, paying {paid}",
            result,
        )


@app.command("renew")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def renew(
    pool: PoolArg,
    max_fee: MaxFeeOption = None,
    approve: ApproveOption = True,
    opts: Opts = OPTS,
) -> None:
    """Renew your membership for 365 days from the later of now and its current end."""
    s = opts.session()
    reader = s.pool(pool)
    _require_active(reader)
    current = reader.membership(s.signer.address)
    if current["validUntil"] == 0:
        fail(f"{s.signer.address} has never been a member of this pool: use `member join`")
    fee = reader.tier_fee(current["tier"])
    if fee == 0:
        fail(f"the pool no longer offers the {Tier(current['tier']).name.lower()} tier")
    limit = _max_fee(s, reader, max_fee, fee)
    txs = pay_ready(s, reader, fee, "renewing", approve, Step("renewing", reader.contract, "renew", (limit,)))
    result = s.pool(pool, write=True).renew(limit)
    if opts.as_json:
        print_json(
            {
                "pool": reader.address,
                "member": s.signer.address,
                "fee": fee,
                "validUntil": result.value,
                "tx": tx_json(result),
                "approvals": txs,
            }
        )
    else:
        done(f"membership of {s.signer.address} renewed until {_iso(result.value)}", result)


@app.command("show")
@shared(NODE, DEPLOYMENT, JSON)
def show(
    pool: PoolArg,
    member: Annotated[str, typer.Argument(help="Address of the member.")],
    opts: Opts = OPTS,
) -> None:
    """Show a membership: tier and end of its latest term."""
    account = parse_address(member, "member")
    s = opts.session()
    reader = s.pool(pool)
    m = reader.membership(account)
    now = int(s.w3.eth.get_block("latest")["timestamp"])
    data = {
        "pool": reader.address,
        "member": account,
        "tier": Tier(m["tier"]).name.lower() if m["validUntil"] else None,
        "validUntil": m["validUntil"],
        "current": m["validUntil"] > now,
    }
    if opts.as_json:
        print_json(data)
    else:
        out.print(
            table(
                f"Membership of {account}",
                [
                    ("tier", data["tier"] or "never joined"),
                    ("valid until", _iso(m["validUntil"])),
                    ("current", "yes" if data["current"] else "no"),
                ],
            )
        )

"""`patentpool revenue ...`: what accounts can claim from a pool, and claiming it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from patentpool._common import (
    PoolArg,
    done,
    fail,
    format_amount,
    out,
    parse_address,
    print_json,
    token_symbol,
    tx_json,
    with_symbol,
)
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared

app = typer.Typer(help="Revenue: what accounts can claim from a pool, and claiming it.", no_args_is_help=True)


@app.command("show")
@shared(NODE, DEPLOYMENT, JSON)
def show(
    pool: PoolArg,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="An account to show (repeatable; default: the treasury).")
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Show the pool's token balance and what each given account can claim now."""
    s = opts.session()
    reader = s.pool(pool)
    profile = reader.profile()
    token = s.token(reader)
    decimals = token.decimals()
    symbol = token_symbol(token)
    accounts = [parse_address(a, "--account") for a in account or []] or [profile["treasury"]]
    rows = [
        {
            "account": a,
            "claimable": reader.claimable(a),
            "founderWeight": reader.founder_weight(a),
            "isTreasury": a == profile["treasury"],
        }
        for a in accounts
    ]
    data = {
        "pool": reader.address,
        "paymentToken": profile["paymentToken"],
        "decimals": decimals,
        "symbol": symbol,
        "poolBalance": token.balance_of(reader.address),
        "totalWeight": reader.total_weight(),
        "operatorShareBps": profile["operatorShareBps"],
        "accounts": rows,
    }
    if opts.as_json:
        print_json(data)
        return
    t = Table(title=f"Revenue of {profile['name']}: pool holds {with_symbol(data['poolBalance'], decimals, symbol)}")
    t.add_column("account", no_wrap=True, min_width=42)
    t.add_column("role")
    t.add_column("weight", justify="right")
    t.add_column(f"claimable ({symbol})" if symbol else "claimable", justify="right", no_wrap=True)
    for row in rows:
        role = "treasury" if row["isTreasury"] else ("founder" if row["founderWeight"] else "-")
        t.add_row(row["account"], role, str(row["founderWeight"]), format_amount(row["claimable"], decimals))
    out.print(t)


@app.command("claim")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def claim(
    pool: PoolArg,
    opts: Opts = OPTS,
) -> None:
    """Withdraw everything the pool owes you (founder share, or the operator's share as treasury)."""
    s = opts.session()
    reader = s.pool(pool)
    owed = reader.claimable(s.signer.address)
    if owed == 0:
        fail(f"{s.signer.address} has nothing to claim from this pool")
    result = s.pool(pool, write=True).claim()
    token = s.token(reader)
    decimals, symbol = token.decimals(), token_symbol(token)
    if opts.as_json:
        print_json({"pool": reader.address, "account": s.signer.address, "amount": result.value, "tx": tx_json(result)})
    else:
        done(f"claimed {with_symbol(result.value, decimals, symbol)} for {s.signer.address}", result)

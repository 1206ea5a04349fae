"""`patentpool token ...`: the payment token on local chains: mint test tokens, read balances."""

from __future__ import annotations

from typing import Annotated

import typer

from patentpool._common import (
    done,
    fail,
    out,
    parse_address,
    parse_amount,
    print_json,
    token_symbol,
    tx_json,
    with_symbol,
)
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared
from registry.client import StablecoinClient
from registry.node import LOCAL_CHAIN_IDS

app = typer.Typer(help="The test payment token: mint on local chains, read balances.", no_args_is_help=True)


@app.command("mint")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def mint(
    amount: Annotated[str, typer.Option("--amount", help="Whole tokens, e.g. 1000 or 12.5.")],
    to: Annotated[str | None, typer.Option("--to", help="Recipient (default: the signer).")] = None,
    opts: Opts = OPTS,
) -> None:
    """Mint TestStablecoin (local chains only: anyone may mint it, so it is worth nothing)."""
    s = opts.session()
    if s.chain_id not in LOCAL_CHAIN_IDS:
        fail(f"chain {s.chain_id} is not a local chain: the test stablecoin exists only on local chains")
    address = s.deployment.payment_token
    if address is None:
        fail("this deployment has no TestStablecoin")
    token = StablecoinClient(s.signer, address)
    decimals = token.decimals()
    units = parse_amount(amount, decimals, "--amount", allow_zero=False)
    recipient = parse_address(to, "--to") if to else s.signer.address
    result = token.mint(recipient, units)
    if opts.as_json:
        print_json({"token": address, "to": recipient, "amount": units, "tx": tx_json(result)})
    else:
        done(f"minted {with_symbol(units, decimals, token_symbol(token))} to {recipient}", result)


@app.command("balance")
@shared(NODE, DEPLOYMENT, JSON)
def balance(
    account: Annotated[str, typer.Argument(help="The account.")],
    opts: Opts = OPTS,
) -> None:
    """Show an account's balance of the deployment's TestStablecoin."""
    who = parse_address(account, "account")
    s = opts.session()
    address = s.deployment.payment_token
    if address is None:
        fail("this deployment has no TestStablecoin")
    token = StablecoinClient(s.reader, address)
    units = token.balance_of(who)
    if opts.as_json:
        print_json({"token": address, "account": who, "balance": units, "decimals": token.decimals()})
    else:
        out.print(f"{who} holds {with_symbol(units, token.decimals(), token_symbol(token))}", highlight=False)

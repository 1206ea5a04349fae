"""`patentpool licence ...`: unified licences for non-members, and the on-chain licence check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patentpool._common import (
    AssetOption,
    AtOption,
    BlockOption,
    LicenseeOption,
    PoolArg,
    PoolQueryOption,
    Step,
    done,
    fail,
    iso_time,
    out,
    parse_address,
    parse_amount,
    parse_hash_or_text,
    parse_time,
    print_json,
    simulate,
    table,
    token_symbol,
    tx_json,
    with_symbol,
)
from patentpool.commands.member import pay_ready
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared
from registry.types import Lifecycle

app = typer.Typer(help="Unified licences for non-members, and the on-chain licence check.", no_args_is_help=True)


@app.command("offer")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def offer(
    pool: PoolArg,
    licensee: Annotated[str, typer.Option("--licensee", help="Who may accept the offer.")],
    price: Annotated[str, typer.Option("--price", help="Price in token units, e.g. 1500.")],
    asset: Annotated[
        list[int] | None,
        typer.Option("--asset", help="A covered asset id (repeatable; none: the whole pool).", min=1),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="First day covered, YYYY-MM-DD or unix seconds (default: now).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="First day no longer covered (or use --days).")] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Length of the licence in days (default 365).", min=1, max=36_525)
    ] = None,
    terms: Annotated[str, typer.Option("--terms", help="The written terms: a file, a 0x hash, or text (hashed).")] = "",
    opts: Opts = OPTS,
) -> None:
    """Offer a unified licence to one licensee (OPERATOR_ROLE); the licensee accepts by paying."""
    who = parse_address(licensee, "--licensee")
    if end is not None and days is not None:
        fail("give --end or --days, not both")
    s = opts.session()
    reader = s.pool(pool)
    units = parse_amount(price, s.token(reader).decimals(), "--price")
    begin = parse_time(start, "--start") if start else int(s.w3.eth.get_block("latest")["timestamp"])
    finish = parse_time(end, "--end") if end else begin + (days or 365) * 86_400
    if finish <= begin:
        fail(f"the licence must end after it starts ({iso_time(begin)} .. {iso_time(finish)})")
    assets = sorted(set(asset or []))
    result = s.pool(pool, write=True).offer_licence(who, assets, begin, finish, units, parse_hash_or_text(terms))
    if opts.as_json:
        print_json(
            {
                "pool": reader.address,
                "offerId": result.value,
                "licensee": who,
                "assetIds": assets,
                "start": begin,
                "end": finish,
                "price": units,
                "tx": tx_json(result),
            }
        )
    else:
        scope = "the whole pool" if not assets else "asset(s) " + ", ".join(map(str, assets))
        done(f"offer {result.value} to {who} for {scope}, {iso_time(begin)} .. {iso_time(finish)}", result)


@app.command("accept")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def accept(
    pool: PoolArg,
    offer_id: Annotated[int, typer.Argument(help="The offer id.", min=1)],
    approve: Annotated[bool, typer.Option("--approve/--no-approve", help="Approve the price when needed.")] = True,
    opts: Opts = OPTS,
) -> None:
    """Accept an offer made to you by paying its price; the licence is granted at once."""
    s = opts.session()
    reader = s.pool(pool)
    o = reader.offer(offer_id)
    if not o["open"]:
        fail(f"offer {offer_id} does not exist or was already accepted or cancelled")
    if o["licensee"] != s.signer.address:
        fail(f"offer {offer_id} is for {o['licensee']}, not for {s.signer.address}")
    if Lifecycle(reader.profile()["lifecycle"]) != Lifecycle.ACTIVE:
        fail("the pool is not active: offers can be accepted only in an active pool")
    step = Step(f"accepting offer {offer_id}", reader.contract, "acceptOffer", (offer_id,))
    if o["price"]:
        txs = pay_ready(s, reader, o["price"], f"offer {offer_id}", approve, step)
    else:
        simulate(s, [step])
        txs = []
    result = s.pool(pool, write=True).accept_offer(offer_id)
    if opts.as_json:
        print_json(
            {
                "pool": reader.address,
                "offerId": offer_id,
                "licenceId": result.value,
                "licensee": s.signer.address,
                "price": o["price"],
                "tx": tx_json(result),
                "approvals": txs,
            }
        )
    else:
        done(f"licence {result.value} granted to {s.signer.address}", result)


@app.command("revoke")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def revoke(
    pool: PoolArg,
    licence_id: Annotated[int, typer.Argument(help="The licence id.", min=1)],
    reason: Annotated[str, typer.Option("--reason", help="The written reason: a file, a 0x hash, or text (hashed).")],
    opts: Opts = OPTS,
) -> None:
    """Revoke a licence (OPERATOR_ROLE): it covers nothing from now on, and still covers the times before."""
    s = opts.session()
    result = s.pool(pool, write=True).revoke_licence(licence_id, parse_hash_or_text(reason))
    if opts.as_json:
        print_json(
            {"pool": parse_address(pool, "pool"), "licenceId": licence_id, "revoked": True, "tx": tx_json(result)}
        )
    else:
        done(f"licence {licence_id} revoked", result)


@app.command("show")
@shared(NODE, DEPLOYMENT, JSON)
def show(
    pool: PoolArg,
    licence_id: Annotated[int, typer.Argument(help="The licence id.", min=1)],
    opts: Opts = OPTS,
) -> None:
    """Show a licence: licensee, period, price, scope and whether it was revoked."""
    s = opts.session()
    reader = s.pool(pool)
    lic = reader.licence(licence_id)
    if lic["licensee"] == "0x" + "00" * 20:
        fail(f"pool {reader.address} has no licence {licence_id}")
    assets = reader.offer(lic["offerId"])["assetIds"]
    data = {"pool": reader.address, "licenceId": licence_id, **lic, "assetIds": assets}
    if opts.as_json:
        print_json(data)
        return
    token = s.token(reader)
    decimals = token.decimals()
    out.print(
        table(
            f"Licence {licence_id}",
            [
                ("licensee", lic["licensee"]),
                ("scope", "whole pool" if lic["wholePool"] else ", ".join(map(str, assets))),
                ("period", f"{iso_time(lic['start'])} .. {iso_time(lic['end'])}"),
                ("price", with_symbol(lic["price"], decimals, token_symbol(token))),
                ("status", f"revoked at {iso_time(lic['revokedAt'])}" if lic["revoked"] else "valid"),
            ],
        )
    )


@app.command("verify")
@shared(NODE, JSON)
def verify(
    pool: PoolQueryOption,
    licensee: LicenseeOption,
    asset: AssetOption,
    at: AtOption = None,
    block: BlockOption = None,
    deployment: Annotated[
        Path | None,
        typer.Option("--deployment", help="Also check the pool belongs to this manifest's factory (optional)."),
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Ask the pool contract whether an account is licensed for an asset, and why. Exit 0 yes, 1 no, 2 error.

    Needs only the pool's address: any member can check a licence without a manifest."""
    from registry.licensing import check_licence

    pool_address = parse_address(pool, "--pool")
    licensee_address = parse_address(licensee, "--licensee")
    when_given = parse_time(at, "--at") if at is not None else None
    opts.deployment = deployment
    s = opts.session()
    if len(s.w3.eth.get_code(pool_address)) == 0:
        fail(f"no contract at pool address {pool_address} on chain {s.chain_id}")
    if deployment is not None:
        s.pool(pool_address)  # refuses an address that is not a pool of this deployment
    check = check_licence(s.w3, pool_address, licensee_address, asset, when_given, block)
    if opts.as_json:
        print_json(check.to_json())
    else:
        verdict = "[green]LICENSED[/]" if check.licensed else "[red]NOT LICENSED[/]"
        out.print(
            f"{verdict} ({check.code}): {licensee_address} for asset {asset} at {iso_time(check.at)}, read at block "
            f"{check.block_number} ({check.block_hash})",
            highlight=False,
            soft_wrap=True,
        )
        out.print(f"  {check.explanation}", highlight=False, soft_wrap=True)
    raise typer.Exit(0 if check.licensed else 1)


# Licence certificates: their commands live in patentpool/commands/certificate.py.
from patentpool.commands.certificate import certify, check  # noqa: E402

app.command("certify")(certify)
app.command("check")(check)

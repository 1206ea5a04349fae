"""`patentpool dispute ...`: challenge an asset and rule on challenges."""

from __future__ import annotations

from typing import Annotated

import typer

from patentpool._common import (
    PoolArg,
    done,
    fail,
    out,
    parse_hash_or_text,
    print_json,
    table,
    tx_json,
)
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared

app = typer.Typer(help="Disputes: challenge an asset, rule on a challenge.", no_args_is_help=True)

STATUS = {0: "none", 1: "open", 2: "upheld", 3: "dismissed"}


@app.command("open")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def open_(
    pool: PoolArg,
    asset: Annotated[int, typer.Argument(help="The challenged asset id.", min=1)],
    evidence: Annotated[str, typer.Option("--evidence", help="The evidence: a file, a 0x hash, or text (hashed).")],
    opts: Opts = OPTS,
) -> None:
    """Challenge an asset of the pool (current members and founders)."""
    s = opts.session()
    result = s.pool(pool, write=True).open_dispute(asset, parse_hash_or_text(evidence))
    if opts.as_json:
        print_json({"pool": s.pool(pool).address, "disputeId": result.value, "assetId": asset, "tx": tx_json(result)})
    else:
        done(f"dispute {result.value} opened against asset {asset}", result)


@app.command("resolve")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def resolve(
    pool: PoolArg,
    dispute_id: Annotated[int, typer.Argument(help="The dispute id.", min=1)],
    ruling: Annotated[str, typer.Option("--ruling", help="The ruling: a file, a 0x hash, or text (hashed).")],
    upheld: Annotated[
        bool | None, typer.Option("--upheld/--dismissed", help="Uphold (suspends the asset) or dismiss.")
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Rule on a dispute (ARBITER_ROLE); an upheld dispute suspends the asset in this pool."""
    if upheld is None:
        fail("say --upheld or --dismissed")
    s = opts.session()
    result = s.pool(pool, write=True).resolve_dispute(dispute_id, upheld, parse_hash_or_text(ruling))
    outcome = "upheld" if upheld else "dismissed"
    if opts.as_json:
        print_json({"pool": s.pool(pool).address, "disputeId": dispute_id, "outcome": outcome, "tx": tx_json(result)})
    else:
        done(f"dispute {dispute_id} {outcome}", result)


@app.command("show")
@shared(NODE, DEPLOYMENT, JSON)
def show(
    pool: PoolArg,
    dispute_id: Annotated[int, typer.Argument(help="The dispute id.", min=1)],
    opts: Opts = OPTS,
) -> None:
    """Show a dispute: asset, challenger, evidence and ruling."""
    s = opts.session()
    d = s.pool(pool).dispute(dispute_id)
    if d["status"] == 0:
        fail(f"the pool has no dispute {dispute_id}")
    data = {"pool": s.pool(pool).address, "disputeId": dispute_id, **d, "status": STATUS[d["status"]]}
    if opts.as_json:
        print_json(data)
    else:
        out.print(table(f"Dispute {dispute_id}", [(k, v) for k, v in data.items() if k not in ("pool", "disputeId")]))

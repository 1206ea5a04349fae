"""`patentpool dispute ...`: challenge an asset and rule on challenges."""

from __future__ import annotations

from typing import Annotated

import typer

from patentpool._common import (
    DeploymentOption,
    JsonOption,
    KeyOption,
    KeystoreOption,
    PoolArg,
    RpcOption,
    done,
    fail,
    out,
    parse_hash_or_text,
    print_json,
    session,
    table,
    tx_json,
)

app = typer.Typer(help="Disputes: challenge an asset, rule on a challenge.", no_args_is_help=True)

STATUS = {0: "none", 1: "open", 2: "upheld", 3: "dismissed"}


@app.command("open")
def open_(
    pool: PoolArg,
    asset: Annotated[int, typer.Argument(help="The challenged asset id.", min=1)],
    evidence: Annotated[str, typer.Option("--evidence", help="The evidence: a file, a 0x hash, or text (hashed).")],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Challenge an asset of the pool (current members and founders)."""
    s = session(rpc, deployment, private_key, keystore)
    result = s.pool(pool, write=True).open_dispute(asset, parse_hash_or_text(evidence))
    if as_json:
        print_json({"pool": s.pool(pool).address, "disputeId": result.value, "assetId": asset, "tx": tx_json(result)})
    else:
        done(f"dispute {result.value} opened against asset {asset}", result)


@app.command("resolve")
def resolve(
    pool: PoolArg,
    dispute_id: Annotated[int, typer.Argument(help="The dispute id.", min=1)],
    ruling: Annotated[str, typer.Option("--ruling", help="The ruling: a file, a 0x hash, or text (hashed).")],
    upheld: Annotated[
        bool | None, typer.Option("--upheld/--dismissed", help="Uphold (suspends the asset) or dismiss.")
    ] = None,
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rule on a dispute (ARBITER_ROLE); an upheld dispute suspends the asset in this pool."""
    if upheld is None:
        fail("say --upheld or --dismissed")
    s = session(rpc, deployment, private_key, keystore)
    result = s.pool(pool, write=True).resolve_dispute(dispute_id, upheld, parse_hash_or_text(ruling))
    outcome = "upheld" if upheld else "dismissed"
    if as_json:
        print_json({"pool": s.pool(pool).address, "disputeId": dispute_id, "outcome": outcome, "tx": tx_json(result)})
    else:
        done(f"dispute {dispute_id} {outcome}", result)


@app.command("show")
def show(
    pool: PoolArg,
    dispute_id: Annotated[int, typer.Argument(help="The dispute id.", min=1)],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a dispute: asset, challenger, evidence and ruling."""
    s = session(rpc, deployment)
    d = s.pool(pool).dispute(dispute_id)
    if d["status"] == 0:
        fail(f"the pool has no dispute {dispute_id}")
    data = {"pool": s.pool(pool).address, "disputeId": dispute_id, **d, "status": STATUS[d["status"]]}
    if as_json:
        print_json(data)
    else:
        out.print(table(f"Dispute {dispute_id}", [(k, v) for k, v in data.items() if k not in ("pool", "disputeId")]))

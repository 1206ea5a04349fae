"""`patentpool dispute ...`: challenge an asset (paying the pool's bond), rule on challenges, set
the bond, and lift a suspension on appeal."""

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
    Step,
    done,
    fail,
    format_amount,
    iso_time,
    out,
    parse_amount,
    parse_hash_or_text,
    print_json,
    session,
    table,
    tx_json,
)
from patentpool.commands.member import ApproveOption, pay_ready
from registry.types import Lifecycle, Parameter

app = typer.Typer(
    help="Disputes: challenge an asset, rule on a challenge, set the bond, lift a suspension on appeal.",
    no_args_is_help=True,
)

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
    approve: ApproveOption = True,
    as_json: JsonOption = False,
) -> None:
    """Challenge an asset of the pool (current members and founders), paying the pool's dispute bond
    (returned if upheld, paid to the asset's founder if dismissed)."""
    s = session(rpc, deployment, private_key, keystore)
    reader = s.pool(pool)
    evidence_hash = parse_hash_or_text(evidence)
    bond = reader.dispute_bond()
    txs: list[dict[str, object]] = []
    if bond:
        step = Step("opening the dispute", reader.contract, "openDispute", (asset, evidence_hash))
        txs = pay_ready(s, reader, bond, "the dispute bond", approve, step)
    result = s.pool(pool, write=True).open_dispute(asset, evidence_hash)
    if as_json:
        print_json(
            {
                "pool": reader.address,
                "disputeId": result.value,
                "assetId": asset,
                "bond": reader.dispute_bond_of(result.value),
                "tx": tx_json(result),
                "approvals": txs,
            }
        )
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
    bond = s.pool(pool).dispute_bond_of(dispute_id)
    data = {"pool": s.pool(pool).address, "disputeId": dispute_id, **d, "status": STATUS[d["status"]], "bond": bond}
    if as_json:
        print_json(data)
    else:
        out.print(table(f"Dispute {dispute_id}", [(k, v) for k, v in data.items() if k not in ("pool", "disputeId")]))


@app.command("bond")
def bond(
    pool: PoolArg,
    amount: Annotated[str, typer.Argument(help="The bond, in token units (0: disputes cost nothing).")],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set what opening a dispute costs (OPERATOR_ROLE): at once while the pool is incubating,
    announced (put in force after the pool's change delay by `pool apply-change`) once it is active."""
    s = session(rpc, deployment, private_key, keystore)
    reader = s.pool(pool)
    decimals = s.token(reader).decimals()
    units = parse_amount(amount, decimals, "the bond")
    result = s.pool(pool, write=True).set_dispute_bond(units)
    pending = reader.pending_change(Parameter.DISPUTE_BOND)
    announced = Lifecycle(reader.profile()["lifecycle"]) != Lifecycle.INCUBATING and pending["effectiveAt"] > 0
    data = {
        "pool": reader.address,
        "bond": units,
        "announced": announced,
        "effectiveAt": pending["effectiveAt"] if announced else None,
        "tx": tx_json(result),
    }
    if as_json:
        print_json(data)
    elif announced:
        done(
            f"dispute bond {format_amount(units, decimals)} announced, "
            f"in force from {iso_time(pending['effectiveAt'])}",
            result,
        )
    else:
        done(f"dispute bond set to {format_amount(units, decimals)}", result)


@app.command("appeal")
def appeal(
    pool: PoolArg,
    asset: Annotated[int, typer.Argument(help="The suspended asset id.", min=1)],
    ruling: Annotated[str, typer.Option("--ruling", help="The ruling on appeal: a file, a 0x hash, or text (hashed).")],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift an asset's suspension on appeal (ARBITER_ROLE), from now on: the asset earns again with
    its weight re-read from the registry; the suspended times stay unlicensed."""
    s = session(rpc, deployment, private_key, keystore)
    if not s.pool(pool).pool_asset(asset)["suspended"]:
        fail(f"asset {asset} is not suspended in this pool")
    result = s.pool(pool, write=True).lift_suspension(asset, parse_hash_or_text(ruling))
    if as_json:
        print_json({"pool": s.pool(pool).address, "assetId": asset, "weight": result.value, "tx": tx_json(result)})
    else:
        done(f"suspension of asset {asset} lifted; it earns again with weight {result.value}", result)

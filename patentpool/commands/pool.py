"""`patentpool pool ...`: create, configure and inspect pools; admit founders; contribute assets."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from patentpool._common import (
    DeploymentOption,
    JsonOption,
    KeyOption,
    KeystoreOption,
    PoolArg,
    RpcOption,
    Session,
    Step,
    done,
    fail,
    format_amount,
    iso_time,
    out,
    parse_address,
    parse_amount,
    parse_text,
    print_json,
    session,
    simulate,
    table,
    tx_json,
)
from patentpool.explain import explain_revert
from registry.chain import TxResult
from registry.client import PatentPoolClient, jurisdiction
from registry.errors import ContractRevert, RegistryError
from registry.types import Lifecycle, Parameter, PoolKind, Tier

app = typer.Typer(help="Create, configure and inspect pools; admit founders; contribute assets.", no_args_is_help=True)

KINDS = {k.name.lower(): k for k in PoolKind}
TIERS = {t.name.lower(): t for t in Tier}


def parse_kind(text: str) -> PoolKind:
    key = text.strip().lower()
    if key.isdigit() and int(key) in PoolKind._value2member_map_:
        return PoolKind(int(key))
    if key not in KINDS:
        fail(f"pool kind {text!r} is not one of {', '.join(KINDS)}")
    return KINDS[key]


def parse_tier(text: str) -> Tier:
    key = text.strip().lower()
    if key.isdigit() and int(key) in Tier._value2member_map_:
        return Tier(int(key))
    if key not in TIERS:
        fail(f"tier {text!r} is not one of {', '.join(TIERS)}")
    return TIERS[key]


#: Names of the parameters the operator changes by announcement, as the command takes them.
PARAMETER_NAMES: dict[str, Parameter] = {
    "operator-share": Parameter.OPERATOR_SHARE,
    "withdrawal-notice": Parameter.WITHDRAWAL_NOTICE,
    "max-licence-length": Parameter.MAX_LICENCE_LENGTH,
    "qualification": Parameter.QUALIFICATION,
    "tier-fee-startup": Parameter.TIER_FEE_0,
    "tier-fee-sme": Parameter.TIER_FEE_1,
    "tier-fee-enterprise": Parameter.TIER_FEE_2,
    "dispute-bond": Parameter.DISPUTE_BOND,
}


def pending_changes(pool: PatentPoolClient) -> dict[str, dict[str, Any]]:
    """The announced changes not yet applied, by parameter name, with when they may be."""
    pending: dict[str, dict[str, Any]] = {}
    for name, parameter in PARAMETER_NAMES.items():
        if parameter is Parameter.QUALIFICATION:
            rule = pool.pending_qualification()
            if rule["effectiveAt"]:
                effective_at = rule.pop("effectiveAt")
                pending[name] = {"value": rule, "effectiveAt": effective_at}
            continue
        change = pool.pending_change(parameter)
        if change["effectiveAt"]:
            pending[name] = change
    return pending


def announced_at(pool: PatentPoolClient, result: TxResult[Any]) -> int | None:
    """When an announced change may be applied, or None: the setter took effect at once."""
    for event in ("ParameterChangeAnnounced", "QualificationChangeAnnounced"):
        for args in pool.events(result, event):
            return int(args["effectiveAt"])
    return None


def pool_state(s: Session, pool: PatentPoolClient) -> dict[str, Any]:
    """Everything the chain says about a pool's configuration, in one document."""
    profile = pool.profile()
    token = s.token(pool)
    decimals = token.decimals()
    return {
        "address": pool.address,
        "name": profile["name"],
        "kind": PoolKind(profile["kind"]).name.lower(),
        "field": profile["field"],
        "territory": profile["territory"],
        "lifecycle": Lifecycle(profile["lifecycle"]).name.lower(),
        "paused": pool.paused(),
        "paymentToken": profile["paymentToken"],
        "tokenDecimals": decimals,
        "operatorShareBps": profile["operatorShareBps"],
        "treasury": profile["treasury"],
        "tierFees": {t.name.lower(): pool.tier_fee(t) for t in Tier},
        "qualification": pool.qualification(),
        "bounds": pool.bounds(),
        "pendingChanges": pending_changes(pool),
        "totalWeight": pool.total_weight(),
        "counts": pool.counts(),
    }


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="The pool's name.")],
    kind: Annotated[str, typer.Option("--kind", help="company, industry, technology or geography.")],
    field: Annotated[str, typer.Option("--field", help="Technology field.")],
    operator: Annotated[str | None, typer.Option("--operator", help="Operator address (default: the signer).")] = None,
    payment_token: Annotated[
        str | None, typer.Option("--payment-token", help="ERC-20 address (default: the manifest's TestStablecoin).")
    ] = None,
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a pool through the factory (POOL_CREATOR_ROLE); it starts incubating."""
    pool_kind = parse_kind(kind)
    name = parse_text(name, "--name")
    field = parse_text(field, "--field")
    s = session(rpc, deployment, private_key, keystore)
    token = parse_address(payment_token, "--payment-token") if payment_token else s.deployment.payment_token
    if token is None:
        fail("this deployment has no TestStablecoin: pass --payment-token ADDRESS")
    op = parse_address(operator, "--operator") if operator else s.signer.address
    result = s.factory(write=True).create_pool(name, pool_kind, field, token, op)
    if as_json:
        print_json({"pool": result.value, "name": name, "operator": op, "tx": tx_json(result)})
    else:
        done(f"created pool {name!r} at {result.value}", result)


@app.command("configure")
def configure(
    pool: PoolArg,
    tier_fee: Annotated[
        list[str] | None,
        typer.Option("--tier-fee", help="TIER=AMOUNT in token units, e.g. startup=500 (repeatable)."),
    ] = None,
    jurisdictions: Annotated[
        str | None, typer.Option("--jurisdictions", help="Required offices, comma-separated, e.g. US,CN,DE,JP.")
    ] = None,
    min_granted: Annotated[int | None, typer.Option("--min-granted", min=1, max=255)] = None,
    min_score: Annotated[int | None, typer.Option("--min-score", help="Minimum stability score, bps.", min=0)] = None,
    operator_share: Annotated[
        int | None, typer.Option("--operator-share", help="Operator's share of payments, bps.", min=0)
    ] = None,
    territory: Annotated[str | None, typer.Option("--territory")] = None,
    withdrawal_notice_days: Annotated[int | None, typer.Option("--withdrawal-notice-days", min=0)] = None,
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set tier fees, the qualification rule, the operator share, territory or notice (OPERATOR_ROLE)."""
    s = session(rpc, deployment, private_key, keystore)
    reader = s.pool(pool)
    decimals = s.token(reader).decimals()
    fees: list[tuple[Tier, int]] = []
    for item in tier_fee or []:
        if "=" not in item:
            fail(f"--tier-fee {item!r} must look like TIER=AMOUNT, e.g. startup=500")
        tier_text, amount = item.split("=", 1)
        fees.append((parse_tier(tier_text), parse_amount(amount, decimals, f"--tier-fee {tier_text}")))
    rule_given = jurisdictions is not None or min_granted is not None or min_score is not None
    if operator_share is not None and operator_share > 10_000:
        fail(f"--operator-share {operator_share} is above 10000 bps (100 %)")
    if not (
        fees or rule_given or operator_share is not None or territory is not None or withdrawal_notice_days is not None
    ):
        fail(
            "nothing to configure: give at least one of --tier-fee, --jurisdictions/--min-granted/--min-score, "
            "--operator-share, --territory, --withdrawal-notice-days"
        )
    # Every value is checked before anything is sent, then the whole sequence is simulated.
    planned: list[tuple[Step, str, Any]] = [
        (
            Step(f"tierFee.{t.name.lower()}", reader.contract, "setTierFee", (int(t), units)),
            f"tierFee.{t.name.lower()}",
            units,
        )
        for t, units in fees
    ]
    if rule_given:
        current = reader.qualification()
        codes = (
            [c.strip().upper() for c in jurisdictions.split(",")]
            if jurisdictions is not None
            else current["jurisdictions"]
        )
        if any(len(c) != 2 or not c.isalpha() or not c.isascii() for c in codes):
            fail(f"--jurisdictions {jurisdictions!r} must be two-letter office codes separated by commas")
        granted = min_granted if min_granted is not None else current["minGranted"]
        score = min_score if min_score is not None else current["minScoreBps"]
        if score > 10_000:
            fail(f"--min-score {score} is above 10000 bps")
        rule = [jurisdiction(c) for c in codes]
        planned.append(
            (
                Step("qualification", reader.contract, "setQualification", (rule, granted, score)),
                "qualification",
                {"jurisdictions": codes, "minGranted": granted, "minScoreBps": score},
            )
        )
    if operator_share is not None:
        planned.append(
            (
                Step("operatorShareBps", reader.contract, "setOperatorShare", (operator_share,)),
                "operatorShareBps",
                operator_share,
            )
        )
    if territory is not None:
        text = parse_text(territory, "--territory", allow_empty=True)
        planned.append((Step("territory", reader.contract, "setTerritory", (text,)), "territory", text))
    if withdrawal_notice_days is not None:
        seconds = withdrawal_notice_days * 86_400
        if seconds >= 2**64:
            fail(f"--withdrawal-notice-days {withdrawal_notice_days} is too long")
        planned.append(
            (Step("withdrawalNotice", reader.contract, "setWithdrawalNotice", (seconds,)), "withdrawalNotice", seconds)
        )
    writer = s.pool(pool, write=True)
    simulate(s, [step for step, _, _ in planned])
    changes: list[dict[str, Any]] = []
    for number, (step, setting, value) in enumerate(planned, start=1):
        try:
            result = writer.chain.transact(writer.contract.functions[step.fn_name](*step.args))
        except RegistryError as exc:
            sent = ", ".join(f"{c['setting']} (tx {c['tx']['txHash']})" for c in changes) or "none"
            why = explain_revert(exc) if isinstance(exc, ContractRevert) else str(exc)
            fail(f"step {number} of {len(planned)} ({setting}) failed: {why}; already sent: {sent}")
        # An active pool announces the change: in force once applied after the change delay.
        changes.append(
            {"setting": setting, "value": value, "tx": tx_json(result), "effectiveAt": announced_at(writer, result)}
        )
    if as_json:
        print_json({"pool": writer.address, "changes": changes})
    else:
        for change in changes:
            when = change["effectiveAt"]
            verb = "set" if when is None else "announced"
            after = "" if when is None else f", may be applied from {iso_time(when)} (pool apply-change)"
            out.print(
                f"{verb} {change['setting']} = {change['value']}{after} "
                f"(block {change['tx']['blockNumber']}, tx {change['tx']['txHash']})",
                highlight=False,
                soft_wrap=True,
            )


@app.command("apply-change")
def apply_change(
    pool: PoolArg,
    parameter: Annotated[str, typer.Argument(help=f"One of: {', '.join(PARAMETER_NAMES)}.")],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put an announced parameter change in force once its delay has passed (anyone may)."""
    if parameter not in PARAMETER_NAMES:
        fail(f"unknown parameter {parameter!r}: one of {', '.join(PARAMETER_NAMES)}")
    s = session(rpc, deployment, private_key, keystore)
    writer = s.pool(pool, write=True)
    result = writer.apply_parameter_change(PARAMETER_NAMES[parameter])
    if as_json:
        print_json({"pool": writer.address, "parameter": parameter, "tx": tx_json(result)})
    else:
        done(f"applied the announced {parameter} of pool {writer.address}", result)


def _lifecycle_command(
    pool: str, rpc: str | None, deployment: Any, private_key: Any, keystore: Any, as_json: bool, action: str
) -> None:
    s = session(rpc, deployment, private_key, keystore)
    writer = s.pool(pool, write=True)
    result = writer.activate() if action == "activate" else writer.close()
    lifecycle = Lifecycle(writer.profile()["lifecycle"]).name.lower()
    if as_json:
        print_json({"pool": writer.address, "lifecycle": lifecycle, "tx": tx_json(result)})
    else:
        done(f"pool {writer.address} is now {lifecycle}", result)


@app.command("activate")
def activate(
    pool: PoolArg,
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an incubating pool to members and licences (OPERATOR_ROLE)."""
    _lifecycle_command(pool, rpc, deployment, private_key, keystore, as_json, "activate")


@app.command("close")
def close(
    pool: PoolArg,
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close a pool: nothing new; existing terms run out and claims go on (OPERATOR_ROLE)."""
    _lifecycle_command(pool, rpc, deployment, private_key, keystore, as_json, "close")


@app.command("show")
def show(
    pool: PoolArg,
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a pool's profile, fees, qualification rule and counts, as the chain has them."""
    s = session(rpc, deployment)
    state = pool_state(s, s.pool(pool))
    if as_json:
        print_json(state)
        return
    d = state["tokenDecimals"]
    q = state["qualification"]
    out.print(
        table(
            f"Pool {state['name']} ({state['address']})",
            [
                ("kind", state["kind"]),
                ("field", state["field"]),
                ("territory", state["territory"] or "-"),
                ("lifecycle", state["lifecycle"] + (" (paused)" if state["paused"] else "")),
                ("payment token", state["paymentToken"]),
                ("operator share", f"{state['operatorShareBps'] / 100:g} %"),
                ("share ceiling", f"{state['bounds']['maxOperatorShareBps'] / 100:g} % (fixed)"),
                ("change delay", f"{state['bounds']['changeDelay'] // 86_400} days (fixed)"),
                ("max licence length", f"{state['bounds']['maxLicenceLength'] // 86_400} days"),
                *(
                    (f"announced {name}", f"{change['value']} from {iso_time(change['effectiveAt'])}")
                    for name, change in state["pendingChanges"].items()
                ),
                ("treasury", state["treasury"]),
                *((f"fee {t}", format_amount(v, d) if v else "not offered") for t, v in state["tierFees"].items()),
                (
                    "qualification",
                    f"{q['minGranted']} verified grants in {'/'.join(q['jurisdictions'])}, "
                    f"score >= {q['minScoreBps']} bps",
                ),
                ("members", state["counts"]["members"]),
                ("assets", state["counts"]["assets"]),
                ("licences", state["counts"]["licences"]),
                ("disputes", state["counts"]["disputes"]),
                ("total weight", state["totalWeight"]),
            ],
        )
    )


@app.command("list")
def list_pools(
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every pool the deployment's factory created."""
    s = session(rpc, deployment)
    rows = []
    for address in s.factory().pools():
        pool = PatentPoolClient(s.reader, address)
        profile = pool.profile()
        rows.append(
            {
                "address": address,
                "name": profile["name"],
                "kind": PoolKind(profile["kind"]).name.lower(),
                "lifecycle": Lifecycle(profile["lifecycle"]).name.lower(),
                **pool.counts(),
            }
        )
    if as_json:
        print_json({"pools": rows})
        return
    t = Table(title=f"{len(rows)} pool(s) on chain {s.chain_id}")
    for column in ("address", "name", "kind", "lifecycle", "members", "assets", "licences"):
        t.add_column(column)
    for row in rows:
        t.add_row(*(str(row[c]) for c in ("address", "name", "kind", "lifecycle", "members", "assets", "licences")))
    out.print(t)


@app.command("admit-founder")
def admit_founder(
    pool: PoolArg,
    founder: Annotated[str, typer.Argument(help="Address of the founder (licensor).")],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Admit a founder who may then contribute qualifying assets (OPERATOR_ROLE)."""
    account = parse_address(founder, "founder")
    s = session(rpc, deployment, private_key, keystore)
    result = s.pool(pool, write=True).admit_founder(account)
    if as_json:
        print_json({"pool": parse_address(pool, "pool"), "founder": account, "tx": tx_json(result)})
    else:
        done(f"admitted {account} as founder", result)


@app.command("contribute")
def contribute(
    pool: PoolArg,
    asset: Annotated[int, typer.Argument(help="Asset (patent family token) id.", min=1)],
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Contribute an asset you own to a pool you are a founder of; it must pass the pool's rule."""
    s = session(rpc, deployment, private_key, keystore)
    result = s.pool(pool, write=True).contribute(asset)
    if as_json:
        print_json(
            {"pool": parse_address(pool, "pool"), "assetId": asset, "weight": result.value, "tx": tx_json(result)}
        )
    else:
        done(f"contributed asset {asset} with weight {result.value}", result)

"""The rest of a pool's life in the command: pause and unpause, the treasury, the default admin,
an asset's withdrawal, a cancelled offer, a dossier update, a rejected patent, and roles by name.

Registered on the `pool`, `licence` and `asset` apps (and `role` as its own app) by patentpool.cli.
Every command here is one contract call: it is estimated before it is signed (a refusal is one line
naming the contract's reason, and nothing is sent), and takes --dry-run and --safe-json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from patentpool._common import (
    MAX_URI,
    PoolArg,
    content_uri,
    done,
    fail,
    iso_time,
    out,
    parse_address,
    parse_hash_or_text,
    parse_text,
    print_json,
    tx_json,
)
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared

__all__ = ["ROLES", "role_app"]

AssetArg = Annotated[int, typer.Argument(help="Asset (patent family token) id.", min=1, show_default=False)]

#: Roles by the name the command takes: (the contract that has it, its Solidity name).
ROLES: dict[str, tuple[str, str]] = {
    "operator": ("pool", "OPERATOR_ROLE"),
    "arbiter": ("pool", "ARBITER_ROLE"),
    "verifier": ("assets", "VERIFIER_ROLE"),
    "evaluator": ("assets", "EVALUATOR_ROLE"),
    "pool-creator": ("factory", "POOL_CREATOR_ROLE"),
    "registry-admin": ("assets", "DEFAULT_ADMIN_ROLE"),
    "factory-admin": ("factory", "DEFAULT_ADMIN_ROLE"),
}
_CONTRACT_NAMES = {"pool": "the pool", "assets": "the PatentAsset registry", "factory": "the PoolFactory"}


def _report(opts: Opts, message: str, result: Any, data: dict[str, Any]) -> None:
    if opts.as_json:
        print_json(data | {"tx": tx_json(result)})
    else:
        done(message, result)


# ------------------------------------------------------------------------------------ pool ...
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def pause(pool: PoolArg, opts: Opts = OPTS) -> None:
    """Pause a pool (OPERATOR_ROLE): no joins, renewals, offers accepted or disputes until unpaused."""
    s = opts.session()
    writer = s.pool(pool, write=True)
    if writer.paused():
        fail(f"pool {writer.address} is already paused")
    result = writer.pause()
    _report(opts, f"pool {writer.address} is paused", result, {"pool": writer.address, "paused": True})


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def unpause(pool: PoolArg, opts: Opts = OPTS) -> None:
    """Lift a pool's pause (OPERATOR_ROLE)."""
    s = opts.session()
    writer = s.pool(pool, write=True)
    if not writer.paused():
        fail(f"pool {writer.address} is not paused")
    result = writer.unpause()
    _report(opts, f"pool {writer.address} is no longer paused", result, {"pool": writer.address, "paused": False})


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def set_treasury(
    pool: PoolArg,
    treasury: Annotated[str, typer.Argument(help="The account that will receive the operator's share.")],
    opts: Opts = OPTS,
) -> None:
    """Change the account that receives the operator's share (DEFAULT_ADMIN_ROLE); what the old one
    could claim stays its own."""
    account = parse_address(treasury, "treasury")
    if int(account, 16) == 0:
        fail("the treasury cannot be the zero address: the operator's share would be lost")
    s = opts.session()
    writer = s.pool(pool, write=True)
    if writer.profile()["treasury"] == account:
        fail(f"{account} is already the treasury of pool {writer.address}")
    result = writer.set_treasury(account)
    _report(
        opts,
        f"the treasury of pool {writer.address} is now {account}",
        result,
        {"pool": writer.address, "treasury": account},
    )


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def transfer_admin(
    pool: PoolArg,
    new_admin: Annotated[str, typer.Argument(help="The account offered the admin role (0x0...0 withdraws an offer).")],
    opts: Opts = OPTS,
) -> None:
    """Offer the pool's DEFAULT_ADMIN_ROLE to another account; it changes hands when that account
    runs `pool accept-admin` (DEFAULT_ADMIN_ROLE)."""
    account = parse_address(new_admin, "new admin")
    s = opts.session()
    writer = s.pool(pool, write=True)
    result = writer.begin_default_admin_transfer(account)
    _report(
        opts,
        f"offered the admin role of pool {writer.address} to {account}; it takes it with `pool accept-admin`",
        result,
        {"pool": writer.address, "pendingAdmin": account},
    )


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def accept_admin(pool: PoolArg, opts: Opts = OPTS) -> None:
    """Take the pool's DEFAULT_ADMIN_ROLE that its admin offered you."""
    s = opts.session()
    writer = s.pool(pool, write=True)
    pending = writer.default_admin()["pendingAdmin"]
    if pending != s.signer.address:
        offered = "nobody" if int(pending, 16) == 0 else pending
        fail(f"the admin role of pool {writer.address} is offered to {offered}, not to {s.signer.address}")
    result = writer.accept_default_admin_transfer()
    _report(
        opts,
        f"{s.signer.address} is now the admin of pool {writer.address}",
        result,
        {"pool": writer.address, "admin": s.signer.address},
    )


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def announce_withdrawal(pool: PoolArg, asset: AssetArg, opts: Opts = OPTS) -> None:
    """Announce that an asset you contributed leaves the pool once the notice period has run out."""
    s = opts.session()
    writer = s.pool(pool, write=True)
    held = writer.pool_asset(asset)
    if held["contributedAt"] == 0 or held["withdrawnAt"]:
        fail(f"asset {asset} is not in pool {writer.address}")
    if held["suspended"]:
        fail(f"asset {asset} is suspended by an upheld dispute: it no longer earns or licenses in this pool")
    if held["withdrawalEffectiveAt"]:
        fail(
            f"the withdrawal of asset {asset} is already announced, effective {iso_time(held['withdrawalEffectiveAt'])}"
        )
    result = writer.announce_withdrawal(asset)
    when = result.value
    _report(
        opts,
        f"asset {asset} leaves pool {writer.address} from {iso_time(when)} (then `pool complete-withdrawal`)",
        result,
        {"pool": writer.address, "assetId": asset, "effectiveAt": when},
    )


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def complete_withdrawal(pool: PoolArg, asset: AssetArg, opts: Opts = OPTS) -> None:
    """Take an asset out of the pool once its notice has run out (anyone may)."""
    s = opts.session()
    writer = s.pool(pool, write=True)
    held = writer.pool_asset(asset)
    if held["contributedAt"] == 0 or held["withdrawnAt"]:
        fail(f"asset {asset} is not in pool {writer.address}")
    effective = held["withdrawalEffectiveAt"]
    if not effective:
        fail(f"the withdrawal of asset {asset} was never announced: its founder runs `pool announce-withdrawal` first")
    now = int(s.w3.eth.get_block("latest")["timestamp"])
    if now < effective:
        fail(
            f"the withdrawal of asset {asset} is not due until {iso_time(effective)} "
            f"(the chain's time is {iso_time(now)})"
        )
    result = writer.complete_withdrawal(asset)
    _report(
        opts,
        f"asset {asset} has left pool {writer.address}",
        result,
        {"pool": writer.address, "assetId": asset, "withdrawn": True},
    )


# --------------------------------------------------------------------------------- licence ...
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def cancel_offer(
    pool: PoolArg,
    offer_id: Annotated[int, typer.Argument(help="The offer id.", min=1, show_default=False)],
    opts: Opts = OPTS,
) -> None:
    """Withdraw an open licence offer (OPERATOR_ROLE); it can no longer be accepted."""
    s = opts.session()
    writer = s.pool(pool, write=True)
    if not writer.offer(offer_id)["open"]:
        fail(f"offer {offer_id} does not exist or was already accepted or cancelled")
    result = writer.cancel_offer(offer_id)
    _report(
        opts, f"offer {offer_id} cancelled", result, {"pool": writer.address, "offerId": offer_id, "cancelled": True}
    )


# ----------------------------------------------------------------------------------- asset ...
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def update_dossier(
    asset: AssetArg,
    dossier: Annotated[Path, typer.Argument(help="The family's new dossier JSON file (docs/dossier.md).")],
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri", help="Where it is published (default: sha256:<hex of the file's bytes>).", show_default=False
        ),
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Record a new dossier for a family you own: its hash and where it is published."""
    from registry.dossier import dossier_hash, load_dossier

    doc = load_dossier(dossier)
    digest = dossier_hash(dossier)
    published = content_uri(dossier) if uri is None else parse_text(uri, "--uri", limit=MAX_URI)
    if published.lower().startswith("file:"):
        fail(f"--uri {published!r} is a path on this machine, which nobody else can read; publish the dossier first")
    s = opts.session()
    registry = s.assets(write=True)
    family = registry.family(asset)
    if family["familyId"] != doc.familyId:
        fail(f"{dossier} is the dossier of family {doc.familyId!r}; asset {asset} is family {family['familyId']!r}")
    if family["dossierHash"] == digest and family["dossierURI"] == published:
        fail(f"asset {asset} already records this dossier at {published}")
    result = registry.update_dossier(asset, digest, published)
    _report(
        opts,
        f"asset {asset} now records dossier 0x{digest.hex()} at {published}",
        result,
        {"assetId": asset, "dossierHash": digest, "dossierURI": published},
    )


@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def reject_patent(
    asset: AssetArg,
    index: Annotated[int, typer.Argument(help="The patent's index in the family.", min=0, show_default=False)],
    reason: Annotated[
        str, typer.Option("--reason", help="Why: a file, a 0x hash, or text (hashed).", show_default=False)
    ],
    opts: Opts = OPTS,
) -> None:
    """Mark a listed patent false (VERIFIER_ROLE): it counts for nothing and frees its number."""
    s = opts.session()
    registry = s.assets(write=True)
    if index >= registry.patent_count(asset):
        fail(f"asset {asset} has no patent {index}")
    result = registry.reject_patent(asset, index, parse_hash_or_text(reason))
    _report(
        opts,
        f"patent {index} of asset {asset} is rejected",
        result,
        {"assetId": asset, "index": index, "status": "rejected"},
    )


# ------------------------------------------------------------------------------------ role ...
role_app = typer.Typer(
    help="Roles by name: grant, revoke and show who may operate, arbitrate, verify, evaluate or create pools.",
    no_args_is_help=True,
)

RoleArg = Annotated[
    str,
    typer.Argument(help=f"One of: {', '.join(ROLES)}.", show_default=False),
]
AccountArg = Annotated[str, typer.Argument(help="The account.", show_default=False)]
PoolOption = Annotated[
    str | None,
    typer.Option("--pool", help="The pool (for the operator and arbiter roles).", show_default=False),
]


def _role_target(s: Any, role: str, pool: str | None, write: bool) -> tuple[Any, str, str]:
    """The client of the contract holding `role`, the Solidity role name, and what to call the contract."""
    key = role.strip().lower().replace("_", "-").removesuffix("-role")
    if key not in ROLES:
        fail(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    where, name = ROLES[key]
    if where == "pool":
        if pool is None:
            fail(f"the {key} role is a pool's: say which with --pool")
        client = s.pool(pool, write=write)
        return client, name, f"pool {client.address}"
    if pool is not None:
        fail(f"the {key} role is held on {_CONTRACT_NAMES[where]}, not on a pool: drop --pool")
    client = s.assets(write=write) if where == "assets" else s.factory(write=write)
    return client, name, f"{_CONTRACT_NAMES[where]} {client.address}"


def _role_change(role: str, account: str, pool: str | None, opts: Opts, grant: bool) -> None:
    who = parse_address(account, "account")
    s = opts.session()
    client, name, where = _role_target(s, role, pool, write=True)
    held = client.has_role(name, who)
    if grant and held:
        fail(f"{who} already holds {name} on {where}")
    if not grant and not held:
        fail(f"{who} does not hold {name} on {where}")
    result = client.grant_role(name, who) if grant else client.revoke_role(name, who)
    verb = "granted" if grant else "revoked"
    _report(
        opts,
        f"{verb} {name} {'to' if grant else 'from'} {who} on {where}",
        result,
        {"contract": client.address, "role": name, "account": who, "granted": grant},
    )


@role_app.command("grant")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def grant(role: RoleArg, account: AccountArg, pool: PoolOption = None, opts: Opts = OPTS) -> None:
    """Grant a role to an account (its admin role: DEFAULT_ADMIN_ROLE of that contract)."""
    _role_change(role, account, pool, opts, grant=True)


@role_app.command("revoke")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def revoke(role: RoleArg, account: AccountArg, pool: PoolOption = None, opts: Opts = OPTS) -> None:
    """Revoke a role from an account (DEFAULT_ADMIN_ROLE of that contract)."""
    _role_change(role, account, pool, opts, grant=False)


@role_app.command("show")
@shared(NODE, DEPLOYMENT, JSON)
def show_roles(account: AccountArg, pool: PoolOption = None, opts: Opts = OPTS) -> None:
    """Show every role an account holds on the registry, the factory and (with --pool) a pool."""
    who = parse_address(account, "account")
    s = opts.session()
    rows = []
    for key, (where, name) in ROLES.items():
        if where == "pool" and pool is None:
            continue
        client, _, place = _role_target(s, key, pool if where == "pool" else None, write=False)
        rows.append(
            {"role": key, "name": name, "contract": client.address, "where": place, "held": client.has_role(name, who)}
        )
    if pool is not None:
        admin = s.pool(pool).default_admin()
        rows.append(
            {
                "role": "pool-admin",
                "name": "DEFAULT_ADMIN_ROLE",
                "contract": s.pool(pool).address,
                "where": f"pool {s.pool(pool).address}",
                "held": admin["admin"] == who,
            }
        )
    if opts.as_json:
        print_json({"account": who, "roles": rows})
        return
    t = Table(title=f"Roles of {who}")
    t.add_column("role")
    t.add_column("held")
    t.add_column("on", overflow="fold")
    for row in rows:
        t.add_row(row["role"], "yes" if row["held"] else "no", row["where"])
    out.print(t)

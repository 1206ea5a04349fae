"""Standing up a pool from a description file (TOML, or YAML when PyYAML is installed), idempotently.

`load_pool_config(path)` reads and checks the file; `stand_up_pool(chain, deployment, config)` finds
the operator's pool of that name through the factory (or creates it), then sends only the
transactions needed to make the chain match the file: running it twice sends nothing the second
time. `ensure_deployment` loads a manifest, or deploys the suite when there is none (or its
contracts are gone, e.g. on a fresh anvil).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from web3 import Web3

from registry.chain import Chain, TxResult
from registry.client import PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment, deploy_suite, load_deployment, manifest_path, write_deployment
from registry.errors import ConfigError, ContractRevert
from registry.node import LOCAL_CHAIN_IDS
from registry.types import Lifecycle, Parameter, PoolKind, Tier

__all__ = [
    "PoolConfig",
    "PoolConfigError",
    "QualificationConfig",
    "TierFees",
    "ensure_deployment",
    "existing_deployment",
    "find_pool",
    "load_pool_config",
    "new_pool_steps",
    "parse_pool_config",
    "stand_up_pool",
    "token_units",
]

DAY = 24 * 3600
_UINT64_MAX = 2**64 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

Progress = Callable[[str], None]


class PoolConfigError(ConfigError):
    """A pool description file is unreadable or malformed, or does not fit the chain."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(f"not an address (0x and 40 hex digits): {value!r}")
    return Web3.to_checksum_address(value)


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"a token amount is a number, not {value!r}")
    try:
        amount = Decimal(str(value).replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if amount < 0:
        raise ValueError(f"must be zero or more, not {value}")
    return amount


class TierFees(_Model):
    """Annual member fees in whole tokens (decimals allowed); a tier left out is not touched, and 0
    closes the tier to new members."""

    startup: Decimal | None = None
    sme: Decimal | None = None
    enterprise: Decimal | None = None

    @field_validator("startup", "sme", "enterprise", mode="before")
    @classmethod
    def _check(cls, value: Any) -> Decimal | None:
        return _amount(value)


class QualificationConfig(_Model):
    """The rule contributed assets must pass."""

    jurisdictions: list[str] = Field(min_length=1, max_length=16)
    min_granted: int = Field(ge=1, le=255)
    min_score_bps: int = Field(ge=0, le=10_000)

    @field_validator("jurisdictions", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        codes: list[str] = []
        for code in value:
            if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{2}", code):
                raise ValueError(f"a jurisdiction is a two-letter office code like US or DE, not {code!r}")
            if code.upper() in codes:
                raise ValueError(f"{code.upper()} is listed twice")
            codes.append(code.upper())
        return codes


class PoolConfig(_Model):
    """One pool, as described in a pool file."""

    name: str = Field(min_length=1)
    #: The pool this file describes, once it exists: an existing pool is changed only when named
    #: here (a pool of the same name found without it is left alone unless nothing would change).
    address: str | None = None
    kind: PoolKind
    field: str
    territory: str | None = None
    payment_token: str | None = None
    operator_share_bps: int | None = Field(default=None, ge=0, le=10_000)
    withdrawal_notice_days: int | None = Field(default=None, ge=0, le=_UINT64_MAX // DAY)
    #: The longest licence period the operator may offer (the pool's bound: 1 day to 100 years).
    max_licence_length_days: int | None = Field(default=None, ge=1, le=100 * 365)
    #: What opening a dispute takes, in whole tokens (decimals allowed; 0: disputes are free).
    dispute_bond: Decimal | None = None
    tiers: TierFees = TierFees()
    qualification: QualificationConfig | None = None
    founders: list[str] = []
    activate: bool = False

    @field_validator("name", "field", "territory", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be text, not {value!r}")
        return value.strip() if isinstance(value, str) else value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> PoolKind:
        names = ", ".join(k.name.lower() for k in PoolKind)
        if isinstance(value, str) and value.strip().upper() in PoolKind.__members__:
            return PoolKind[value.strip().upper()]
        raise ValueError(f"must be one of {names}, not {value!r}")

    @field_validator("payment_token", "address", mode="before")
    @classmethod
    def _token(cls, value: Any) -> str | None:
        return None if value is None else _address(value)

    @field_validator("founders", mode="before")
    @classmethod
    def _founders(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out: list[str] = []
        for item in value:
            address = _address(item)
            if address in out:
                raise ValueError(f"{address} is listed twice")
            out.append(address)
        return out

    @field_validator("dispute_bond", mode="before")
    @classmethod
    def _bond(cls, value: Any) -> Decimal | None:
        return _amount(value)

    @field_validator("operator_share_bps", "withdrawal_notice_days", "max_licence_length_days", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        if isinstance(value, bool) or (value is not None and not isinstance(value, int)):
            raise ValueError(f"must be a whole number, not {value!r}")
        return value

    @field_validator("activate", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value


def _error_line(source: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        elif err["type"] == "missing":
            msg = "required"
        parts.append(f"{where}: {msg}")
    return f"{source}: " + "; ".join(parts)


def parse_pool_config(data: Any, source: str = "pool file") -> PoolConfig:
    """Check already-parsed data (a dict) and return the config; one-line PoolConfigError otherwise."""
    if not isinstance(data, dict):
        raise PoolConfigError(f"{source}: expected a table of settings at the top level")
    try:
        return PoolConfig.model_validate(data)
    except ValidationError as exc:
        raise PoolConfigError(_error_line(source, exc)) from None


def load_pool_config(path: Path) -> PoolConfig:
    """Read a .toml, .yaml or .yml pool file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PoolConfigError(f"pool file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PoolConfigError(f"pool file {path} is unreadable: {exc}") from None
    suffix = path.suffix.lower()
    data: Any
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PoolConfigError(f"{path}: not valid TOML: {exc}") from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise PoolConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = " ".join(str(exc).split())
            raise PoolConfigError(f"{path}: not valid YAML: {first}") from None
    else:
        raise PoolConfigError(f"{path}: a pool file ends in .toml, .yaml or .yml")
    return parse_pool_config(data, str(path))


def token_units(amount: Decimal, decimals: int, where: str) -> int:
    """A decimal token amount in the token's smallest units; refuses more decimals than it has."""
    units = amount.scaleb(decimals)
    if units != units.to_integral_value():
        raise PoolConfigError(f"{where}: {amount} has more than {decimals} decimal places for this token")
    return int(units)


def _code_at(chain: Chain, address: str) -> bool:
    return len(chain.w3.eth.get_code(Web3.to_checksum_address(address))) > 0


def existing_deployment(chain: Chain, path: Path | None = None, progress: Progress | None = None) -> Deployment | None:
    """The suite's manifest at `path` (default deployments/<chainId>.json) when every contract in it
    has code on the node; None when the file is missing or the contracts are gone."""
    say = progress or (lambda _: None)
    target = path or manifest_path(chain.chain_id)
    if not target.exists():
        say(f"no manifest at {target}")
        return None
    deployment = load_deployment(target, chain_id=chain.chain_id)
    if all(_code_at(chain, d.address) for d in deployment.contracts.values()):
        return deployment
    say(f"the contracts in {target} have no code on this node")
    return None


def ensure_deployment(
    chain: Chain, path: Path | None = None, progress: Progress | None = None
) -> tuple[Deployment, bool]:
    """The suite's manifest at `path` (default deployments/<chainId>.json); when the file is missing
    or a contract in it has no code on the node, deploy the suite and write the manifest there.
    Returns (deployment, whether it was deployed now)."""
    say = progress or (lambda _: None)
    existing = existing_deployment(chain, path, progress)
    if existing is not None:
        return existing, False
    target = path or manifest_path(chain.chain_id)
    say("deploying the suite")
    deployment = deploy_suite(chain)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".deploy-"))
    try:
        os.replace(write_deployment(deployment, staging), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return deployment, True


def find_pool(factory: PoolFactoryClient, name: str, operator: str) -> ChecksumAddress | None:
    """The first pool of the factory named `name` that `operator` operates, if any."""
    for index in range(factory.pool_count()):
        pool = PatentPoolClient(factory.chain, factory.pool_at(index))
        if pool.profile()["name"] == name and pool.has_role("OPERATOR_ROLE", operator):
            return pool.address
    return None


def _payment_token(chain: Chain, deployment: Deployment, config: PoolConfig) -> ChecksumAddress:
    if config.payment_token is not None:
        token = Web3.to_checksum_address(config.payment_token)
    elif chain.chain_id in LOCAL_CHAIN_IDS and deployment.payment_token is not None:
        token = deployment.payment_token
    else:
        raise PoolConfigError(
            f"payment_token: required on chain {chain.chain_id} (the deployment has no TestStablecoin to default to)"
        )
    if not _code_at(chain, token):
        raise PoolConfigError(f"payment_token: no contract at {token} on chain {chain.chain_id}")
    return token


def _decimals(chain: Chain, token: str) -> int:
    try:
        return StablecoinClient(chain, token).decimals()
    except Exception as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise PoolConfigError(f"payment_token: {token} does not answer decimals() like an ERC-20 ({reason})") from None


def stand_up_pool(
    chain: Chain, deployment: Deployment, config: PoolConfig, progress: Progress | None = None, plan: bool = False
) -> dict[str, Any]:
    """Make the chain hold the pool `config` describes, operated by `chain`'s signer.

    Uses the pool the file names (`address`), or finds the operator's pool of that name, or creates
    one; reads every setting and changes only those that differ, admits missing founders and
    activates an incubating pool when asked. A pool found by name is changed only when the file
    names its address: otherwise a run that would change it is refused with the changes listed (a
    run that would change nothing is fine, so re-runs stay idempotent).

    Returns {"pool", "created", "changed", "txs", ...}; a re-run with the same config sends no
    transaction (`txs` is empty). With `plan`, nothing is sent and "plan" lists the steps a run
    would send (for a pool that does not exist yet, every setting the file gives: a new pool starts
    from the factory's defaults, so a run may find some of them unneeded).
    """
    say = progress or (lambda _: None)
    operator = chain.address
    factory = PoolFactoryClient(chain, deployment.address("PoolFactory"))
    token = _payment_token(chain, deployment, config)
    decimals = _decimals(chain, token)
    fees = {
        tier: token_units(amount, decimals, f"tiers.{key}")
        for key, tier in (("startup", Tier.STARTUP), ("sme", Tier.SME), ("enterprise", Tier.ENTERPRISE))
        if (amount := getattr(config.tiers, key)) is not None
    }
    bond = None if config.dispute_bond is None else token_units(config.dispute_bond, decimals, "dispute_bond")
    txs: list[dict[str, Any]] = []
    planned: list[str] = []
    changed: list[str] = []

    def record(step: str, result: TxResult[Any]) -> None:
        txs.append({"step": step, "txHash": result.tx_hash, "blockNumber": result.block_number})

    address: ChecksumAddress | None
    if config.address is not None:
        address = Web3.to_checksum_address(config.address)
        _check_named_pool(factory, address, config.name, operator)
    else:
        address = find_pool(factory, config.name, operator)
        if address is not None and not plan:
            preview = stand_up_pool(chain, deployment, config.model_copy(update={"address": address}), plan=True)
            if preview["plan"]:
                raise PoolConfigError(
                    f"a pool named {config.name!r} exists at {address} and this file would change it "
                    f'({", ".join(preview["plan"])}): name it in the file (address = "{address}") to '
                    "change it, or give the new pool another name"
                )
    created = address is None
    if address is None and plan:
        planned = ["createPool", *new_pool_steps(config)]
        return {
            "pool": None,
            "name": config.name,
            "chainId": chain.chain_id,
            "operator": operator,
            "paymentToken": token,
            "lifecycle": "incubating",
            "created": True,
            "changed": [],
            "txs": [],
            "plan": planned,
        }
    if address is None:
        say(f"creating pool {config.name!r}")
        result = factory.create_pool(config.name, config.kind, config.field, token, operator)
        record("createPool", result)
        address = result.value
    pool = PatentPoolClient(chain, address)
    profile = pool.profile()
    if not created:
        say(f"found pool {config.name!r} at {address}")
        fixed = (
            ("kind", PoolKind(profile["kind"]).name.lower(), config.kind.name.lower()),
            ("field", profile["field"], config.field),
            ("payment_token", Web3.to_checksum_address(profile["paymentToken"]), token),
        )
        for key, on_chain, wanted in fixed:
            if on_chain != wanted:
                raise PoolConfigError(
                    f"{key}: the existing pool {config.name!r} at {address} has {on_chain!r}, not {wanted!r}; "
                    "kind, field and payment_token cannot change once a pool exists"
                )

    def apply(setting: str, send: Callable[[], TxResult[Any]], step: str) -> None:
        if plan:
            planned.append(step)
            return
        say(f"setting {setting}")
        record(step, send())
        changed.append(setting)

    def announced(parameter: Parameter, value: int) -> bool:
        # An active pool announces changes; a re-run must not announce one again (which would
        # restart its delay) while it waits to be applied.
        pending = pool.pending_change(parameter)
        return pending["effectiveAt"] != 0 and pending["value"] == value

    if config.territory is not None and profile["territory"] != config.territory:
        territory = config.territory
        apply("territory", lambda: pool.set_territory(territory), "setTerritory")
    if (
        config.operator_share_bps is not None
        and profile["operatorShareBps"] != config.operator_share_bps
        and not announced(Parameter.OPERATOR_SHARE, config.operator_share_bps)
    ):
        bps = config.operator_share_bps
        apply("operator_share_bps", lambda: pool.set_operator_share(bps), "setOperatorShare")
    if config.withdrawal_notice_days is not None:
        notice = config.withdrawal_notice_days * DAY
        current = int(chain.call(pool.contract.functions.withdrawalNotice()))
        if current != notice and not announced(Parameter.WITHDRAWAL_NOTICE, notice):
            apply("withdrawal_notice_days", lambda: pool.set_withdrawal_notice(notice), "setWithdrawalNotice")
    if config.max_licence_length_days is not None:
        longest = config.max_licence_length_days * DAY
        if pool.bounds()["maxLicenceLength"] != longest and not announced(Parameter.MAX_LICENCE_LENGTH, longest):
            apply("max_licence_length_days", lambda: pool.set_max_licence_length(longest), "setMaxLicenceLength")
    if bond is not None and pool.dispute_bond() != bond and not announced(Parameter.DISPUTE_BOND, bond):
        apply("dispute_bond", lambda: pool.set_dispute_bond(bond), "setDisputeBond")
    for tier, fee in fees.items():
        if pool.tier_fee(tier) != fee and not announced(Parameter(Parameter.TIER_FEE_0 + tier), fee):
            key = tier.name.lower()
            apply(f"tiers.{key}", partial(pool.set_tier_fee, tier, fee), f"setTierFee({key})")
    rule = config.qualification
    if rule is not None:
        target_rule = (sorted(rule.jurisdictions), rule.min_granted, rule.min_score_bps)
        now = pool.qualification()
        pending = pool.pending_qualification()
        waiting = (
            pending["effectiveAt"] != 0
            and (
                sorted(pending["jurisdictions"]),
                pending["minGranted"],
                pending["minScoreBps"],
            )
            == target_rule
        )
        if (sorted(now["jurisdictions"]), now["minGranted"], now["minScoreBps"]) != target_rule and not waiting:
            apply(
                "qualification",
                lambda: pool.set_qualification(rule.jurisdictions, rule.min_granted, rule.min_score_bps),
                "setQualification",
            )
    admitted = [f for f in config.founders if not pool.is_founder(f)]
    lifecycle = Lifecycle(profile["lifecycle"])
    if plan:
        planned += [f"admitFounder({founder})" for founder in admitted]
        if config.activate and lifecycle is Lifecycle.INCUBATING:
            planned.append("activate")
        admitted = []
    for founder in admitted:
        say(f"admitting founder {founder}")
        record(f"admitFounder({founder})", pool.admit_founder(founder))
    if admitted:
        changed.append("founders")
    if config.activate and lifecycle is Lifecycle.INCUBATING and not plan:
        say("activating the pool")
        try:
            record("activate", pool.activate())
        except ContractRevert as exc:
            raise PoolConfigError(f"activate: the pool could not be activated: {exc}") from None
        changed.append("activate")
        lifecycle = Lifecycle.ACTIVE
    return {
        "pool": address,
        "name": config.name,
        "chainId": chain.chain_id,
        "operator": operator,
        "paymentToken": token,
        "lifecycle": lifecycle.name.lower(),
        "created": created,
        "changed": changed,
        "txs": txs,
    } | ({"plan": planned} if plan else {})


def _check_named_pool(factory: PoolFactoryClient, address: ChecksumAddress, name: str, operator: str) -> None:
    """The pool a file names must be this factory's, carry the file's name and be run by `operator`."""
    if not factory.is_pool(address):
        raise PoolConfigError(f"address: {address} is not a pool of the factory at {factory.address}")
    pool = PatentPoolClient(factory.chain, address)
    on_chain = pool.profile()["name"]
    if on_chain != name:
        raise PoolConfigError(
            f"address: the pool at {address} is named {on_chain!r}, not {name!r} (names cannot change)"
        )
    if not pool.has_role("OPERATOR_ROLE", operator):
        raise PoolConfigError(f"address: {operator} is not an operator of the pool at {address}")


def new_pool_steps(config: PoolConfig) -> list[str]:
    """What a run would send to a pool it creates (every setting the file gives)."""
    steps = ["setTerritory"] if config.territory is not None else []
    steps += ["setOperatorShare"] if config.operator_share_bps is not None else []
    steps += ["setWithdrawalNotice"] if config.withdrawal_notice_days is not None else []
    steps += ["setMaxLicenceLength"] if config.max_licence_length_days is not None else []
    steps += ["setDisputeBond"] if config.dispute_bond is not None else []
    steps += [
        f"setTierFee({key})" for key in ("startup", "sme", "enterprise") if getattr(config.tiers, key) is not None
    ]
    steps += ["setQualification"] if config.qualification is not None else []
    steps += [f"admitFounder({founder})" for founder in config.founders]
    return steps + (["activate"] if config.activate else [])

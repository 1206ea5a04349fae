"""Role checks of every restricted function: an account without the role is refused with
AccessControlUnauthorizedAccount(account, neededRole); holding other roles does not help; once
granted the role, the same account's identical call succeeds; once revoked, it is refused again."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from registry.client import PoolFactoryClient, role_id
from registry.reverts import AccessControlUnauthorizedAccount
from registry.types import Lifecycle, PatentStatus
from tests.conftest import YEAR, World, now

ROOT = Path(__file__).resolve().parents[2]
OUTSIDER = 5
FOUNDER = 1
LICENSEE = 8
HASH = b"\x5a" * 32

ROLES = {
    "assets": ("DEFAULT_ADMIN_ROLE", "VERIFIER_ROLE", "EVALUATOR_ROLE", "POOL_FACTORY_ROLE"),
    "factory": ("DEFAULT_ADMIN_ROLE", "POOL_CREATOR_ROLE"),
    "pool": ("DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE", "ARBITER_ROLE"),
}


def norm(args: dict[str, Any]) -> dict[str, Any]:
    """Error arguments with addresses checksummed, so they compare with account addresses."""
    return {k: Web3.to_checksum_address(v) if isinstance(v, str) and Web3.is_address(v) else v for k, v in args.items()}


def addr(world: World, i: int) -> str:
    return str(world.keys[i].address)


def client_as(world: World, target: str, who: int) -> Any:
    if target == "assets":
        return world.assets_as(who)
    if target == "factory":
        return PoolFactoryClient(world.chain(who), world.factory.address)
    return world.pool_as(who)


def admin_client(world: World, target: str) -> Any:
    """keys[0] holds DEFAULT_ADMIN_ROLE on the registry, the factory and the world's pool."""
    return {"assets": world.assets, "factory": world.factory, "pool": world.pool}[target]


def _two_step(target: str, role: str) -> bool:
    """A pool's DEFAULT_ADMIN_ROLE changes hands only in two steps (offer, then acceptance)."""
    return target == "pool" and role == "DEFAULT_ADMIN_ROLE"


def grant(world: World, target: str, role: str, who: int) -> Any:
    """Give `who` the role: granted by keys[0], or for a pool's admin role offered and accepted."""
    if _two_step(target, role):
        world.pool.begin_default_admin_transfer(addr(world, who))
        return world.pool_as(who).accept_default_admin_transfer()
    return admin_client(world, target).grant_role(role, addr(world, who))


def take_back(world: World, target: str, role: str, who: int) -> None:
    """Take the role from `who`: revoked by keys[0], or for a pool's admin role handed back."""
    if _two_step(target, role):
        world.pool_as(who).begin_default_admin_transfer(addr(world, 0))
        world.pool.accept_default_admin_transfer()
    else:
        admin_client(world, target).revoke_role(role, addr(world, who))


# ---------------------------------------------------------------------------------- fixtures of state


def _asset_with_patent(world: World) -> int:
    registry = world.assets_as(FOUNDER)
    asset_id = int(registry.register_family(f"ROLE-{now(world.w3)}", "t", HASH, "u").value)
    registry.add_patent(asset_id, "US", f"US-ROLE-{asset_id}")
    return asset_id


def _active(world: World) -> None:
    world.pool.activate()


def _open_offer(world: World) -> int:
    world.pool.activate()
    t = now(world.w3)
    return int(world.pool.offer_licence(addr(world, LICENSEE), [], t, t + YEAR, 0, HASH).value)


def _licence(world: World) -> int:
    offer_id = _open_offer(world)
    return int(world.pool_as(LICENSEE).accept_offer(offer_id).value)


def _open_dispute(world: World) -> int:
    asset_id = world.founder_with_asset(FOUNDER, {"US": PatentStatus.GRANTED, "CN": PatentStatus.GRANTED})
    return int(world.pool_as(FOUNDER).open_dispute(asset_id, HASH).value)


def _suspended(world: World) -> int:
    """An asset suspended by an upheld dispute; its id."""
    dispute_id = _open_dispute(world)
    world.pool.resolve_dispute(dispute_id, True, HASH)
    return int(world.pool.dispute(dispute_id)["assetId"])


def _paused(world: World) -> None:
    world.pool.pause()


def _nothing(world: World) -> None:
    return None


@dataclass(frozen=True)
class Case:
    """One restricted function: the role it needs, the state it needs, a valid call, the event a
    successful call emits, and a probe of the state that call changes."""

    name: str
    target: str
    role: str
    setup: Callable[[World], Any]
    call: Callable[[Any, World, Any], Any]
    event: str
    probe: Callable[[World, Any], Any]


CASES = [
    Case(
        "PatentAsset.verifyPatent",
        "assets",
        "VERIFIER_ROLE",
        _asset_with_patent,
        lambda c, w, a: c.verify_patent(a, 0, PatentStatus.GRANTED, 1_000, 2_000),
        "PatentVerified",
        lambda w, a: w.assets.patent_at(a, 0)["status"],
    ),
    Case(
        "PatentAsset.rejectFamily",
        "assets",
        "VERIFIER_ROLE",
        _asset_with_patent,
        lambda c, w, a: c.reject_family(a, HASH, addr(w, LICENSEE)),
        "FamilyRejected",
        lambda w, a: w.assets.family_rejected(a),
    ),
    Case(
        "PatentAsset.rejectPatent",
        "assets",
        "VERIFIER_ROLE",
        _asset_with_patent,
        lambda c, w, a: c.reject_patent(a, 0, HASH),
        "PatentRejected",
        lambda w, a: w.assets.patent_at(a, 0)["status"],
    ),
    Case(
        "PatentAsset.recordEvaluation",
        "assets",
        "EVALUATOR_ROLE",
        _asset_with_patent,
        lambda c, w, a: c.record_evaluation(a, 7_000, HASH, "m-1"),
        "EvaluationRecorded",
        lambda w, a: w.assets.stability_score(a),
    ),
    Case(
        "PatentAsset.registerPool",
        "assets",
        "POOL_FACTORY_ROLE",
        _nothing,
        lambda c, w, _: c.register_pool(addr(w, LICENSEE)),
        "PoolRegistered",
        lambda w, _: w.assets.is_pool(addr(w, LICENSEE)),
    ),
    Case(
        "PoolFactory.createPool",
        "factory",
        "POOL_CREATOR_ROLE",
        _nothing,
        lambda c, w, _: c.create_pool("Role pool", 0, "f", w.coin.address, c.chain.address),
        "PoolCreated",
        lambda w, _: w.factory.pool_count(),
    ),
    Case(
        "PoolFactory.createPoolWithBounds",
        "factory",
        "POOL_CREATOR_ROLE",
        _nothing,
        lambda c, w, _: c.create_pool_with_bounds("Role pool", 0, "f", w.coin.address, c.chain.address, 2_000, 86_400),
        "PoolCreated",
        lambda w, _: w.factory.pool_count(),
    ),
    Case(
        "PatentPool.setMaxLicenceLength",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_max_licence_length(YEAR),
        "MaxLicenceLengthSet",
        lambda w, _: w.pool.bounds()["maxLicenceLength"],
    ),
    Case(
        "PatentPool.beginDefaultAdminTransfer",
        "pool",
        "DEFAULT_ADMIN_ROLE",
        _nothing,
        lambda c, w, _: c.begin_default_admin_transfer(addr(w, 9)),
        "DefaultAdminTransferBegun",
        lambda w, _: w.pool.default_admin()["pendingAdmin"],
    ),
    Case(
        "PatentPool.setTierFee",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_tier_fee(1, 12_345),
        "TierFeeSet",
        lambda w, _: w.pool.tier_fee(1),
    ),
    Case(
        "PatentPool.setQualification",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_qualification(["EP", "KR"], 1, 5_000),
        "QualificationSet",
        lambda w, _: w.pool.qualification(),
    ),
    Case(
        "PatentPool.setOperatorShare",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_operator_share(2_500),
        "OperatorShareSet",
        lambda w, _: w.pool.profile()["operatorShareBps"],
    ),
    Case(
        "PatentPool.setTerritory",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_territory("EU"),
        "TerritorySet",
        lambda w, _: w.pool.profile()["territory"],
    ),
    Case(
        "PatentPool.setTreasury",
        "pool",
        "DEFAULT_ADMIN_ROLE",
        _nothing,
        lambda c, w, _: c.set_treasury(addr(w, 9)),
        "TreasurySet",
        lambda w, _: w.pool.profile()["treasury"],
    ),
    Case(
        "PatentPool.setWithdrawalNotice",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_withdrawal_notice(30 * 24 * 3600),
        "WithdrawalNoticeSet",
        lambda w, _: w.pool.contract.functions.withdrawalNotice().call(),
    ),
    Case(
        "PatentPool.activate",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.activate(),
        "LifecycleChanged",
        lambda w, _: w.pool.profile()["lifecycle"],
    ),
    Case(
        "PatentPool.close",
        "pool",
        "OPERATOR_ROLE",
        _active,
        lambda c, w, _: c.close(),
        "LifecycleChanged",
        lambda w, _: w.pool.profile()["lifecycle"],
    ),
    Case(
        "PatentPool.pause",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.pause(),
        "Paused",
        lambda w, _: w.pool.paused(),
    ),
    Case(
        "PatentPool.unpause",
        "pool",
        "OPERATOR_ROLE",
        _paused,
        lambda c, w, _: c.unpause(),
        "Unpaused",
        lambda w, _: w.pool.paused(),
    ),
    Case(
        "PatentPool.admitFounder",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.admit_founder(addr(w, 9)),
        "FounderAdmitted",
        lambda w, _: w.pool.is_founder(addr(w, 9)),
    ),
    Case(
        "PatentPool.offerLicence",
        "pool",
        "OPERATOR_ROLE",
        _active,
        lambda c, w, _: c.offer_licence(addr(w, LICENSEE), [], now(w.w3), now(w.w3) + YEAR, 10, HASH),
        "LicenceOffered",
        lambda w, _: w.pool.counts()["offers"],
    ),
    Case(
        "PatentPool.cancelOffer",
        "pool",
        "OPERATOR_ROLE",
        _open_offer,
        lambda c, w, offer_id: c.cancel_offer(offer_id),
        "OfferCancelled",
        lambda w, offer_id: w.pool.offer(offer_id)["open"],
    ),
    Case(
        "PatentPool.revokeLicence",
        "pool",
        "OPERATOR_ROLE",
        _licence,
        lambda c, w, licence_id: c.revoke_licence(licence_id, HASH),
        "LicenceRevoked",
        lambda w, licence_id: w.pool.licence(licence_id)["revoked"],
    ),
    Case(
        "PatentPool.resolveDispute",
        "pool",
        "ARBITER_ROLE",
        _open_dispute,
        lambda c, w, dispute_id: c.resolve_dispute(dispute_id, False, HASH),
        "DisputeResolved",
        lambda w, dispute_id: w.pool.dispute(dispute_id)["status"],
    ),
    Case(
        "PatentPool.setDisputeBond",
        "pool",
        "OPERATOR_ROLE",
        _nothing,
        lambda c, w, _: c.set_dispute_bond(7),
        "DisputeBondSet",
        lambda w, _: w.pool.dispute_bond(),
    ),
    Case(
        "PatentPool.liftSuspension",
        "pool",
        "ARBITER_ROLE",
        _suspended,
        lambda c, w, asset_id: c.lift_suspension(asset_id, HASH),
        "SuspensionLifted",
        lambda w, asset_id: w.pool.pool_asset(asset_id)["suspended"],
    ),
]

IDS = [c.name for c in CASES]


def _assert_refused(world: World, case: Case, ctx: Any, who: int) -> None:
    with pytest.raises(AccessControlUnauthorizedAccount) as e:
        case.call(client_as(world, case.target, who), world, ctx)
    assert norm(e.value.error_args) == {"account": addr(world, who), "neededRole": role_id(case.role)}


def test_the_matrix_covers_every_only_role_function_in_the_contracts() -> None:
    declared = set()
    # A pool's functions are in two sources: PatentPool forwards the rest to PatentPoolDisputes.
    sources = {"PatentAsset": "PatentAsset", "PoolFactory": "PoolFactory", "PatentPool": "PatentPool"}
    sources["PatentPoolDisputes"] = "PatentPool"
    for file, contract in sources.items():
        source = (ROOT / "contracts" / f"{file}.sol").read_text(encoding="utf-8")
        for fn, header in re.findall(r"function (\w+)\(([^{;]*)\{", source):
            m = re.search(r"onlyRole\((\w+)\)", header)
            if m:
                declared.add((f"{contract}.{fn}", m.group(1)))
    assert declared == {(c.name, c.role) for c in CASES}
    assert len(IDS) == len(set(IDS)) == 26


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_restricted_call_reverts_when_caller_lacks_the_role(world: World, case: Case) -> None:
    ctx = case.setup(world)
    before = case.probe(world, ctx)
    assert not admin_client(world, case.target).has_role(case.role, addr(world, OUTSIDER))
    _assert_refused(world, case, ctx, OUTSIDER)
    assert case.probe(world, ctx) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_restricted_call_reverts_when_caller_holds_only_the_other_roles(world: World, case: Case) -> None:
    ctx = case.setup(world)
    admin = admin_client(world, case.target)
    # A pool's admin role last: once handed over, keys[0] grants nothing more.
    others = sorted((r for r in ROLES[case.target] if r != case.role), key=lambda r: _two_step(case.target, r))
    for role in others:
        grant(world, case.target, role, OUTSIDER)
        assert admin.has_role(role, addr(world, OUTSIDER))
    before = case.probe(world, ctx)
    _assert_refused(world, case, ctx, OUTSIDER)
    assert case.probe(world, ctx) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_restricted_call_succeeds_once_the_role_is_granted_and_fails_once_revoked(world: World, case: Case) -> None:
    ctx = case.setup(world)
    admin = admin_client(world, case.target)
    before = case.probe(world, ctx)
    _assert_refused(world, case, ctx, OUTSIDER)

    granted = grant(world, case.target, case.role, OUTSIDER)
    # A two-step handover is completed by the new admin's own acceptance.
    sender = addr(world, OUTSIDER if _two_step(case.target, case.role) else 0)
    assert admin.events(granted, "RoleGranted") == [
        {"role": role_id(case.role), "account": addr(world, OUTSIDER), "sender": sender}
    ]
    caller = client_as(world, case.target, OUTSIDER)
    result = case.call(caller, world, ctx)
    assert len(caller.events(result, case.event)) == 1
    assert case.probe(world, ctx) != before

    take_back(world, case.target, case.role, OUTSIDER)
    assert not admin.has_role(case.role, addr(world, OUTSIDER))
    _assert_refused(world, case, ctx, OUTSIDER)


def test_pool_roles_are_per_pool_not_shared_between_pools(world: World) -> None:
    other = world.new_pool(name="Other")
    world.pool.grant_role("OPERATOR_ROLE", addr(world, OUTSIDER))
    world.pool_as(OUTSIDER).set_territory("EU")
    assert world.pool.profile()["territory"] == "EU"
    with pytest.raises(AccessControlUnauthorizedAccount) as e:
        world.pool_as(OUTSIDER, other).set_territory("EU")
    assert norm(e.value.error_args) == {"account": addr(world, OUTSIDER), "neededRole": role_id("OPERATOR_ROLE")}
    assert other.profile()["territory"] == ""


def test_only_the_admin_may_grant_roles(world: World) -> None:
    with pytest.raises(AccessControlUnauthorizedAccount) as e:
        world.pool_as(OUTSIDER).grant_role("OPERATOR_ROLE", addr(world, OUTSIDER))
    assert norm(e.value.error_args) == {"account": addr(world, OUTSIDER), "neededRole": role_id("DEFAULT_ADMIN_ROLE")}
    assert not world.pool.has_role("OPERATOR_ROLE", addr(world, OUTSIDER))


def test_lifecycle_probe_distinguishes_activate_and_close(world: World) -> None:
    # guards the matrix: activate and close both emit LifecycleChanged; check they move where expected
    assert world.pool.profile()["lifecycle"] == Lifecycle.INCUBATING
    r = world.pool.activate()
    assert world.pool.events(r, "LifecycleChanged") == [{"from": Lifecycle.INCUBATING, "to": Lifecycle.ACTIVE}]
    r = world.pool.close()
    assert world.pool.events(r, "LifecycleChanged") == [{"from": Lifecycle.ACTIVE, "to": Lifecycle.CLOSED}]

"""Issue 14, point 8: disputes cost something, and a suspension can be lifted on appeal.

The attack before it: opening a dispute cost nothing (a member could file one against every asset
of the pool, for ever, and each one the arbiter had to rule on), and a suspension, once upheld, was
for ever (an arbiter who erred had no way back). Now opening a dispute takes the pool's bond in the
payment token, held apart from revenue until the ruling: returned to the challenger if upheld,
paid to the asset's founder if dismissed. The arbiter lifts a suspension on appeal from that
moment on; `isLicensed` keeps its answers for the suspended times.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from registry.reverts import (
    ContractRevert,
    PatentPoolAssetNotInPool,
    PatentPoolChangeNotDue,
    PatentPoolNotSuspended,
)
from registry.types import Parameter, PatentStatus
from tests.conftest import USDC, World, advance, now

G = PatentStatus.GRANTED
FEE = 100 * USDC
BOND = 50 * USDC
EVIDENCE = bytes(Web3.keccak(text="prior art: DE 10 2001 000 001"))
RULING = bytes(Web3.keccak(text="ruling"))
APPEAL = bytes(Web3.keccak(text="ruling on appeal"))
DAY = 24 * 3600

TREASURY, FOUNDER_A, FOUNDER_B, MEMBER, MEMBER_2 = 0, 1, 2, 3, 4


def addr(world: World, i: int) -> str:
    return str(world.keys[i].address)


def setup_pool(world: World, bond: int = BOND) -> tuple[int, int]:
    """Two founders with assets of weight 2 and 3, a bond, an active pool, and a paying member."""
    asset_a = world.founder_with_asset(FOUNDER_A, {"US": G, "CN": G})
    asset_b = world.founder_with_asset(FOUNDER_B, {"US": G, "CN": G, "DE": G})
    world.pool.set_tier_fee(0, FEE)
    if bond:
        world.pool.set_dispute_bond(bond)
    world.pool.activate()
    world.fund(MEMBER, FEE)
    world.pool_as(MEMBER).join(0, FEE)
    return asset_a, asset_b


def solvent(world: World, *accounts: int) -> None:
    """What everyone can claim plus the bonds held never exceeds what the pool holds."""
    owed = sum(world.pool.claimable(addr(world, i)) for i in accounts)
    assert owed + world.pool.bonds_held() <= world.coin.balance_of(world.pool.address)


def test_opening_a_dispute_takes_the_bond_and_holds_it_apart_from_revenue(world: World) -> None:
    asset_a, _ = setup_pool(world)
    assert world.pool.dispute_bond() == BOND
    before = [world.pool.claimable(addr(world, i)) for i in (TREASURY, FOUNDER_A, FOUNDER_B)]
    world.fund(FOUNDER_B, BOND)

    result = world.pool_as(FOUNDER_B).open_dispute(asset_a, EVIDENCE)

    assert world.pool.events(result, "DisputeBondPosted") == [
        {"disputeId": result.value, "challenger": addr(world, FOUNDER_B), "amount": BOND}
    ]
    assert world.coin.balance_of(addr(world, FOUNDER_B)) == 0
    assert world.pool.dispute_bond_of(result.value) == BOND
    assert world.pool.bonds_held() == BOND
    # Nobody's claim grew: the bond is not revenue.
    assert [world.pool.claimable(addr(world, i)) for i in (TREASURY, FOUNDER_A, FOUNDER_B)] == before
    solvent(world, TREASURY, FOUNDER_A, FOUNDER_B)


def test_a_challenger_that_does_not_pay_the_bond_cannot_open_a_dispute(world: World) -> None:
    """The attack: a member filed disputes against every asset for nothing."""
    asset_a, asset_b = setup_pool(world)
    for asset_id in (asset_a, asset_b):
        with pytest.raises(ContractRevert):
            world.pool_as(MEMBER).open_dispute(asset_id, EVIDENCE)
    assert world.pool.counts()["disputes"] == 0
    # With the bond approved it goes through, once per bond paid.
    world.fund(MEMBER, BOND)
    world.pool_as(MEMBER).open_dispute(asset_a, EVIDENCE)
    with pytest.raises(ContractRevert):
        world.pool_as(MEMBER).open_dispute(asset_b, EVIDENCE)
    assert world.pool.counts()["disputes"] == 1


def test_a_dismissed_dispute_pays_the_bond_to_the_assets_founder(world: World) -> None:
    asset_a, _ = setup_pool(world)
    world.fund(FOUNDER_B, BOND)
    dispute_id = world.pool_as(FOUNDER_B).open_dispute(asset_a, EVIDENCE).value
    earned = world.pool.claimable(addr(world, FOUNDER_A))

    result = world.pool.resolve_dispute(dispute_id, False, RULING)

    assert world.pool.events(result, "DisputeBondReleased") == [
        {"disputeId": dispute_id, "to": addr(world, FOUNDER_A), "amount": BOND}
    ]
    assert world.pool.bonds_held() == 0
    assert world.pool.claimable(addr(world, FOUNDER_A)) == earned + BOND
    solvent(world, TREASURY, FOUNDER_A, FOUNDER_B)
    assert world.pool_as(FOUNDER_A).claim().value == earned + BOND
    assert world.coin.balance_of(addr(world, FOUNDER_A)) == earned + BOND
    solvent(world, TREASURY, FOUNDER_A, FOUNDER_B)


def test_an_upheld_dispute_returns_the_bond_to_the_challenger(world: World) -> None:
    asset_a, _ = setup_pool(world)
    world.fund(MEMBER, BOND)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_a, EVIDENCE).value

    result = world.pool.resolve_dispute(dispute_id, True, RULING)

    assert world.pool.events(result, "DisputeBondReleased") == [
        {"disputeId": dispute_id, "to": addr(world, MEMBER), "amount": BOND}
    ]
    assert len(world.pool.events(result, "AssetSuspended")) == 1
    assert world.pool.claimable(addr(world, MEMBER)) == BOND
    solvent(world, TREASURY, FOUNDER_A, FOUNDER_B, MEMBER)
    assert world.pool_as(MEMBER).claim().value == BOND
    assert world.coin.balance_of(addr(world, MEMBER)) == BOND
    everyone = sum(world.pool.claimable(addr(world, i)) for i in (TREASURY, FOUNDER_A, FOUNDER_B))
    assert everyone == world.coin.balance_of(world.pool.address) == FEE


def test_the_bond_is_an_announced_parameter_and_a_dispute_keeps_the_bond_it_was_opened_with(world: World) -> None:
    asset_a, _ = setup_pool(world)
    result = world.pool.set_dispute_bond(2 * BOND)
    [announced] = world.pool.events(result, "ParameterChangeAnnounced")
    assert (announced["parameter"], announced["value"]) == (Parameter.DISPUTE_BOND, 2 * BOND)
    assert world.pool.dispute_bond() == BOND
    with pytest.raises(PatentPoolChangeNotDue):
        world.pool.apply_parameter_change(Parameter.DISPUTE_BOND)

    world.fund(MEMBER, BOND)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_a, EVIDENCE).value
    advance(world.w3, 90 * DAY)
    applied = world.pool.apply_parameter_change(Parameter.DISPUTE_BOND)
    assert world.pool.events(applied, "DisputeBondSet") == [{"bond": 2 * BOND}]
    assert world.pool.dispute_bond() == 2 * BOND

    world.pool.resolve_dispute(dispute_id, True, RULING)
    assert world.pool.claimable(addr(world, MEMBER)) == BOND
    assert world.pool.bonds_held() == 0


def test_a_pool_without_a_bond_keeps_free_disputes(world: World) -> None:
    asset_a, _ = setup_pool(world, bond=0)
    result = world.pool_as(MEMBER).open_dispute(asset_a, EVIDENCE)
    assert world.pool.events(result, "DisputeBondPosted") == []
    assert world.pool.events(world.pool.resolve_dispute(result.value, False, RULING), "DisputeBondReleased") == []


def test_the_arbiter_lifts_a_suspension_on_appeal_from_that_moment_on(world: World) -> None:
    """The attack: an upheld dispute suspended an asset for ever; now an appeal lifts it, and the
    answers for the suspended times stay what they were."""
    asset_a, asset_b = setup_pool(world, bond=0)
    member = addr(world, MEMBER)
    dispute_id = world.pool_as(FOUNDER_B).open_dispute(asset_a, EVIDENCE).value
    before = advance(world.w3, DAY)
    advance(world.w3, 10)  # the ruling comes strictly after `before`
    world.pool.resolve_dispute(dispute_id, True, RULING)
    suspended = now(world.w3)
    during = advance(world.w3, DAY)
    assert not world.pool.is_licensed(member, asset_a, during)
    assert world.pool.total_weight() == 3
    advance(world.w3, 10)  # the lifting comes strictly after `during`

    result = world.pool.lift_suspension(asset_a, APPEAL)

    lifted = now(world.w3)
    assert world.pool.events(result, "SuspensionLifted") == [
        {"assetId": asset_a, "arbiter": addr(world, TREASURY), "rulingHash": APPEAL, "weight": 2}
    ]
    standing = world.pool.pool_asset(asset_a)
    assert (standing["suspended"], standing["weight"], standing["suspendedAt"]) == (False, 2, suspended)
    assert world.pool.total_weight() == 5
    # History is not rewritten: licensed before, not while suspended, licensed again from the lift.
    assert world.pool.is_licensed(member, asset_a, before)
    assert not world.pool.is_licensed(member, asset_a, suspended)
    assert not world.pool.is_licensed(member, asset_a, during)
    assert not world.pool.is_licensed(member, asset_a, lifted - 1)
    assert world.pool.is_licensed(member, asset_a, lifted)
    assert [world.pool.is_suspended(asset_a, t) for t in (before, suspended, lifted - 1, lifted)] == [
        False,
        True,
        True,
        False,
    ]
    # It earns again, pro rata with its re-read weight.
    b_before = world.pool.claimable(addr(world, FOUNDER_A))
    world.fund(MEMBER_2, FEE)
    world.pool_as(MEMBER_2).join(0, FEE)
    assert world.pool.claimable(addr(world, FOUNDER_A)) - b_before == 36 * USDC
    solvent(world, TREASURY, FOUNDER_A, FOUNDER_B)

    # A later upheld dispute suspends it again; the earlier lifted window stays licensed.
    advance(world.w3, DAY)
    again = world.pool_as(FOUNDER_B).open_dispute(asset_a, EVIDENCE).value
    world.pool.resolve_dispute(again, True, RULING)
    later = advance(world.w3, DAY)
    assert not world.pool.is_licensed(member, asset_a, later)
    assert world.pool.is_licensed(member, asset_a, lifted)
    assert not world.pool.is_licensed(member, asset_a, during)
    assert world.pool.is_licensed(member, asset_b, later)


def test_only_a_suspended_asset_in_the_pool_can_have_its_suspension_lifted(world: World) -> None:
    asset_a, asset_b = setup_pool(world, bond=0)
    with pytest.raises(PatentPoolNotSuspended):
        world.pool.lift_suspension(asset_b, APPEAL)
    dispute_id = world.pool_as(FOUNDER_B).open_dispute(asset_a, EVIDENCE).value
    world.pool.resolve_dispute(dispute_id, True, RULING)
    with pytest.raises(PatentPoolAssetNotInPool):
        world.pool_as(MEMBER).open_dispute(asset_a, EVIDENCE)
    world.pool.lift_suspension(asset_a, APPEAL)
    with pytest.raises(PatentPoolNotSuspended):
        world.pool.lift_suspension(asset_a, APPEAL)
    assert world.pool.pool_asset(asset_a)["weight"] == 2

"""The operator is bounded (issue 14, point 3): a share ceiling fixed at creation, parameter changes
announced and in force only after the pool's change delay, claims and withdrawals while paused,
licences granted after a withdrawal announcement bounded by its effective date, a pool-wide
maximum licence length, and the admin role handed over in two steps.

Each `test_..._attack` reproduces what the operator could do before and shows it fails now."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from registry.client import PatentPoolClient, role_id
from registry.reverts import (
    AccessControlUnauthorizedAccount,
    PatentPoolAdminChangesInTwoSteps,
    PatentPoolChangeNotDue,
    PatentPoolInvalidBounds,
    PatentPoolInvalidNotice,
    PatentPoolInvalidPeriod,
    PatentPoolLicenceTooLong,
    PatentPoolNotPendingAdmin,
    PatentPoolShareAboveCeiling,
)
from registry.types import Parameter
from tests.conftest import USDC, YEAR, World, advance, now

DAY = 24 * 3600
FEE = 100 * USDC
TERMS = bytes(Web3.keccak(text="terms"))
OPERATOR, FOUNDER, MEMBER, LICENSEE, FRIEND, OTHER = 0, 1, 3, 4, 7, 5
DELAY = 90 * DAY  # PoolFactory.createPool's change delay
CEILING = 3_000  # PoolFactory.createPool's share ceiling


def args(exc: Any) -> dict[str, Any]:
    return {
        k: Web3.to_checksum_address(v) if isinstance(v, str) and Web3.is_address(v) else v
        for k, v in exc.error_args.items()
    }


def addr(world: World, who: int) -> str:
    return str(world.keys[who].address)


def active(world: World) -> int:
    """Founder 1's US+CN asset in the pool, tier 0 at FEE, the pool Active; the asset id."""
    asset_id = world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, FEE)
    world.pool.activate()
    return asset_id


def join(world: World, who: int) -> Any:
    world.fund(who, FEE)
    return world.pool_as(who).join(0, FEE)


def test_a_pool_starts_with_the_bounds_fixed_at_creation(world: World) -> None:
    assert world.pool.bounds() == {"maxOperatorShareBps": CEILING, "changeDelay": DELAY, "maxLicenceLength": 5 * YEAR}
    result = world.factory.create_pool_with_bounds("Bounded", 2, "LiDAR", world.coin.address, addr(world, 0), 500, DAY)
    bounded = PatentPoolClient(world.operator, result.value)

    assert bounded.events(result, "PoolBoundsSet") == [{"maxOperatorShareBps": 500, "changeDelay": DAY}]
    assert bounded.bounds()["maxOperatorShareBps"] == 500
    # The default share (10 %) and notice (90 days) are cut down to the bounds.
    assert bounded.profile()["operatorShareBps"] == 500
    assert bounded.contract.functions.withdrawalNotice().call() == DAY


@pytest.mark.parametrize(("ceiling", "delay"), [(10_001, DAY), (1_000, DAY - 1), (1_000, YEAR + 1)])
def test_bounds_out_of_range_are_refused_at_creation(world: World, ceiling: int, delay: int) -> None:
    before = world.factory.pool_count()
    with pytest.raises(PatentPoolInvalidBounds) as exc:
        world.factory.create_pool_with_bounds("Bad", 2, "f", world.coin.address, addr(world, 0), ceiling, delay)
    assert args(exc.value) == {"maxOperatorShareBps": ceiling, "changeDelay": delay}
    assert world.factory.pool_count() == before


def test_raising_the_share_to_100_percent_before_a_payment_attack(world: World) -> None:
    """Before: setOperatorShare(10000) in force at once, so the next payment went to the operator."""
    active(world)

    with pytest.raises(PatentPoolShareAboveCeiling) as exc:
        world.pool.set_operator_share(10_000)
    assert args(exc.value) == {"bps": 10_000, "maxOperatorShareBps": CEILING}

    announced = world.pool.set_operator_share(CEILING)
    effective_at = now(world.w3) + DELAY
    assert world.pool.events(announced, "ParameterChangeAnnounced") == [
        {"parameter": Parameter.OPERATOR_SHARE, "value": CEILING, "effectiveAt": effective_at}
    ]
    assert world.pool.events(announced, "OperatorShareSet") == []
    assert world.pool.pending_change(Parameter.OPERATOR_SHARE) == {"value": CEILING, "effectiveAt": effective_at}
    [payment] = world.pool.events(join(world, MEMBER), "RevenueReceived")
    assert payment["operatorAmount"] == FEE // 10  # still the old 10 %


def test_an_announced_change_is_applied_by_anyone_once_due_and_not_before(world: World) -> None:
    active(world)
    world.pool.set_operator_share(2_000)
    effective_at = world.pool.pending_change(Parameter.OPERATOR_SHARE)["effectiveAt"]

    with pytest.raises(PatentPoolChangeNotDue) as exc:
        world.pool_as(OTHER).apply_parameter_change(Parameter.OPERATOR_SHARE)
    assert args(exc.value) == {"parameter": Parameter.OPERATOR_SHARE, "effectiveAt": effective_at}

    advance(world.w3, DELAY)
    result = world.pool_as(OTHER).apply_parameter_change(Parameter.OPERATOR_SHARE)

    assert world.pool.events(result, "OperatorShareSet") == [{"bps": 2_000}]
    assert world.pool.profile()["operatorShareBps"] == 2_000
    assert world.pool.pending_change(Parameter.OPERATOR_SHARE) == {"value": 0, "effectiveAt": 0}
    with pytest.raises(PatentPoolChangeNotDue) as again:
        world.pool.apply_parameter_change(Parameter.OPERATOR_SHARE)
    assert args(again.value) == {"parameter": Parameter.OPERATOR_SHARE, "effectiveAt": 0}


def test_fee_notice_licence_length_and_qualification_changes_wait_for_the_delay(world: World) -> None:
    active(world)
    world.pool.set_tier_fee(0, 2 * FEE)
    world.pool.set_withdrawal_notice(30 * DAY)
    world.pool.set_max_licence_length(YEAR)
    announced = world.pool.set_qualification(["EP", "KR"], 1, 5_000)
    effective_at = now(world.w3) + DELAY

    assert world.pool.events(announced, "QualificationChangeAnnounced") == [
        {"jurisdictions": [b"EP", b"KR"], "minGranted": 1, "minScoreBps": 5_000, "effectiveAt": effective_at}
    ]
    assert world.pool.tier_fee(0) == FEE
    assert world.pool.contract.functions.withdrawalNotice().call() == 90 * DAY
    assert world.pool.bounds()["maxLicenceLength"] == 5 * YEAR
    assert world.pool.qualification()["jurisdictions"] == ["US", "CN", "DE", "JP"]
    assert world.pool.pending_qualification() == {
        "jurisdictions": ["EP", "KR"],
        "minGranted": 1,
        "minScoreBps": 5_000,
        "effectiveAt": effective_at,
    }

    advance(world.w3, DELAY)
    for parameter in (
        Parameter.TIER_FEE_0,
        Parameter.WITHDRAWAL_NOTICE,
        Parameter.MAX_LICENCE_LENGTH,
        Parameter.QUALIFICATION,
    ):
        world.pool.apply_parameter_change(parameter)

    assert world.pool.tier_fee(0) == 2 * FEE
    assert world.pool.contract.functions.withdrawalNotice().call() == 30 * DAY
    assert world.pool.bounds()["maxLicenceLength"] == YEAR
    assert world.pool.qualification() == {"jurisdictions": ["EP", "KR"], "minGranted": 1, "minScoreBps": 5_000}
    assert world.pool.pending_qualification()["effectiveAt"] == 0


def test_a_withdrawal_notice_of_3000_years_or_one_that_overflows_attack(world: World) -> None:
    """Before: any uint64 notice was accepted; 2**64 - 1 made announceWithdrawal overflow."""
    for notice in (3_000 * YEAR, 2**64 - 1, DELAY + 1):
        with pytest.raises(PatentPoolInvalidNotice) as exc:
            world.pool.set_withdrawal_notice(notice)
        assert args(exc.value) == {"noticePeriod": notice, "changeDelay": DELAY}
    assert world.pool.contract.functions.withdrawalNotice().call() == 90 * DAY


def test_pausing_the_pool_holds_no_claim_and_no_withdrawal_attack(world: World) -> None:
    """Before: pause() stopped every founder's claim (and withdrawal) for as long as it lasted."""
    asset_id = active(world)
    join(world, MEMBER)
    world.pool.pause()
    owed = world.pool.claimable(addr(world, FOUNDER))
    assert owed == 90 * USDC

    assert world.pool_as(FOUNDER).claim().value == owed
    world.pool_as(FOUNDER).announce_withdrawal(asset_id)
    advance(world.w3, 90 * DAY)
    world.pool_as(OTHER).complete_withdrawal(asset_id)

    assert world.coin.balance_of(addr(world, FOUNDER)) == owed
    assert world.pool.pool_asset(asset_id)["withdrawnAt"] > 0
    assert world.pool.paused()


def test_a_free_licence_granted_just_before_a_withdrawal_completes_attack(world: World) -> None:
    """Before: after a founder announced a withdrawal, the operator could grant a friend a free
    licence up to 2**64 - 1 that bound the asset for ever (granted licences survive withdrawal)."""
    asset_id = active(world)
    kept = world.founder_with_asset(2)
    join(world, MEMBER)  # paid before the announcement: binds the asset for its whole term
    announced = world.pool_as(FOUNDER).announce_withdrawal(asset_id)
    effective_at = world.pool.events(announced, "AssetWithdrawalAnnounced")[0]["effectiveAt"]
    t = now(world.w3)

    with pytest.raises(PatentPoolInvalidPeriod):
        world.pool.offer_licence(addr(world, FRIEND), [], t, 2**64 - 1, 0, TERMS)
    advance(world.w3, 89 * DAY)
    t = now(world.w3)
    offer_id = world.pool.offer_licence(addr(world, FRIEND), [], t, t + 5 * YEAR, 0, TERMS).value
    world.pool_as(FRIEND).accept_offer(offer_id)
    advance(world.w3, 2 * DAY)
    world.pool_as(OTHER).complete_withdrawal(asset_id)

    assert world.pool.pool_asset(asset_id)["withdrawalAnnouncedAt"] > 0
    assert world.pool.is_licensed(addr(world, FRIEND), asset_id, effective_at - 1)
    assert not world.pool.is_licensed(addr(world, FRIEND), asset_id, effective_at)
    assert not world.pool.is_licensed(addr(world, FRIEND), asset_id, t + YEAR)
    assert world.pool.is_licensed(addr(world, FRIEND), kept, t + YEAR)
    assert world.pool.is_licensed(addr(world, MEMBER), asset_id, effective_at + DAY)


def test_a_licence_longer_than_the_pools_maximum_is_refused(world: World) -> None:
    active(world)
    t = now(world.w3)
    with pytest.raises(PatentPoolLicenceTooLong) as exc:
        world.pool.offer_licence(addr(world, LICENSEE), [], t, t + 5 * YEAR + 1, 0, TERMS)
    assert args(exc.value) == {"start": t, "end": t + 5 * YEAR + 1, "maxLength": 5 * YEAR}
    # A licence starting long ago counts from its start too.
    with pytest.raises(PatentPoolLicenceTooLong):
        world.pool.offer_licence(addr(world, LICENSEE), [], 0, t + DAY, 0, TERMS)
    assert world.pool.offer_licence(addr(world, LICENSEE), [], t, t + 5 * YEAR, 0, TERMS).value == 1


def test_the_admin_role_changes_hands_in_two_steps(world: World) -> None:
    admin, heir, other = addr(world, 0), addr(world, 9), addr(world, OTHER)
    admin_role = role_id("DEFAULT_ADMIN_ROLE")
    functions = world.pool.contract.functions
    for call in (
        functions.grantRole(admin_role, heir),
        functions.revokeRole(admin_role, admin),
        functions.renounceRole(admin_role, admin),
    ):
        with pytest.raises(PatentPoolAdminChangesInTwoSteps):
            world.pool.chain.transact(call)

    begun = world.pool.begin_default_admin_transfer(heir)
    assert world.pool.events(begun, "DefaultAdminTransferBegun") == [{"admin": admin, "newAdmin": heir}]
    assert world.pool.default_admin() == {"admin": admin, "pendingAdmin": heir}
    assert world.pool.has_role("DEFAULT_ADMIN_ROLE", admin)
    with pytest.raises(PatentPoolNotPendingAdmin) as exc:
        world.pool_as(OTHER).accept_default_admin_transfer()
    assert args(exc.value) == {"caller": other, "pendingAdmin": heir}

    accepted = world.pool_as(9).accept_default_admin_transfer()

    assert world.pool.events(accepted, "RoleRevoked") == [{"role": admin_role, "account": admin, "sender": heir}]
    assert world.pool.events(accepted, "RoleGranted") == [{"role": admin_role, "account": heir, "sender": heir}]
    assert world.pool.default_admin() == {"admin": heir, "pendingAdmin": "0x" + "0" * 40}
    with pytest.raises(AccessControlUnauthorizedAccount):
        world.pool.set_treasury(admin)
    world.pool_as(9).set_treasury(other)
    assert world.pool.profile()["treasury"] == other

"""How every payment is split between the treasury and the founders, how claims pay out, and how
disputes suspend assets.

Operator share 10 % by default; a founder's weight is its verified grants in US/CN/DE/JP, so the
families below weigh 1, 2, 3 and 5.
"""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from registry.reverts import (
    AccessControlUnauthorizedAccount,
    PatentPoolAssetNotInPool,
    PatentPoolDisputeNotOpen,
    PatentPoolInvalidShare,
    PatentPoolNothingToClaim,
    PatentPoolNotParticipant,
    PatentPoolZeroAddress,
)
from registry.types import Parameter, PatentStatus
from tests.conftest import USDC, YEAR, World, advance, now
from tests.contracts._library import Offices, library_fixtures

G: int = PatentStatus.GRANTED
FEE = 100 * USDC
PRECISION = 10**18
EVIDENCE = bytes(Web3.keccak(text="prior art: DE 10 2001 000 001"))
RULING = bytes(Web3.keccak(text="ruling of the pool's arbiter"))

WEIGHT_1 = {"US": G}
WEIGHT_2 = {"US": G, "CN": G}
WEIGHT_3 = {"US": G, "CN": G, "DE": G}
WEIGHT_5: list[tuple[str, int]] = [("US", G), ("US", G), ("CN", G), ("DE", G), ("JP", G)]

TREASURY, FOUNDER_A, FOUNDER_B, FOUNDER_C, MEMBER, MEMBER_2, MEMBER_3, NEW_TREASURY, STRANGER = range(9)


def error_args(exc: Any) -> dict[str, Any]:
    """A revert's arguments with addresses checksummed (eth_abi decodes them lower-case)."""
    return {
        k: Web3.to_checksum_address(v) if isinstance(v, str) and v.startswith("0x") and len(v) == 42 else v
        for k, v in exc.error_args.items()
    }


def address(world: World, i: int) -> str:
    return world.keys[i].address


def contribute(world: World, who: int, offices: dict[str, int] | list[tuple[str, int]]) -> int:
    """Admit `who` if need be and contribute a family of `offices` it owns; the asset id."""
    if not world.pool.is_founder(address(world, who)):
        world.pool.admit_founder(address(world, who))
    asset_id = world.family(who, offices)
    world.pool_as(who).contribute(asset_id)
    return asset_id


def open_pool(world: World, fee: int = FEE) -> None:
    world.pool.set_tier_fee(0, fee)
    world.pool.activate()


def pay(world: World, who: int, fee: int = FEE) -> dict[str, Any]:
    """`who` joins at tier 0; the RevenueReceived event of the payment."""
    world.fund(who, fee)
    [event] = world.pool.events(world.pool_as(who).join(0, fee), "RevenueReceived")
    return event


def claimable(world: World, *who: int) -> list[int]:
    return [world.pool.claimable(address(world, i)) for i in who]


def pool_balance(world: World) -> int:
    return world.coin.balance_of(world.pool.address)


LIBRARY: list[tuple[int, Offices, int, int]] = [
    (FOUNDER_A, WEIGHT_1, 8000, 1),
    (FOUNDER_A, WEIGHT_2, 8000, 2),
    (FOUNDER_A, WEIGHT_3, 8000, 1),
    (FOUNDER_B, WEIGHT_2, 8000, 1),
    (FOUNDER_B, WEIGHT_3, 8000, 1),
    (FOUNDER_B, WEIGHT_5, 8000, 1),
    (FOUNDER_C, WEIGHT_5, 8000, 1),
]


module_world, world = library_fixtures(LIBRARY)


# ------------------------------------------------------------------ splits


def test_one_founder_gets_90_and_the_treasury_10_of_a_100_usdc_fee(world: World) -> None:
    contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)

    event = pay(world, MEMBER)

    assert event == {
        "payer": address(world, MEMBER),
        "amount": FEE,
        "operatorAmount": 10 * USDC,
        "founderAmount": 90 * USDC,
        "unallocatedAmount": 0,
        "accRevenuePerWeight": 90 * USDC * PRECISION // 2,
    }
    assert claimable(world, TREASURY, FOUNDER_A, MEMBER) == [10 * USDC, 90 * USDC, 0]
    assert pool_balance(world) == FEE


def test_a_claim_pays_out_exactly_what_is_claimable_and_a_second_claim_has_nothing(world: World) -> None:
    contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)
    pay(world, MEMBER)
    founder = address(world, FOUNDER_A)

    result = world.pool_as(FOUNDER_A).claim()

    assert world.pool.events(result, "RevenueClaimed") == [{"account": founder, "amount": 90 * USDC}]
    assert result.value == 90 * USDC
    assert world.coin.balance_of(founder) == 90 * USDC
    assert pool_balance(world) == 10 * USDC
    assert world.pool.claimable(founder) == 0
    with pytest.raises(PatentPoolNothingToClaim) as exc:
        world.pool_as(FOUNDER_A).claim()
    assert error_args(exc.value) == {"account": founder}

    treasury_before = world.coin.balance_of(address(world, TREASURY))
    assert world.pool.claim().value == 10 * USDC
    assert world.coin.balance_of(address(world, TREASURY)) == treasury_before + 10 * USDC
    assert pool_balance(world) == 0


def test_an_account_owed_nothing_cannot_claim(world: World) -> None:
    contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)

    for who in (FOUNDER_A, STRANGER, TREASURY):
        with pytest.raises(PatentPoolNothingToClaim) as exc:
            world.pool_as(who).claim()
        assert error_args(exc.value) == {"account": address(world, who)}


def test_founders_weighing_2_3_and_5_split_90_as_18_27_45(world: World) -> None:
    for who, offices in ((FOUNDER_A, WEIGHT_2), (FOUNDER_B, WEIGHT_3), (FOUNDER_C, WEIGHT_5)):
        contribute(world, who, offices)
    assert [world.pool.founder_weight(address(world, i)) for i in (FOUNDER_A, FOUNDER_B, FOUNDER_C)] == [2, 3, 5]
    assert world.pool.total_weight() == 10
    open_pool(world)

    event = pay(world, MEMBER)

    assert (event["operatorAmount"], event["founderAmount"], event["unallocatedAmount"]) == (10 * USDC, 90 * USDC, 0)
    assert claimable(world, TREASURY, FOUNDER_A, FOUNDER_B, FOUNDER_C) == [10 * USDC, 18 * USDC, 27 * USDC, 45 * USDC]
    assert pool_balance(world) == FEE


def test_an_awkward_amount_is_floored_and_only_sub_wei_dust_stays_in_the_pool(world: World) -> None:
    world.pool.set_qualification(["US", "CN", "DE", "JP"], 1, 6000)
    world.pool.set_operator_share(3000)
    contribute(world, FOUNDER_A, WEIGHT_1)
    contribute(world, FOUNDER_B, WEIGHT_2)
    open_pool(world, fee=7)

    # 7 wei: 7 * 3000 // 10000 = 2 to the treasury, 5 to weights 1 and 2 (5/3 wei per weight).
    first = pay(world, MEMBER, fee=7)

    assert (first["operatorAmount"], first["founderAmount"], first["unallocatedAmount"]) == (2, 5, 0)
    assert first["accRevenuePerWeight"] == 5 * PRECISION // 3
    assert claimable(world, TREASURY, FOUNDER_A, FOUNDER_B) == [2, 1, 3]
    assert pool_balance(world) - sum(claimable(world, TREASURY, FOUNDER_A, FOUNDER_B)) == 1

    # The scaled remainder is carried: after three payments 15 wei split 5 / 10 without dust.
    second = pay(world, MEMBER_2, fee=7)
    assert claimable(world, TREASURY, FOUNDER_A, FOUNDER_B) == [4, 3, 6]
    assert 0 <= pool_balance(world) - sum(claimable(world, TREASURY, FOUNDER_A, FOUNDER_B)) <= 2
    third = pay(world, MEMBER_3, fee=7)
    assert third["accRevenuePerWeight"] - second["accRevenuePerWeight"] == 5 * PRECISION // 3 + 1
    assert third["accRevenuePerWeight"] == 5 * PRECISION
    assert claimable(world, TREASURY, FOUNDER_A, FOUNDER_B) == [6, 5, 10]
    assert pool_balance(world) == 21 == sum(claimable(world, TREASURY, FOUNDER_A, FOUNDER_B))

    for who, owed in ((FOUNDER_A, 5), (FOUNDER_B, 10), (TREASURY, 6)):
        assert world.pool_as(who).claim().value == owed
    assert pool_balance(world) == 0


def test_dust_never_exceeds_one_wei_per_founder_across_claims(world: World) -> None:
    world.pool.set_qualification(["US", "CN", "DE", "JP"], 1, 6000)
    world.pool.set_operator_share(2999)
    contribute(world, FOUNDER_A, WEIGHT_1)
    contribute(world, FOUNDER_B, WEIGHT_2)
    contribute(world, FOUNDER_C, WEIGHT_5)
    open_pool(world, fee=7)
    everyone = (TREASURY, FOUNDER_A, FOUNDER_B, FOUNDER_C)

    for payer, claimant in ((MEMBER, FOUNDER_C), (MEMBER_2, FOUNDER_B), (MEMBER_3, FOUNDER_A)):
        pay(world, payer, fee=7)
        world.pool_as(claimant).claim()
        dust = pool_balance(world) - sum(claimable(world, *everyone))
        assert 0 <= dust <= 3, dust


def test_money_paid_before_any_founder_exists_is_credited_to_the_treasury(world: World) -> None:
    open_pool(world)

    event = pay(world, MEMBER)

    assert event == {
        "payer": address(world, MEMBER),
        "amount": FEE,
        "operatorAmount": 10 * USDC,
        "founderAmount": 0,
        "unallocatedAmount": 90 * USDC,
        "accRevenuePerWeight": 0,
    }
    assert claimable(world, TREASURY) == [FEE]
    assert pool_balance(world) == FEE

    # A founder who arrives later earns only from later payments.
    contribute(world, FOUNDER_A, WEIGHT_2)
    assert claimable(world, FOUNDER_A) == [0]
    later = pay(world, MEMBER_2)
    assert (later["founderAmount"], later["unallocatedAmount"]) == (90 * USDC, 0)
    assert claimable(world, TREASURY, FOUNDER_A) == [110 * USDC, 90 * USDC]
    assert pool_balance(world) == 2 * FEE


def test_money_paid_after_every_asset_left_is_credited_to_the_treasury(world: World) -> None:
    asset_id = contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)
    pay(world, MEMBER)
    world.pool_as(FOUNDER_A).announce_withdrawal(asset_id)
    advance(world.w3, world.pool.contract.functions.withdrawalNotice().call())
    world.pool.complete_withdrawal(asset_id)

    event = pay(world, MEMBER_2)

    assert (event["founderAmount"], event["unallocatedAmount"]) == (0, 90 * USDC)
    assert claimable(world, TREASURY, FOUNDER_A) == [110 * USDC, 90 * USDC]
    assert pool_balance(world) == 2 * FEE


def test_an_operator_share_above_10000_bps_is_invalid(world: World) -> None:
    with pytest.raises(PatentPoolInvalidShare) as exc:
        world.pool.set_operator_share(10001)

    assert error_args(exc.value) == {"bps": 10001}
    assert world.pool.profile()["operatorShareBps"] == 1000


def test_a_new_operator_share_applies_to_payments_after_it_is_in_force(world: World) -> None:
    contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)
    pay(world, MEMBER)

    announced = world.pool.set_operator_share(3000)
    assert world.pool.events(announced, "OperatorShareSet") == []
    advance(world.w3, world.pool.bounds()["changeDelay"])
    result = world.pool.apply_parameter_change(Parameter.OPERATOR_SHARE)

    assert world.pool.events(result, "OperatorShareSet") == [{"bps": 3000}]
    event = pay(world, MEMBER_2)
    assert (event["operatorAmount"], event["founderAmount"]) == (30 * USDC, 70 * USDC)
    assert claimable(world, TREASURY, FOUNDER_A) == [40 * USDC, 160 * USDC]


def test_a_new_treasury_takes_future_operator_income_and_the_old_one_keeps_its_credit(world: World) -> None:
    contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)
    pay(world, MEMBER)
    new_treasury = address(world, NEW_TREASURY)

    result = world.pool.set_treasury(new_treasury)

    assert world.pool.events(result, "TreasurySet") == [{"treasury": new_treasury}]
    assert world.pool.profile()["treasury"] == new_treasury
    pay(world, MEMBER_2)
    assert claimable(world, TREASURY, NEW_TREASURY, FOUNDER_A) == [10 * USDC, 10 * USDC, 180 * USDC]

    old_before = world.coin.balance_of(address(world, TREASURY))
    assert world.pool.claim().value == 10 * USDC
    assert world.coin.balance_of(address(world, TREASURY)) == old_before + 10 * USDC
    assert world.pool_as(NEW_TREASURY).claim().value == 10 * USDC
    assert world.coin.balance_of(new_treasury) == 10 * USDC
    assert pool_balance(world) == 180 * USDC


def test_the_treasury_cannot_be_the_zero_address_nor_set_by_a_non_admin(world: World) -> None:
    with pytest.raises(PatentPoolZeroAddress):
        world.pool.set_treasury("0x" + "00" * 20)
    with pytest.raises(AccessControlUnauthorizedAccount) as exc:
        world.pool_as(STRANGER).set_treasury(address(world, STRANGER))

    assert error_args(exc.value) == {"account": address(world, STRANGER), "neededRole": b"\x00" * 32}
    assert world.pool.profile()["treasury"] == address(world, TREASURY)


# ------------------------------------------------------------------ disputes


def test_only_current_members_and_founders_may_open_a_dispute(world: World) -> None:
    asset_id = contribute(world, FOUNDER_A, WEIGHT_2)
    open_pool(world)
    pay(world, MEMBER)
    t = now(world.w3)
    world.pool.offer_licence(address(world, MEMBER_2), [], t, t + 2 * YEAR, 0, EVIDENCE)
    world.pool_as(MEMBER_2).accept_offer(1)
    advance(world.w3, YEAR)

    # A stranger, a licensee that is not a member, and a member whose term has run out.
    for who in (STRANGER, MEMBER_2, MEMBER):
        with pytest.raises(PatentPoolNotParticipant) as exc:
            world.pool_as(who).open_dispute(asset_id, EVIDENCE)
        assert error_args(exc.value) == {"account": address(world, who)}
    assert world.pool.counts()["disputes"] == 0


def test_a_dispute_must_name_an_asset_in_the_pool(world: World) -> None:
    contribute(world, FOUNDER_A, WEIGHT_2)
    outside = world.family(FOUNDER_A, WEIGHT_2)

    for asset_id in (outside, 999):
        with pytest.raises(PatentPoolAssetNotInPool) as exc:
            world.pool_as(FOUNDER_A).open_dispute(asset_id, EVIDENCE)
        assert error_args(exc.value) == {"assetId": asset_id}


def test_a_member_or_a_founder_opens_a_dispute_with_its_evidence(world: World) -> None:
    asset_id = contribute(world, FOUNDER_A, WEIGHT_2)
    world.pool.admit_founder(address(world, FOUNDER_B))
    open_pool(world)
    pay(world, MEMBER)

    by_member = world.pool_as(MEMBER).open_dispute(asset_id, EVIDENCE)
    by_founder = world.pool_as(FOUNDER_B).open_dispute(asset_id, RULING)

    assert world.pool.events(by_member, "DisputeOpened") == [
        {"disputeId": 1, "assetId": asset_id, "challenger": address(world, MEMBER), "evidenceHash": EVIDENCE}
    ]
    assert (by_member.value, by_founder.value) == (1, 2)
    assert world.pool.dispute(2) == {
        "assetId": asset_id,
        "challenger": address(world, FOUNDER_B),
        "evidenceHash": RULING,
        "status": 1,
        "rulingHash": b"\x00" * 32,
    }
    assert world.pool.counts()["disputes"] == 2
    assert world.pool.pool_asset(asset_id)["weight"] == 2


def test_a_dismissed_dispute_leaves_the_asset_earning_and_licensed(world: World) -> None:
    asset_a = contribute(world, FOUNDER_A, WEIGHT_2)
    contribute(world, FOUNDER_B, WEIGHT_3)
    open_pool(world)
    pay(world, MEMBER)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_a, EVIDENCE).value

    result = world.pool.resolve_dispute(dispute_id, False, RULING)

    assert world.pool.events(result, "DisputeResolved") == [
        {
            "disputeId": dispute_id,
            "assetId": asset_a,
            "arbiter": address(world, TREASURY),
            "upheld": False,
            "rulingHash": RULING,
        }
    ]
    assert world.pool.events(result, "AssetSuspended") == []
    assert world.pool.dispute(dispute_id)["status"] == 3
    assert world.pool.dispute(dispute_id)["rulingHash"] == RULING
    assert world.pool.pool_asset(asset_a)["suspended"] is False
    assert world.pool.total_weight() == 5
    assert world.pool.is_licensed(address(world, MEMBER), asset_a, now(world.w3))
    pay(world, MEMBER_2)
    assert claimable(world, FOUNDER_A, FOUNDER_B) == [72 * USDC, 108 * USDC]


def test_an_upheld_dispute_suspends_the_asset_which_stops_earning_but_keeps_what_it_earned(world: World) -> None:
    asset_a = contribute(world, FOUNDER_A, WEIGHT_2)
    asset_b = contribute(world, FOUNDER_B, WEIGHT_3)
    open_pool(world)
    pay(world, MEMBER)
    assert claimable(world, FOUNDER_A, FOUNDER_B) == [36 * USDC, 54 * USDC]
    dispute_id = world.pool_as(FOUNDER_B).open_dispute(asset_a, EVIDENCE).value

    result = world.pool.resolve_dispute(dispute_id, True, RULING)

    [resolved] = world.pool.events(result, "DisputeResolved")
    assert (resolved["disputeId"], resolved["assetId"], resolved["upheld"]) == (dispute_id, asset_a, True)
    assert world.pool.events(result, "AssetSuspended") == [{"assetId": asset_a, "disputeId": dispute_id, "weight": 2}]
    assert world.pool.dispute(dispute_id)["status"] == 2
    standing = world.pool.pool_asset(asset_a)
    assert (standing["suspended"], standing["weight"]) == (True, 0)
    assert world.pool.founder_weight(address(world, FOUNDER_A)) == 0
    assert world.pool.founder_weight(address(world, FOUNDER_B)) == 3
    assert world.pool.total_weight() == 3
    t = now(world.w3)
    assert not world.pool.is_licensed(address(world, MEMBER), asset_a, t)
    assert world.pool.is_licensed(address(world, MEMBER), asset_b, t)

    pay(world, MEMBER_2)
    assert claimable(world, TREASURY, FOUNDER_A, FOUNDER_B) == [20 * USDC, 36 * USDC, 144 * USDC]

    assert world.pool_as(FOUNDER_A).claim().value == 36 * USDC
    assert world.coin.balance_of(address(world, FOUNDER_A)) == 36 * USDC
    assert pool_balance(world) == 164 * USDC == sum(claimable(world, TREASURY, FOUNDER_A, FOUNDER_B))


def test_suspending_one_of_a_founders_assets_removes_only_its_weight(world: World) -> None:
    suspended = contribute(world, FOUNDER_A, WEIGHT_2)
    contribute(world, FOUNDER_A, WEIGHT_3)
    contribute(world, FOUNDER_B, WEIGHT_5)
    open_pool(world)
    pay(world, MEMBER)
    dispute_id = world.pool_as(FOUNDER_B).open_dispute(suspended, EVIDENCE).value

    world.pool.resolve_dispute(dispute_id, True, RULING)
    pay(world, MEMBER_2)

    assert world.pool.founder_weight(address(world, FOUNDER_A)) == 3
    assert world.pool.total_weight() == 8
    # 45 + 90 * 3/8 = 78.75 and 45 + 90 * 5/8 = 101.25
    assert claimable(world, FOUNDER_A, FOUNDER_B) == [78_750_000, 101_250_000]


def test_a_dispute_cannot_be_resolved_twice_and_a_suspended_asset_not_disputed_again(world: World) -> None:
    asset_id = contribute(world, FOUNDER_A, WEIGHT_2)
    world.pool.admit_founder(address(world, FOUNDER_B))
    dispute_id = world.pool_as(FOUNDER_B).open_dispute(asset_id, EVIDENCE).value
    world.pool.resolve_dispute(dispute_id, True, RULING)

    for target in (dispute_id, 9):
        for upheld in (True, False):
            with pytest.raises(PatentPoolDisputeNotOpen) as exc:
                world.pool.resolve_dispute(target, upheld, RULING)
            assert error_args(exc.value) == {"disputeId": target}
    assert world.pool.dispute(dispute_id)["status"] == 2
    with pytest.raises(PatentPoolAssetNotInPool) as exc:
        world.pool_as(FOUNDER_B).open_dispute(asset_id, EVIDENCE)
    assert error_args(exc.value) == {"assetId": asset_id}


def test_only_an_arbiter_resolves_a_dispute(world: World) -> None:
    asset_id = contribute(world, FOUNDER_A, WEIGHT_2)
    dispute_id = world.pool_as(FOUNDER_A).open_dispute(asset_id, EVIDENCE).value

    with pytest.raises(AccessControlUnauthorizedAccount) as exc:
        world.pool_as(FOUNDER_A).resolve_dispute(dispute_id, True, RULING)

    assert error_args(exc.value) == {
        "account": address(world, FOUNDER_A),
        "neededRole": bytes(Web3.keccak(text="ARBITER_ROLE")),
    }
    assert world.pool.dispute(dispute_id)["status"] == 1
    assert world.pool.total_weight() == 2

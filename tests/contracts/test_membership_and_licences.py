"""Members, unified licences, `isLicensed`, withdrawal of assets, pause and close.

Every pool here starts with founder 1's US+CN asset (weight 2) unless a test says otherwise;
tier 0 costs FEE a year, tier 2 ENTERPRISE_FEE, tier 1 is not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from web3 import Web3

from registry.reverts import (
    AccessControlUnauthorizedAccount,
    EnforcedPause,
    ERC20InsufficientAllowance,
    PatentPoolAcceptanceClosed,
    PatentPoolAlreadyMember,
    PatentPoolAssetNotInPool,
    PatentPoolAssetsNotAscending,
    PatentPoolFeeAboveMax,
    PatentPoolInvalidLifecycle,
    PatentPoolInvalidPeriod,
    PatentPoolInvalidTier,
    PatentPoolLicenceNotRevocable,
    PatentPoolLicenceOverlaps,
    PatentPoolNotContributor,
    PatentPoolNotMember,
    PatentPoolNotOfferee,
    PatentPoolOfferExpired,
    PatentPoolOfferNotOpen,
    PatentPoolRenewalTooEarly,
    PatentPoolTierNotOffered,
    PatentPoolTooManyAssets,
    PatentPoolWithdrawalAlreadyAnnounced,
    PatentPoolWithdrawalNotDue,
)
from registry.types import Parameter, PatentStatus
from tests.conftest import USDC, YEAR, World, advance, now
from tests.contracts._library import Offices, library_fixtures

G: int = PatentStatus.GRANTED
FEE = 100 * USDC
ENTERPRISE_FEE = 1_000 * USDC
PRICE = 50 * USDC
DAY = 24 * 3600
NOTICE = 90 * DAY
TERMS = bytes(Web3.keccak(text="field of use: automotive LiDAR"))
REASON = bytes(Web3.keccak(text="licensee breached the terms"))

OPERATOR, FOUNDER, FOUNDER_2, MEMBER, LICENSEE, OTHER, STRANGER = 0, 1, 2, 3, 4, 5, 6


def error_args(exc: Any) -> dict[str, Any]:
    """A revert's arguments with addresses checksummed (eth_abi decodes them lower-case)."""
    return {
        k: Web3.to_checksum_address(v) if isinstance(v, str) and v.startswith("0x") and len(v) == 42 else v
        for k, v in exc.error_args.items()
    }


def address(world: World, i: int) -> str:
    return world.keys[i].address


def block_time(world: World, result: Any) -> int:
    return int(world.w3.eth.get_block(result.block_number)["timestamp"])


def active_pool(world: World) -> int:
    """Founder 1 contributes a US+CN asset, tiers 0 and 2 get a fee, the pool opens; the asset id."""
    asset_id = world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, FEE)
    world.pool.set_tier_fee(2, ENTERPRISE_FEE)
    world.pool.activate()
    return asset_id


def join(world: World, who: int, tier: int = 0, fee: int = FEE) -> Any:
    world.fund(who, fee)
    return world.pool_as(who).join(tier, fee)


def offer(
    world: World,
    who: int,
    asset_ids: Sequence[int] = (),
    start: int | None = None,
    end: int | None = None,
    price: int = PRICE,
) -> int:
    begin = now(world.w3) if start is None else start
    return world.pool.offer_licence(
        address(world, who), asset_ids, begin, begin + YEAR if end is None else end, price, TERMS
    ).value


def licence(
    world: World,
    who: int,
    asset_ids: Sequence[int] = (),
    start: int | None = None,
    end: int | None = None,
    price: int = PRICE,
) -> int:
    offer_id = offer(world, who, asset_ids, start, end, price)
    world.fund(who, price)
    return world.pool_as(who).accept_offer(offer_id).value


def licensed(world: World, who: int, asset_id: int, at: int) -> bool:
    return world.pool.is_licensed(address(world, who), asset_id, at)


def withdraw(world: World, asset_id: int, founder: int = FOUNDER) -> Any:
    world.pool_as(founder).announce_withdrawal(asset_id)
    advance(world.w3, NOTICE)
    return world.pool_as(OTHER).complete_withdrawal(asset_id)


LIBRARY: list[tuple[int, Offices, int, int]] = [
    (FOUNDER, {"US": G, "CN": G}, 8000, 2),
    (FOUNDER_2, {"US": G, "CN": G}, 8000, 1),
    (FOUNDER_2, {"DE": G, "JP": G, "US": G}, 8000, 1),
]


module_world, world = library_fixtures(LIBRARY)


# ------------------------------------------------------------------ join


def test_nobody_joins_an_incubating_pool(world: World) -> None:
    world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, FEE)
    world.fund(MEMBER, FEE)

    with pytest.raises(PatentPoolInvalidLifecycle) as exc:
        world.pool_as(MEMBER).join(0, FEE)

    assert error_args(exc.value) == {"current": 0}
    assert world.pool.membership(address(world, MEMBER)) == {"tier": 0, "validUntil": 0}


def test_tier_3_does_not_exist(world: World) -> None:
    active_pool(world)
    world.fund(MEMBER, FEE)

    with pytest.raises(PatentPoolInvalidTier) as exc:
        world.pool_as(MEMBER).join(3, FEE)

    assert error_args(exc.value) == {"tier": 3}


def test_a_tier_without_a_fee_is_not_offered(world: World) -> None:
    active_pool(world)
    world.fund(MEMBER, FEE)

    with pytest.raises(PatentPoolTierNotOffered) as exc:
        world.pool_as(MEMBER).join(1, FEE)

    assert error_args(exc.value) == {"tier": 1}


def test_a_fee_above_the_members_maximum_is_refused_and_nothing_is_taken(world: World) -> None:
    active_pool(world)
    world.fund(MEMBER, FEE)

    with pytest.raises(PatentPoolFeeAboveMax) as exc:
        world.pool_as(MEMBER).join(0, FEE - 1)

    assert error_args(exc.value) == {"fee": FEE, "maxFee": FEE - 1}
    assert world.coin.balance_of(address(world, MEMBER)) == FEE
    assert world.coin.balance_of(world.pool.address) == 0


def test_joining_moves_the_fee_from_member_to_pool_and_starts_a_365_day_term(world: World) -> None:
    active_pool(world)
    member = address(world, MEMBER)
    world.fund(MEMBER, FEE + 7)

    result = world.pool_as(MEMBER).join(0, FEE)

    start = block_time(world, result)
    [event] = world.pool.events(result, "MemberJoined")
    assert event == {"member": member, "tier": 0, "fee": FEE, "validFrom": start, "validUntil": start + 365 * DAY}
    assert result.value == start + 365 * DAY
    assert world.pool.membership(member) == {"tier": 0, "validUntil": start + 365 * DAY}
    assert world.coin.balance_of(member) == 7
    assert world.coin.balance_of(world.pool.address) == FEE
    assert world.pool.counts()["members"] == 1
    [revenue] = world.pool.events(result, "RevenueReceived")
    assert revenue["payer"] == member
    assert revenue["amount"] == FEE


def test_an_enterprise_member_pays_the_enterprise_fee(world: World) -> None:
    active_pool(world)

    result = join(world, MEMBER, tier=2, fee=ENTERPRISE_FEE)

    [event] = world.pool.events(result, "MemberJoined")
    assert (event["tier"], event["fee"]) == (2, ENTERPRISE_FEE)
    assert world.pool.membership(address(world, MEMBER))["tier"] == 2
    assert world.coin.balance_of(world.pool.address) == ENTERPRISE_FEE


def test_a_member_with_a_running_term_cannot_join_again(world: World) -> None:
    active_pool(world)
    valid_until = join(world, MEMBER).value
    world.fund(MEMBER, FEE)

    with pytest.raises(PatentPoolAlreadyMember) as exc:
        world.pool_as(MEMBER).join(0, FEE)

    assert error_args(exc.value) == {"account": address(world, MEMBER), "validUntil": valid_until}
    assert world.coin.balance_of(world.pool.address) == FEE


def test_joining_without_an_allowance_reverts_in_the_token_and_records_nothing(world: World) -> None:
    active_pool(world)
    member = address(world, MEMBER)
    world.coin.mint(member, FEE)

    with pytest.raises(ERC20InsufficientAllowance) as exc:
        world.pool_as(MEMBER).join(0, FEE)

    assert error_args(exc.value) == {"spender": world.pool.address, "allowance": 0, "needed": FEE}
    assert world.pool.membership(member) == {"tier": 0, "validUntil": 0}
    assert world.pool.counts()["members"] == 0
    assert world.coin.balance_of(member) == FEE


def test_a_lapsed_member_may_join_again_without_counting_twice(world: World) -> None:
    active_pool(world)
    first_end = join(world, MEMBER).value
    advance(world.w3, YEAR + DAY)

    result = join(world, MEMBER, tier=2, fee=ENTERPRISE_FEE)

    start = block_time(world, result)
    assert start > first_end
    assert world.pool.membership(address(world, MEMBER)) == {"tier": 2, "validUntil": start + YEAR}
    assert world.pool.counts()["members"] == 1


# ------------------------------------------------------------------ renew


def test_renewing_a_running_term_extends_it_from_its_current_end(world: World) -> None:
    asset_id = active_pool(world)
    member = address(world, MEMBER)
    old_end = join(world, MEMBER).value
    advance(world.w3, 100 * DAY)
    world.fund(MEMBER, FEE)

    result = world.pool_as(MEMBER).renew(FEE)

    [event] = world.pool.events(result, "MembershipRenewed")
    assert event == {"member": member, "tier": 0, "fee": FEE, "validFrom": old_end, "validUntil": old_end + YEAR}
    assert world.pool.membership(member) == {"tier": 0, "validUntil": old_end + YEAR}
    assert world.coin.balance_of(member) == 0
    assert world.coin.balance_of(world.pool.address) == 2 * FEE
    assert licensed(world, MEMBER, asset_id, old_end - 1)
    assert licensed(world, MEMBER, asset_id, old_end)
    assert licensed(world, MEMBER, asset_id, old_end + YEAR - 1)
    assert not licensed(world, MEMBER, asset_id, old_end + YEAR)


def test_renewing_a_lapsed_term_starts_now_and_leaves_an_unlicensed_gap(world: World) -> None:
    asset_id = active_pool(world)
    member = address(world, MEMBER)
    old_end = join(world, MEMBER).value
    advance(world.w3, YEAR + 30 * DAY)
    world.fund(MEMBER, FEE)

    result = world.pool_as(MEMBER).renew(FEE)

    start = block_time(world, result)
    assert start >= old_end + 30 * DAY
    [event] = world.pool.events(result, "MembershipRenewed")
    assert event == {"member": member, "tier": 0, "fee": FEE, "validFrom": start, "validUntil": start + YEAR}
    assert licensed(world, MEMBER, asset_id, old_end - 1)
    assert not licensed(world, MEMBER, asset_id, old_end)
    assert not licensed(world, MEMBER, asset_id, old_end + 15 * DAY)
    assert not licensed(world, MEMBER, asset_id, start - 1)
    assert licensed(world, MEMBER, asset_id, start)
    assert licensed(world, MEMBER, asset_id, start + YEAR - 1)
    assert not licensed(world, MEMBER, asset_id, start + YEAR)


def test_only_a_past_or_present_member_can_renew(world: World) -> None:
    active_pool(world)
    world.fund(STRANGER, FEE)

    with pytest.raises(PatentPoolNotMember) as exc:
        world.pool_as(STRANGER).renew(FEE)

    assert error_args(exc.value) == {"account": address(world, STRANGER)}
    assert world.coin.balance_of(world.pool.address) == 0


def test_a_renewal_charges_the_members_tier_at_its_current_fee(world: World) -> None:
    active_pool(world)
    old_end = join(world, MEMBER, tier=2, fee=ENTERPRISE_FEE).value
    world.pool.set_tier_fee(2, 1_200 * USDC)
    advance(world.w3, world.pool.bounds()["changeDelay"])
    world.pool.apply_parameter_change(Parameter.TIER_FEE_2)
    world.fund(MEMBER, 1_200 * USDC)

    with pytest.raises(PatentPoolFeeAboveMax) as exc:
        world.pool_as(MEMBER).renew(ENTERPRISE_FEE)
    assert error_args(exc.value) == {"fee": 1_200 * USDC, "maxFee": ENTERPRISE_FEE}

    result = world.pool_as(MEMBER).renew(1_200 * USDC)
    [event] = world.pool.events(result, "MembershipRenewed")
    assert (event["tier"], event["fee"], event["validUntil"]) == (2, 1_200 * USDC, old_end + YEAR)
    assert world.coin.balance_of(world.pool.address) == ENTERPRISE_FEE + 1_200 * USDC


# ------------------------------------------------------------------ offers


def test_an_offer_records_its_terms_and_emits_them(world: World) -> None:
    asset_id = active_pool(world)
    start = now(world.w3) + DAY
    licensee = address(world, LICENSEE)

    result = world.pool.offer_licence(licensee, [asset_id], start, start + YEAR, PRICE, TERMS)

    [event] = world.pool.events(result, "LicenceOffered")
    assert event == {
        "offerId": 1,
        "licensee": licensee,
        "assetIds": [asset_id],
        "start": start,
        "end": start + YEAR,
        "price": PRICE,
        "termsHash": TERMS,
    }
    assert result.value == 1
    assert world.pool.offer(1) == {
        "licensee": licensee,
        "start": start,
        "end": start + YEAR,
        "price": PRICE,
        "termsHash": TERMS,
        "open": True,
        "licenceId": 0,
        "acceptBy": block_time(world, result) + 30 * DAY,
        "assetIds": [asset_id],
    }
    assert world.pool.counts()["offers"] == 1


@pytest.mark.parametrize(
    ("start_offset", "end_offset"),
    [
        pytest.param(1000, 1000, id="empty"),
        pytest.param(1000, 999, id="reversed"),
        pytest.param(-1000, -1, id="ended"),
        pytest.param(-1000, 0, id="ends-now"),
    ],
)
def test_an_offer_needs_a_non_empty_period_ending_in_the_future(
    world: World, start_offset: int, end_offset: int
) -> None:
    active_pool(world)
    # The offer is mined one second (at least) after `now`, so an end at `now` lies in the past.
    t = now(world.w3)
    start, end = t + start_offset, t + end_offset

    with pytest.raises(PatentPoolInvalidPeriod) as exc:
        world.pool.offer_licence(address(world, LICENSEE), [], start, end, PRICE, TERMS)

    assert error_args(exc.value) == {"start": start, "end": end}
    assert world.pool.counts()["offers"] == 0


def test_an_offer_may_name_at_most_256_assets(world: World) -> None:
    active_pool(world)
    t = now(world.w3)

    with pytest.raises(PatentPoolTooManyAssets) as exc:
        world.pool.offer_licence(address(world, LICENSEE), list(range(1, 258)), t, t + YEAR, PRICE, TERMS)

    assert error_args(exc.value) == {"count": 257}


@pytest.mark.parametrize(
    ("order", "index"),
    [
        pytest.param((1, 0), 1, id="descending"),
        pytest.param((0, 0), 1, id="duplicate"),
        pytest.param((0, 1, 1), 2, id="duplicate-at-end"),
    ],
)
def test_an_offers_asset_ids_must_be_strictly_ascending(world: World, order: tuple[int, ...], index: int) -> None:
    first = active_pool(world)
    second = world.founder_with_asset(FOUNDER_2)
    ids = sorted([first, second])
    t = now(world.w3)

    with pytest.raises(PatentPoolAssetsNotAscending) as exc:
        world.pool.offer_licence(address(world, LICENSEE), [ids[i] for i in order], t, t + YEAR, PRICE, TERMS)

    assert error_args(exc.value) == {"index": index}


def test_an_offer_may_only_name_assets_in_the_pool(world: World) -> None:
    asset_id = active_pool(world)
    outside = world.family(FOUNDER, {"US": G, "CN": G})
    t = now(world.w3)

    for missing in (outside, 999):
        ids = sorted([asset_id, missing])
        with pytest.raises(PatentPoolAssetNotInPool) as exc:
            world.pool.offer_licence(address(world, LICENSEE), ids, t, t + YEAR, PRICE, TERMS)
        assert error_args(exc.value) == {"assetId": missing}
    assert world.pool.counts()["offers"] == 0


def test_no_offer_is_made_while_the_pool_incubates(world: World) -> None:
    world.founder_with_asset(FOUNDER)
    t = now(world.w3)

    with pytest.raises(PatentPoolInvalidLifecycle) as exc:
        world.pool.offer_licence(address(world, LICENSEE), [], t, t + YEAR, PRICE, TERMS)

    assert error_args(exc.value) == {"current": 0}


def test_only_the_operator_makes_offers(world: World) -> None:
    active_pool(world)
    t = now(world.w3)

    with pytest.raises(AccessControlUnauthorizedAccount) as exc:
        world.pool_as(LICENSEE).offer_licence(address(world, LICENSEE), [], t, t + YEAR, 0, TERMS)

    assert error_args(exc.value)["account"] == address(world, LICENSEE)
    assert world.pool.counts()["offers"] == 0


# ------------------------------------------------------------------ accept, cancel, revoke


def test_accepting_an_offer_pays_its_price_and_grants_the_licence(world: World) -> None:
    asset_id = active_pool(world)
    licensee = address(world, LICENSEE)
    start = now(world.w3) + DAY
    offer_id = offer(world, LICENSEE, [asset_id], start, start + YEAR)
    world.fund(LICENSEE, PRICE + 3)

    result = world.pool_as(LICENSEE).accept_offer(offer_id)

    [event] = world.pool.events(result, "LicenceGranted")
    assert event == {
        "licenceId": 1,
        "offerId": offer_id,
        "licensee": licensee,
        "start": start,
        "end": start + YEAR,
        "price": PRICE,
    }
    assert result.value == 1
    assert world.pool.licence(1) == {
        "licensee": licensee,
        "offerId": offer_id,
        "start": start,
        "end": start + YEAR,
        "grantedAt": block_time(world, result),
        "price": PRICE,
        "wholePool": False,
        "revoked": False,
        "revokedAt": 0,
    }
    assert world.pool.offer(offer_id)["open"] is False
    assert world.pool.offer(offer_id)["licenceId"] == 1
    assert world.coin.balance_of(licensee) == 3
    assert world.coin.balance_of(world.pool.address) == PRICE
    assert world.pool.counts()["licences"] == 1


def test_a_whole_pool_licence_is_marked_as_such(world: World) -> None:
    active_pool(world)

    licence_id = licence(world, LICENSEE)

    assert world.pool.licence(licence_id)["wholePool"] is True
    assert world.pool.offer(world.pool.licence(licence_id)["offerId"])["assetIds"] == []


def test_an_offer_that_does_not_exist_cannot_be_accepted(world: World) -> None:
    active_pool(world)

    with pytest.raises(PatentPoolOfferNotOpen) as exc:
        world.pool_as(LICENSEE).accept_offer(99)

    assert error_args(exc.value) == {"offerId": 99}


def test_only_the_named_licensee_accepts_an_offer(world: World) -> None:
    active_pool(world)
    offer_id = offer(world, LICENSEE)
    world.fund(OTHER, PRICE)

    with pytest.raises(PatentPoolNotOfferee) as exc:
        world.pool_as(OTHER).accept_offer(offer_id)

    assert error_args(exc.value) == {
        "offerId": offer_id,
        "caller": address(world, OTHER),
        "licensee": address(world, LICENSEE),
    }
    assert world.pool.offer(offer_id)["open"] is True
    assert world.coin.balance_of(address(world, OTHER)) == PRICE


def test_an_offer_whose_period_ended_has_expired(world: World) -> None:
    active_pool(world)
    t = now(world.w3)
    offer_id = offer(world, LICENSEE, start=t, end=t + 100)
    world.fund(LICENSEE, PRICE)
    advance(world.w3, 200)

    with pytest.raises(PatentPoolOfferExpired) as exc:
        world.pool_as(LICENSEE).accept_offer(offer_id)

    assert error_args(exc.value) == {"offerId": offer_id, "end": t + 100}
    assert world.coin.balance_of(address(world, LICENSEE)) == PRICE


def test_a_cancelled_offer_cannot_be_accepted_or_cancelled_again(world: World) -> None:
    active_pool(world)
    offer_id = offer(world, LICENSEE)
    world.fund(LICENSEE, PRICE)

    result = world.pool.cancel_offer(offer_id)

    assert world.pool.events(result, "OfferCancelled") == [{"offerId": offer_id}]
    assert world.pool.offer(offer_id)["open"] is False
    with pytest.raises(PatentPoolOfferNotOpen) as exc:
        world.pool_as(LICENSEE).accept_offer(offer_id)
    assert error_args(exc.value) == {"offerId": offer_id}
    with pytest.raises(PatentPoolOfferNotOpen) as exc:
        world.pool.cancel_offer(offer_id)
    assert error_args(exc.value) == {"offerId": offer_id}
    assert world.coin.balance_of(world.pool.address) == 0


def test_an_accepted_offer_cannot_be_accepted_again_nor_cancelled(world: World) -> None:
    active_pool(world)
    offer_id = offer(world, LICENSEE)
    world.fund(LICENSEE, 2 * PRICE)
    world.pool_as(LICENSEE).accept_offer(offer_id)

    with pytest.raises(PatentPoolOfferNotOpen) as exc:
        world.pool_as(LICENSEE).accept_offer(offer_id)
    assert error_args(exc.value) == {"offerId": offer_id}
    with pytest.raises(PatentPoolOfferNotOpen) as exc:
        world.pool.cancel_offer(offer_id)
    assert error_args(exc.value) == {"offerId": offer_id}
    assert world.coin.balance_of(world.pool.address) == PRICE


def test_a_cancelled_offer_that_never_existed_is_not_open(world: World) -> None:
    active_pool(world)

    with pytest.raises(PatentPoolOfferNotOpen) as exc:
        world.pool.cancel_offer(7)

    assert error_args(exc.value) == {"offerId": 7}


def test_a_second_overlapping_whole_pool_licence_is_refused_until_the_first_is_revoked(world: World) -> None:
    active_pool(world)
    t = now(world.w3)
    first = licence(world, LICENSEE, start=t, end=t + YEAR)
    second_offer = offer(world, LICENSEE, start=t + YEAR - 1, end=t + 2 * YEAR)
    world.fund(LICENSEE, PRICE)

    with pytest.raises(PatentPoolLicenceOverlaps) as exc:
        world.pool_as(LICENSEE).accept_offer(second_offer)
    assert error_args(exc.value) == {"licenceId": first, "assetId": 0}
    assert world.pool.offer(second_offer)["open"] is True

    world.pool.revoke_licence(first, REASON)
    second = world.pool_as(LICENSEE).accept_offer(second_offer).value

    assert second == first + 1
    assert world.pool.licence(second)["revoked"] is False
    assert world.coin.balance_of(world.pool.address) == 2 * PRICE


def test_a_whole_pool_licence_may_start_exactly_when_the_previous_one_ends(world: World) -> None:
    asset_id = active_pool(world)
    t = now(world.w3)
    licence(world, LICENSEE, start=t, end=t + YEAR)

    licence(world, LICENSEE, start=t + YEAR, end=t + 2 * YEAR)

    assert licensed(world, LICENSEE, asset_id, t + YEAR - 1)
    assert licensed(world, LICENSEE, asset_id, t + YEAR)
    assert licensed(world, LICENSEE, asset_id, t + 2 * YEAR - 1)
    assert not licensed(world, LICENSEE, asset_id, t + 2 * YEAR)


def test_an_asset_licence_overlapping_one_for_the_same_asset_is_refused(world: World) -> None:
    first_asset = active_pool(world)
    second_asset = world.founder_with_asset(FOUNDER_2)
    t = now(world.w3)
    first = licence(world, LICENSEE, [first_asset], start=t, end=t + YEAR)
    # Other scopes do not conflict: the other asset alone, and the whole pool.
    licence(world, LICENSEE, [second_asset], start=t, end=t + YEAR)
    licence(world, LICENSEE, [], start=t, end=t + YEAR)
    overlapping = offer(world, LICENSEE, [first_asset], start=t + YEAR - 1, end=t + 2 * YEAR)
    world.fund(LICENSEE, PRICE)

    with pytest.raises(PatentPoolLicenceOverlaps) as exc:
        world.pool_as(LICENSEE).accept_offer(overlapping)

    assert error_args(exc.value) == {"licenceId": first, "assetId": first_asset}
    assert world.pool.counts()["licences"] == 3


def test_a_licence_for_an_earlier_period_than_the_latest_is_refused(world: World) -> None:
    """Licences of one scope are granted in time order (IPatentPool.PatentPoolLicenceOverlaps)."""
    active_pool(world)
    t = now(world.w3)
    later = licence(world, LICENSEE, start=t + 2 * YEAR, end=t + 3 * YEAR)
    offer_id = offer(world, LICENSEE, (), t, t + YEAR, PRICE)
    world.fund(LICENSEE, PRICE)
    with pytest.raises(PatentPoolLicenceOverlaps) as exc:
        world.pool_as(LICENSEE).accept_offer(offer_id)
    assert exc.value.error_args == {"licenceId": later, "assetId": 0}


def test_a_licence_starting_when_the_latest_ends_is_accepted(world: World) -> None:
    asset_id = active_pool(world)
    t = now(world.w3)
    licence(world, LICENSEE, start=t, end=t + YEAR)
    licence(world, LICENSEE, start=t + YEAR, end=t + 2 * YEAR)
    assert licensed(world, LICENSEE, asset_id, t + DAY)
    assert licensed(world, LICENSEE, asset_id, t + YEAR + DAY)
    assert not licensed(world, LICENSEE, asset_id, t + 2 * YEAR + DAY)


def test_revoking_a_licence_emits_the_reason_and_ends_its_cover_from_then_on(world: World) -> None:
    asset_id = active_pool(world)
    licence_id = licence(world, LICENSEE)
    t = now(world.w3)
    assert licensed(world, LICENSEE, asset_id, t)
    advance(world.w3, DAY)

    result = world.pool.revoke_licence(licence_id, REASON)
    revoked_at = block_time(world, result)

    assert world.pool.events(result, "LicenceRevoked") == [
        {"licenceId": licence_id, "licensee": address(world, LICENSEE), "reasonHash": REASON}
    ]
    assert (world.pool.licence(licence_id)["revoked"], world.pool.licence(licence_id)["revokedAt"]) == (
        True,
        revoked_at,
    )
    assert licensed(world, LICENSEE, asset_id, revoked_at - 1)
    assert not licensed(world, LICENSEE, asset_id, revoked_at)
    assert not licensed(world, LICENSEE, asset_id, revoked_at + DAY)


def test_a_revoked_or_unknown_licence_cannot_be_revoked(world: World) -> None:
    active_pool(world)
    licence_id = licence(world, LICENSEE)
    world.pool.revoke_licence(licence_id, REASON)

    for target in (licence_id, 42):
        with pytest.raises(PatentPoolLicenceNotRevocable) as exc:
            world.pool.revoke_licence(target, REASON)
        assert error_args(exc.value) == {"licenceId": target}


def test_only_the_operator_revokes_a_licence(world: World) -> None:
    active_pool(world)
    licence_id = licence(world, LICENSEE)

    with pytest.raises(AccessControlUnauthorizedAccount):
        world.pool_as(LICENSEE).revoke_licence(licence_id, REASON)

    assert world.pool.licence(licence_id)["revoked"] is False


# ------------------------------------------------------------------ isLicensed


def test_a_member_is_licensed_inside_its_term_only(world: World) -> None:
    asset_id = active_pool(world)
    contributed = world.pool.pool_asset(asset_id)["contributedAt"]
    advance(world.w3, 10 * DAY)
    result = join(world, MEMBER)
    start, end = block_time(world, result), result.value

    assert not licensed(world, MEMBER, asset_id, contributed)
    assert not licensed(world, MEMBER, asset_id, start - 1)
    assert licensed(world, MEMBER, asset_id, start)
    assert licensed(world, MEMBER, asset_id, end - 1)
    assert not licensed(world, MEMBER, asset_id, end)
    assert not licensed(world, STRANGER, asset_id, start)


def test_a_whole_pool_licensee_is_licensed_for_every_asset_inside_the_licence_only(world: World) -> None:
    first = active_pool(world)
    second = world.founder_with_asset(FOUNDER_2)
    start = now(world.w3) + 1000
    licence(world, LICENSEE, start=start, end=start + 1000)

    for asset_id in (first, second):
        assert not licensed(world, LICENSEE, asset_id, start - 1)
        assert licensed(world, LICENSEE, asset_id, start)
        assert licensed(world, LICENSEE, asset_id, start + 999)
        assert not licensed(world, LICENSEE, asset_id, start + 1000)


def test_an_asset_licensee_is_licensed_for_the_covered_asset_only(world: World) -> None:
    covered = active_pool(world)
    other = world.founder_with_asset(FOUNDER_2)
    licence(world, LICENSEE, [covered])
    t = now(world.w3)

    assert licensed(world, LICENSEE, covered, t)
    assert not licensed(world, LICENSEE, other, t)


def test_a_revoked_licensee_is_not_licensed_for_the_rest_of_the_period(world: World) -> None:
    asset_id = active_pool(world)
    t = now(world.w3)
    whole = licence(world, LICENSEE, start=t, end=t + YEAR)
    specific = licence(world, OTHER, [asset_id], start=t, end=t + YEAR)
    advance(world.w3, DAY)

    revoked_at = block_time(world, world.pool.revoke_licence(whole, REASON))
    world.pool.revoke_licence(specific, REASON)

    for who in (LICENSEE, OTHER):
        assert licensed(world, who, asset_id, t)
        assert not licensed(world, who, asset_id, revoked_at + 1)
        assert not licensed(world, who, asset_id, t + YEAR // 2)


def test_a_revocation_does_not_rewrite_past_answers(world: World) -> None:
    """Issue 14, point 5: before, a revocation turned every past `isLicensed` of the licence from
    true to false, so a licence certificate for a past time became false after the fact."""
    asset_id = active_pool(world)
    t = now(world.w3)
    whole = licence(world, LICENSEE, start=t - DAY, end=t + YEAR)
    specific = licence(world, OTHER, [asset_id], start=t - DAY, end=t + YEAR)
    advance(world.w3, 30 * DAY)
    # The latest block's second may be the revocation's own: from that second on it applies.
    before = now(world.w3) - 1
    past = [t, t + DAY, before]
    answers = {(who, at): licensed(world, who, asset_id, at) for who in (LICENSEE, OTHER) for at in past}
    assert all(answers.values())

    world.pool.revoke_licence(whole, REASON)
    world.pool.revoke_licence(specific, REASON)
    advance(world.w3, DAY)

    assert {(who, at): licensed(world, who, asset_id, at) for who in (LICENSEE, OTHER) for at in past} == answers
    assert not licensed(world, LICENSEE, asset_id, now(world.w3))
    assert not licensed(world, OTHER, asset_id, now(world.w3))


def test_an_upheld_dispute_does_not_rewrite_past_answers(world: World) -> None:
    """Issue 14, point 5: before, suspending an asset turned every past answer for it false."""
    asset_id = active_pool(world)
    join(world, MEMBER)
    t = now(world.w3)
    licence(world, LICENSEE, start=t, end=t + YEAR)
    licence(world, OTHER, [asset_id], start=t, end=t + YEAR)
    advance(world.w3, 10 * DAY)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_id, TERMS).value

    result = world.pool.resolve_dispute(dispute_id, True, REASON)
    suspended_at = block_time(world, result)

    assert world.pool.pool_asset(asset_id)["suspendedAt"] == suspended_at
    for who in (MEMBER, LICENSEE, OTHER):
        assert licensed(world, who, asset_id, t + DAY)
        assert licensed(world, who, asset_id, suspended_at - 1)
        assert not licensed(world, who, asset_id, suspended_at)
        assert not licensed(world, who, asset_id, suspended_at + DAY)


def test_a_licence_revoked_before_it_starts_never_covers_and_frees_its_slot_from_its_start(world: World) -> None:
    asset_id = active_pool(world)
    t = now(world.w3)
    future = licence(world, LICENSEE, start=t + YEAR, end=t + 2 * YEAR)
    world.pool.revoke_licence(future, REASON)
    earlier = offer(world, LICENSEE, start=t + DAY, end=t + YEAR)
    world.fund(LICENSEE, PRICE)

    # Licences of a scope stay in time order: none may start before the revoked one's start.
    with pytest.raises(PatentPoolLicenceOverlaps) as exc:
        world.pool_as(LICENSEE).accept_offer(earlier)
    assert error_args(exc.value) == {"licenceId": future, "assetId": 0}

    licence(world, LICENSEE, start=t + YEAR, end=t + 3 * YEAR)
    assert licensed(world, LICENSEE, asset_id, t + YEAR)
    assert not licensed(world, LICENSEE, asset_id, t + DAY)


def test_nobody_is_licensed_for_an_asset_that_is_not_in_the_pool(world: World) -> None:
    active_pool(world)
    never_contributed = world.family(FOUNDER, {"US": G, "CN": G})
    join(world, MEMBER)
    licence(world, LICENSEE)
    t = now(world.w3)

    for who in (MEMBER, LICENSEE):
        assert not licensed(world, who, never_contributed, t)
        assert not licensed(world, who, 999, t)


def test_nobody_is_licensed_for_an_asset_before_it_was_contributed(world: World) -> None:
    active_pool(world)
    join(world, MEMBER)
    licence(world, LICENSEE)
    advance(world.w3, DAY)
    later = world.founder_with_asset(FOUNDER_2)
    contributed = world.pool.pool_asset(later)["contributedAt"]

    assert not licensed(world, MEMBER, later, contributed - 1)
    assert licensed(world, MEMBER, later, contributed)
    # A whole-pool licence covers the assets in the pool when it was accepted, not later ones.
    assert not licensed(world, LICENSEE, later, contributed)


def test_a_whole_pool_licence_covers_the_assets_in_the_pool_when_it_was_accepted(world: World) -> None:
    """Issue 14, point 6: before, a whole-pool licence also covered every asset contributed after
    it was paid for, whose founders never shared its price."""
    first = active_pool(world)
    t = now(world.w3)
    licence(world, LICENSEE, start=t, end=t + YEAR)
    advance(world.w3, DAY)
    later = world.founder_with_asset(FOUNDER_2)
    at = now(world.w3) + DAY

    assert licensed(world, LICENSEE, first, at)
    assert not licensed(world, LICENSEE, later, at)
    licence(world, LICENSEE, [later], start=t, end=t + YEAR)  # the later asset is licensed on its own
    assert licensed(world, LICENSEE, later, at)


def test_an_offer_cannot_be_accepted_after_its_deadline(world: World) -> None:
    """Issue 14, point 6: before, an offer stayed open until its period ended, however much the
    pool (and so what the price bought) had changed meanwhile."""
    active_pool(world)
    t = now(world.w3)
    result = world.pool.offer_licence(address(world, LICENSEE), [], t, t + 3 * YEAR, PRICE, TERMS)
    offer_id = result.value
    accept_by = block_time(world, result) + 30 * DAY
    assert world.pool.events(result, "LicenceOfferDeadline") == [{"offerId": offer_id, "acceptBy": accept_by}]
    assert world.pool.offer(offer_id)["acceptBy"] == accept_by
    world.fund(LICENSEE, PRICE)
    advance(world.w3, 30 * DAY + 1)

    with pytest.raises(PatentPoolAcceptanceClosed) as exc:
        world.pool_as(LICENSEE).accept_offer(offer_id)

    assert error_args(exc.value) == {"offerId": offer_id, "acceptBy": accept_by}
    assert world.pool.offer(offer_id)["open"] is True


def test_a_member_cannot_prepay_more_than_one_term_ahead(world: World) -> None:
    """Issue 14, point 6: before, a member could renew again and again, paying years ahead."""
    active_pool(world)
    join(world, MEMBER)
    world.fund(MEMBER, 2 * FEE)
    ahead = world.pool_as(MEMBER).renew(FEE).value

    with pytest.raises(PatentPoolRenewalTooEarly) as exc:
        world.pool_as(MEMBER).renew(FEE)
    assert error_args(exc.value) == {"account": address(world, MEMBER), "validUntil": ahead}

    advance(world.w3, YEAR)
    assert world.pool_as(MEMBER).renew(FEE).value == ahead + YEAR


def test_a_renewal_in_the_second_a_withdrawal_is_announced_covers_the_asset(world: World) -> None:
    """Issue 14, point 6: a renewal mined in the same second as the withdrawal (here its
    announcement, from which on new cover ends at the effective date) covers the asset it paid for,
    whichever of the two came first in that second."""
    withdrawn = active_pool(world)
    first_end = join(world, MEMBER).value
    world.fund(MEMBER, FEE)
    w3 = world.w3
    second = now(w3) + 100
    w3.provider.make_request("evm_setNextBlockTimestamp", [second])  # type: ignore[arg-type]
    announced = world.pool_as(FOUNDER).announce_withdrawal(withdrawn)
    w3.provider.make_request("evm_setNextBlockTimestamp", [second])  # type: ignore[arg-type]
    renewed = world.pool_as(MEMBER).renew(FEE)
    assert block_time(world, announced) == block_time(world, renewed) == second
    assert renewed.block_number > announced.block_number
    advance(w3, NOTICE)
    world.pool_as(OTHER).complete_withdrawal(withdrawn)

    assert licensed(world, MEMBER, withdrawn, first_end)
    assert licensed(world, MEMBER, withdrawn, first_end + YEAR - 1)


def test_a_suspended_asset_is_licensed_to_nobody(world: World) -> None:
    suspended = active_pool(world)
    kept = world.founder_with_asset(FOUNDER_2)
    join(world, MEMBER)
    licence(world, LICENSEE)
    licence(world, OTHER, [suspended])
    dispute_id = world.pool_as(MEMBER).open_dispute(suspended, TERMS).value

    t = block_time(world, world.pool.resolve_dispute(dispute_id, True, REASON))

    for who in (MEMBER, LICENSEE, OTHER):
        assert not licensed(world, who, suspended, t)
    assert licensed(world, MEMBER, kept, t)
    assert licensed(world, LICENSEE, kept, t)


# ------------------------------------------------------------------ withdrawal


def test_only_the_contributor_announces_a_withdrawal(world: World) -> None:
    asset_id = active_pool(world)
    world.pool.admit_founder(address(world, FOUNDER_2))

    with pytest.raises(PatentPoolNotContributor) as exc:
        world.pool_as(FOUNDER_2).announce_withdrawal(asset_id)

    assert error_args(exc.value) == {
        "assetId": asset_id,
        "caller": address(world, FOUNDER_2),
        "founder": address(world, FOUNDER),
    }
    assert world.pool.pool_asset(asset_id)["withdrawalEffectiveAt"] == 0


def test_announcing_a_withdrawal_sets_when_it_takes_effect(world: World) -> None:
    asset_id = active_pool(world)

    result = world.pool_as(FOUNDER).announce_withdrawal(asset_id)

    effective = block_time(world, result) + NOTICE
    assert world.pool.events(result, "AssetWithdrawalAnnounced") == [
        {"assetId": asset_id, "founder": address(world, FOUNDER), "effectiveAt": effective}
    ]
    assert result.value == effective
    assert world.pool.pool_asset(asset_id)["withdrawalEffectiveAt"] == effective
    assert world.pool.total_weight() == 2


def test_a_withdrawal_cannot_be_announced_twice(world: World) -> None:
    asset_id = active_pool(world)
    effective = world.pool_as(FOUNDER).announce_withdrawal(asset_id).value

    with pytest.raises(PatentPoolWithdrawalAlreadyAnnounced) as exc:
        world.pool_as(FOUNDER).announce_withdrawal(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "effectiveAt": effective}


def test_a_withdrawal_is_not_due_unless_announced_and_its_notice_has_run_out(world: World) -> None:
    asset_id = active_pool(world)

    with pytest.raises(PatentPoolWithdrawalNotDue) as exc:
        world.pool_as(OTHER).complete_withdrawal(asset_id)
    assert error_args(exc.value) == {"assetId": asset_id, "effectiveAt": 0}

    effective = world.pool_as(FOUNDER).announce_withdrawal(asset_id).value
    advance(world.w3, NOTICE - 60)
    with pytest.raises(PatentPoolWithdrawalNotDue) as exc:
        world.pool_as(OTHER).complete_withdrawal(asset_id)
    assert error_args(exc.value) == {"assetId": asset_id, "effectiveAt": effective}
    assert world.pool.pool_asset(asset_id)["withdrawnAt"] == 0
    assert world.pool.total_weight() == 2


def test_after_the_notice_anyone_completes_the_withdrawal_and_the_weight_leaves(world: World) -> None:
    asset_id = active_pool(world)
    kept = world.founder_with_asset(FOUNDER_2, {"DE": G, "JP": G, "US": G})

    result = withdraw(world, asset_id)

    assert world.pool.events(result, "AssetWithdrawn") == [
        {"assetId": asset_id, "founder": address(world, FOUNDER), "weight": 2}
    ]
    standing = world.pool.pool_asset(asset_id)
    assert standing["withdrawnAt"] == block_time(world, result)
    assert standing["weight"] == 0
    assert world.pool.founder_weight(address(world, FOUNDER)) == 0
    assert world.pool.total_weight() == 3
    assert world.pool.pool_asset(kept)["weight"] == 3
    for attempt in (world.pool_as(OTHER).complete_withdrawal, world.pool_as(FOUNDER).announce_withdrawal):
        with pytest.raises(PatentPoolAssetNotInPool) as exc:
            attempt(asset_id)
        assert error_args(exc.value) == {"assetId": asset_id}


def test_cover_paid_before_a_withdrawal_survives_it_and_cover_paid_after_does_not(world: World) -> None:
    withdrawn = active_pool(world)
    kept = world.founder_with_asset(FOUNDER_2)
    t = now(world.w3)
    join(world, MEMBER)
    licence(world, LICENSEE, start=t, end=t + YEAR)
    licence(world, OTHER, [withdrawn], start=t, end=t + YEAR)

    withdraw(world, withdrawn)
    join(world, STRANGER)
    late_whole = now(world.w3)
    licence(world, 7, start=late_whole, end=late_whole + YEAR)
    after = now(world.w3) + 1

    for who in (MEMBER, LICENSEE, OTHER):
        assert licensed(world, who, withdrawn, after), who
    for who in (STRANGER, 7):
        assert not licensed(world, who, withdrawn, after), who
        assert licensed(world, who, kept, after), who


def test_a_renewal_paid_after_a_withdrawal_does_not_cover_the_withdrawn_asset(world: World) -> None:
    withdrawn = active_pool(world)
    kept = world.founder_with_asset(FOUNDER_2)
    first_end = join(world, MEMBER).value
    withdraw(world, withdrawn)
    world.fund(MEMBER, FEE)

    world.pool_as(MEMBER).renew(FEE)

    assert licensed(world, MEMBER, withdrawn, first_end - 1)
    assert not licensed(world, MEMBER, withdrawn, first_end)
    assert licensed(world, MEMBER, kept, first_end)


def test_an_offer_for_an_asset_withdrawn_before_acceptance_cannot_be_accepted(world: World) -> None:
    world.pool.set_withdrawal_notice(20 * DAY)  # shorter than the offer's 30 days to accept
    asset_id = active_pool(world)
    offer_id = offer(world, LICENSEE, [asset_id], end=now(world.w3) + 2 * YEAR)
    world.pool_as(FOUNDER).announce_withdrawal(asset_id)
    advance(world.w3, 20 * DAY)
    world.pool_as(OTHER).complete_withdrawal(asset_id)
    world.fund(LICENSEE, PRICE)

    with pytest.raises(PatentPoolAssetNotInPool) as exc:
        world.pool_as(LICENSEE).accept_offer(offer_id)

    assert error_args(exc.value) == {"assetId": asset_id}
    assert world.coin.balance_of(address(world, LICENSEE)) == PRICE


# ------------------------------------------------------------------ pause and close


def test_pause_blocks_joining_and_unpause_restores_it(world: World) -> None:
    active_pool(world)
    offer_id = offer(world, LICENSEE)
    world.fund(MEMBER, FEE)
    world.fund(LICENSEE, PRICE)

    world.pool.pause()

    assert world.pool.paused() is True
    with pytest.raises(EnforcedPause) as exc:
        world.pool_as(MEMBER).join(0, FEE)
    assert exc.value.error_args == {}
    with pytest.raises(EnforcedPause):
        world.pool_as(LICENSEE).accept_offer(offer_id)
    assert world.coin.balance_of(world.pool.address) == 0

    world.pool.unpause()

    assert world.pool.paused() is False
    world.pool_as(MEMBER).join(0, FEE)
    world.pool_as(LICENSEE).accept_offer(offer_id)
    assert world.coin.balance_of(world.pool.address) == FEE + PRICE


def test_only_the_operator_pauses(world: World) -> None:
    active_pool(world)

    with pytest.raises(AccessControlUnauthorizedAccount):
        world.pool_as(MEMBER).pause()

    assert world.pool.paused() is False


def test_a_closed_pool_takes_no_members_or_licences_but_pays_out_claims(world: World) -> None:
    asset_id = active_pool(world)
    join(world, MEMBER)
    pending_offer = offer(world, LICENSEE)
    world.fund(LICENSEE, PRICE)
    world.fund(STRANGER, FEE)
    founder = address(world, FOUNDER)

    result = world.pool.close()

    assert world.pool.events(result, "LifecycleChanged") == [{"from": 1, "to": 2}]
    assert world.pool.profile()["lifecycle"] == 2
    t = now(world.w3)
    attempts: list[Any] = [
        lambda: world.pool_as(STRANGER).join(0, FEE),
        lambda: world.pool.offer_licence(address(world, LICENSEE), [], t, t + YEAR, PRICE, TERMS),
        lambda: world.pool_as(LICENSEE).accept_offer(pending_offer),
        lambda: world.pool_as(MEMBER).renew(FEE),
    ]
    for attempt in attempts:
        with pytest.raises(PatentPoolInvalidLifecycle) as exc:
            attempt()
        assert error_args(exc.value) == {"current": 2}

    claimed = world.pool_as(FOUNDER).claim()
    assert world.pool.events(claimed, "RevenueClaimed") == [{"account": founder, "amount": 90 * USDC}]
    assert world.coin.balance_of(founder) == 90 * USDC
    assert world.pool.claim().value == 10 * USDC
    assert world.coin.balance_of(world.pool.address) == 0
    assert licensed(world, MEMBER, asset_id, now(world.w3))

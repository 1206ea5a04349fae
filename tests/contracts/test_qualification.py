"""The pool's qualification rule at its edges, and every way `contribute` can refuse an asset.

Default rule of a fresh pool: jurisdictions US, CN, DE, JP; at least 2 verified grants across
them; stability score at least 6000 bps. An asset's weight is its verified grants there.
"""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from registry.reverts import (
    AccessControlUnauthorizedAccount,
    PatentPoolAssetAlreadyContributed,
    PatentPoolInvalidLifecycle,
    PatentPoolInvalidQualification,
    PatentPoolNotAssetOwner,
    PatentPoolNotFounder,
    PatentPoolNotQualified,
    PatentPoolScoreTooLow,
)
from registry.types import PatentStatus
from tests.conftest import World, advance
from tests.contracts._library import Offices, library_fixtures

G: int = PatentStatus.GRANTED
P: int = PatentStatus.PENDING
L: int = PatentStatus.LAPSED
R: int = PatentStatus.REVOKED

DEFAULT_RULE = {"jurisdictions": ["US", "CN", "DE", "JP"], "minGranted": 2, "minScoreBps": 6000}


def error_args(exc: Any) -> dict[str, Any]:
    """A revert's arguments with addresses checksummed (eth_abi decodes them lower-case)."""
    return {
        k: Web3.to_checksum_address(v) if isinstance(v, str) and v.startswith("0x") and len(v) == 42 else v
        for k, v in exc.error_args.items()
    }


def address(world: World, i: int) -> str:
    return world.keys[i].address


def admitted_founder_with_family(world: World, who: int, offices: Any, score: int = 8000) -> int:
    """Admit `who` and register (but do not contribute) a family it owns."""
    world.pool.admit_founder(address(world, who))
    return world.family(who, offices, score)


def assert_not_in_pool(world: World, asset_id: int, founder: int) -> None:
    assert world.pool.pool_asset(asset_id)["contributedAt"] == 0
    assert world.pool.founder_weight(address(world, founder)) == 0
    assert world.pool.total_weight() == 0
    assert world.pool.counts()["assets"] == 0


LIBRARY: list[tuple[int, Offices, int, int]] = [(1, {"US": G, "CN": G}, 8000, 1)]


module_world, world = library_fixtures(LIBRARY)


# ------------------------------------------------------------------ the default rule


def test_a_fresh_pool_requires_two_grants_in_us_cn_de_jp_and_a_score_of_6000(world: World) -> None:
    assert world.pool.qualification() == DEFAULT_RULE


@pytest.mark.parametrize(
    ("offices", "granted"),
    [
        pytest.param({"US": G, "CN": G}, 2, id="US+CN"),
        pytest.param({"DE": G, "JP": G}, 2, id="DE+JP"),
        pytest.param([("US", G), ("US", G)], 2, id="two-US-grants"),
        pytest.param({"US": G, "CN": G, "DE": G, "JP": G, "EP": G, "KR": G}, 4, id="only-required-count"),
    ],
)
def test_an_asset_with_enough_grants_in_required_jurisdictions_qualifies_with_that_weight(
    world: World, offices: Any, granted: int
) -> None:
    asset_id = admitted_founder_with_family(world, 1, offices)
    founder = address(world, 1)

    result = world.pool_as(1).contribute(asset_id)

    [event] = world.pool.events(result, "AssetContributed")
    assert event == {
        "assetId": asset_id,
        "founder": founder,
        "weight": granted,
        "grantedInRequired": granted,
        "scoreBps": 8000,
    }
    assert result.value == granted
    standing = world.pool.pool_asset(asset_id)
    block_time = world.w3.eth.get_block(result.block_number)["timestamp"]
    assert standing == {
        "founder": founder,
        "weight": granted,
        "contributedAt": block_time,
        "withdrawalEffectiveAt": 0,
        "withdrawnAt": 0,
        "suspended": False,
        "suspendedAt": 0,
        "withdrawalAnnouncedAt": 0,
    }
    assert world.pool.founder_weight(founder) == granted
    assert world.pool.total_weight() == granted
    assert world.pool.counts()["assets"] == 1


@pytest.mark.parametrize(
    ("offices", "granted"),
    [
        pytest.param({"US": G, "EP": G}, 1, id="US+EP"),
        pytest.param({"US": G, "CN": P}, 1, id="CN-pending"),
        pytest.param({"US": G, "CN": L}, 1, id="CN-lapsed"),
        pytest.param({"US": G, "CN": R}, 1, id="CN-revoked"),
        pytest.param({"EP": G, "KR": G, "GB": G}, 0, id="none-required"),
        pytest.param([("US", L), ("CN", R), ("DE", P), ("JP", L)], 0, id="none-granted"),
    ],
)
def test_an_asset_short_of_two_verified_grants_in_required_jurisdictions_is_not_qualified(
    world: World, offices: Any, granted: int
) -> None:
    asset_id = admitted_founder_with_family(world, 1, offices)

    with pytest.raises(PatentPoolNotQualified) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "grantedInRequired": granted, "minGranted": 2}
    assert_not_in_pool(world, asset_id, 1)


def test_a_score_of_5999_is_too_low(world: World) -> None:
    asset_id = admitted_founder_with_family(world, 1, {"US": G, "CN": G}, score=5999)

    with pytest.raises(PatentPoolScoreTooLow) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "scoreBps": 5999, "minScoreBps": 6000}
    assert_not_in_pool(world, asset_id, 1)


def test_an_asset_never_evaluated_has_score_zero_and_is_too_low(world: World) -> None:
    asset_id = admitted_founder_with_family(world, 1, {"US": G, "CN": G}, score=0)

    with pytest.raises(PatentPoolScoreTooLow) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "scoreBps": 0, "minScoreBps": 6000}


def test_a_score_of_exactly_6000_passes(world: World) -> None:
    asset_id = admitted_founder_with_family(world, 1, {"US": G, "CN": G}, score=6000)

    result = world.pool_as(1).contribute(asset_id)

    [event] = world.pool.events(result, "AssetContributed")
    assert event["scoreBps"] == 6000
    assert event["weight"] == 2
    assert world.pool.total_weight() == 2


def test_grants_are_checked_before_the_score(world: World) -> None:
    asset_id = admitted_founder_with_family(world, 1, {"US": G}, score=100)

    with pytest.raises(PatentPoolNotQualified) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "grantedInRequired": 1, "minGranted": 2}


# ------------------------------------------------------------------ a custom rule


def test_set_qualification_stores_the_rule_and_emits_its_fields(world: World) -> None:
    result = world.pool.set_qualification(["EP", "KR"], 1, 0)

    [event] = world.pool.events(result, "QualificationSet")
    assert [bytes(j) for j in event["jurisdictions"]] == [b"EP", b"KR"]
    assert event["minGranted"] == 1
    assert event["minScoreBps"] == 0
    assert world.pool.qualification() == {"jurisdictions": ["EP", "KR"], "minGranted": 1, "minScoreBps": 0}


def test_under_a_custom_rule_an_ep_grant_alone_qualifies_with_weight_one(world: World) -> None:
    world.pool.set_qualification(["EP", "KR"], 1, 0)
    asset_id = admitted_founder_with_family(world, 1, {"EP": G, "US": G}, score=0)

    result = world.pool_as(1).contribute(asset_id)

    [event] = world.pool.events(result, "AssetContributed")
    assert event == {
        "assetId": asset_id,
        "founder": address(world, 1),
        "weight": 1,
        "grantedInRequired": 1,
        "scoreBps": 0,
    }
    assert world.pool.total_weight() == 1


def test_under_a_custom_rule_us_and_cn_grants_no_longer_count(world: World) -> None:
    world.pool.set_qualification(["EP", "KR"], 1, 0)
    asset_id = admitted_founder_with_family(world, 1, {"US": G, "CN": G})

    with pytest.raises(PatentPoolNotQualified) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "grantedInRequired": 0, "minGranted": 1}
    assert_not_in_pool(world, asset_id, 1)


def test_a_rule_change_does_not_reweigh_assets_already_in_the_pool(world: World) -> None:
    asset_id = world.founder_with_asset(1, {"US": G, "CN": G, "DE": G})
    assert world.pool.pool_asset(asset_id)["weight"] == 3

    world.pool.set_qualification(["EP"], 1, 0)

    assert world.pool.pool_asset(asset_id)["weight"] == 3
    assert world.pool.total_weight() == 3


def test_sixteen_distinct_codes_and_a_score_of_10000_are_accepted(world: World) -> None:
    codes = [chr(ord("A") + i) + "Z" for i in range(16)]

    world.pool.set_qualification(codes, 255, 10000)

    assert world.pool.qualification() == {"jurisdictions": codes, "minGranted": 255, "minScoreBps": 10000}


def test_only_the_operator_sets_the_qualification(world: World) -> None:
    with pytest.raises(AccessControlUnauthorizedAccount) as exc:
        world.pool_as(1).set_qualification(["EP"], 1, 0)

    assert error_args(exc.value)["account"] == address(world, 1)
    assert world.pool.qualification() == DEFAULT_RULE


def _codes(n: int) -> list[bytes]:
    return [bytes([ord("A") + i // 26, ord("A") + i % 26]) for i in range(n)]


@pytest.mark.parametrize(
    ("codes", "min_granted", "min_score"),
    [
        pytest.param([], 1, 0, id="empty-list"),
        pytest.param([b"US", b"CN", b"US"], 1, 0, id="duplicate-code"),
        pytest.param(_codes(17), 1, 0, id="17-codes"),
        pytest.param([b"US"], 0, 0, id="min-granted-0"),
        pytest.param([b"US"], 1, 10001, id="score-10001"),
        pytest.param([b"US", b"cn"], 1, 0, id="lower-case-code"),
        pytest.param([b"uS"], 1, 0, id="lower-case-first-letter"),
        pytest.param([b"@A"], 1, 0, id="below-A"),
        pytest.param([b"A["], 1, 0, id="above-Z"),
        pytest.param([b"U1"], 1, 0, id="digit"),
        pytest.param([b"\x00\x00"], 1, 0, id="zero-code"),
    ],
)
def test_a_malformed_rule_is_rejected_and_the_old_rule_stays(
    world: World, codes: list[bytes], min_granted: int, min_score: int
) -> None:
    # Raw contract call: the client would upper-case the codes.
    fn = world.pool.contract.functions.setQualification(codes, min_granted, min_score)

    with pytest.raises(PatentPoolInvalidQualification) as exc:
        world.operator.transact(fn)

    assert error_args(exc.value) == {
        "jurisdictionCount": len(codes),
        "minGranted": min_granted,
        "minScoreBps": min_score,
    }
    assert world.pool.qualification() == DEFAULT_RULE


# ------------------------------------------------------------------ who may contribute, and when


def test_an_account_that_is_not_an_admitted_founder_cannot_contribute(world: World) -> None:
    asset_id = world.family(1, {"US": G, "CN": G})

    with pytest.raises(PatentPoolNotFounder) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"account": address(world, 1)}
    assert_not_in_pool(world, asset_id, 1)


def test_a_founder_cannot_contribute_an_asset_another_account_owns(world: World) -> None:
    asset_id = world.family(1, {"US": G, "CN": G})
    world.pool.admit_founder(address(world, 2))

    with pytest.raises(PatentPoolNotAssetOwner) as exc:
        world.pool_as(2).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id, "caller": address(world, 2), "owner": address(world, 1)}
    assert world.pool.pool_asset(asset_id)["contributedAt"] == 0
    assert world.pool.founder_weight(address(world, 2)) == 0


def test_an_asset_cannot_be_contributed_twice(world: World) -> None:
    asset_id = world.founder_with_asset(1)

    with pytest.raises(PatentPoolAssetAlreadyContributed) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id}
    assert world.pool.total_weight() == 2
    assert world.pool.counts()["assets"] == 1


def test_an_asset_that_was_withdrawn_cannot_be_contributed_again(world: World) -> None:
    asset_id = world.founder_with_asset(1)
    world.pool_as(1).announce_withdrawal(asset_id)
    advance(world.w3, world.pool.contract.functions.withdrawalNotice().call())
    world.pool.complete_withdrawal(asset_id)

    with pytest.raises(PatentPoolAssetAlreadyContributed) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"assetId": asset_id}
    assert world.pool.total_weight() == 0


def test_an_active_pool_still_accepts_contributions(world: World) -> None:
    world.pool.activate()

    asset_id = world.founder_with_asset(1)

    assert world.pool.pool_asset(asset_id)["weight"] == 2


def test_a_closed_pool_accepts_no_contribution(world: World) -> None:
    asset_id = admitted_founder_with_family(world, 1, {"US": G, "CN": G})
    world.pool.close()

    with pytest.raises(PatentPoolInvalidLifecycle) as exc:
        world.pool_as(1).contribute(asset_id)

    assert error_args(exc.value) == {"current": 2}
    assert_not_in_pool(world, asset_id, 1)


def test_each_contribution_adds_its_weight_to_its_founder_and_the_pool(world: World) -> None:
    first = world.founder_with_asset(1, {"US": G, "CN": G})
    second = world.founder_with_asset(1, {"US": G, "CN": G, "JP": G})
    third = world.founder_with_asset(2, {"DE": G, "JP": G})

    assert [world.pool.pool_asset(a)["weight"] for a in (first, second, third)] == [2, 3, 2]
    assert world.pool.founder_weight(address(world, 1)) == 5
    assert world.pool.founder_weight(address(world, 2)) == 2
    assert world.pool.total_weight() == 7
    assert world.pool.counts()["assets"] == 3


def test_admit_founder_emits_founder_admitted_and_refuses_twice_or_the_zero_address(world: World) -> None:
    from registry.reverts import PatentPoolAlreadyFounder, PatentPoolZeroAddress

    founder = world.keys[4].address
    result = world.pool.admit_founder(founder)
    assert world.pool.events(result, "FounderAdmitted") == [{"founder": founder}]
    assert world.pool.is_founder(founder)
    with pytest.raises(PatentPoolAlreadyFounder) as exc:
        world.pool.admit_founder(founder)
    assert exc.value.error_args == {"account": founder}
    with pytest.raises(PatentPoolZeroAddress):
        world.pool.admit_founder("0x" + "00" * 20)

"""Issue 14, point 7: weight follows the patents.

The attack before it: an asset's weight was fixed at contribution, so a family whose patents later
lapsed, expired or were revoked went on earning its old share for ever, at the other founders'
expense. Now anyone makes the pool re-read the asset's verified grants in force (`reweigh`, O(1):
at most 16 registry reads), anyone marks a granted patent past its expiry date as lapsed
(`PatentAsset.expirePatent`), and the qualification rule counts only grants in force.
"""

from __future__ import annotations

import pytest

from registry.reverts import PatentAssetNotExpired, PatentPoolAssetNotInPool, PatentPoolNotQualified
from registry.types import PatentStatus
from tests.conftest import USDC, YEAR, World, advance, now

G = PatentStatus.GRANTED
FEE = 100 * USDC
OPERATOR, FOUNDER_A, FOUNDER_B, MEMBER, MEMBER_2, STRANGER = 0, 1, 2, 3, 4, 5


def addr(world: World, i: int) -> str:
    return str(world.keys[i].address)


def setup_pool(world: World) -> tuple[int, int]:
    """Founder A's asset weighs 3 (US, CN, DE), founder B's 2 (US, JP); the pool is active."""
    asset_a = world.founder_with_asset(FOUNDER_A, {"US": G, "CN": G, "DE": G})
    asset_b = world.founder_with_asset(FOUNDER_B, {"US": G, "JP": G})
    world.pool.set_tier_fee(0, FEE)
    world.pool.activate()
    return asset_a, asset_b


def pay(world: World, who: int) -> None:
    world.fund(who, FEE)
    world.pool_as(who).join(0, FEE)


def test_a_revoked_patent_stops_earning_once_anyone_reweighs_the_asset(world: World) -> None:
    asset_a, asset_b = setup_pool(world)
    pay(world, MEMBER)  # 90 to founders: 54 to A (3/5), 36 to B (2/5)
    assert [world.pool.claimable(addr(world, i)) for i in (FOUNDER_A, FOUNDER_B)] == [54 * USDC, 36 * USDC]
    t = now(world.w3)
    world.assets.verify_patent(asset_a, 1, PatentStatus.REVOKED, t - 1000, t + 10 * YEAR)  # CN revoked
    world.assets.verify_patent(asset_a, 2, PatentStatus.LAPSED, t - 1000, t + 10 * YEAR)  # DE lapsed

    result = world.pool_as(STRANGER).reweigh(asset_a)

    assert result.value == 1
    assert world.pool.events(result, "AssetReweighed") == [
        {"assetId": asset_a, "founder": addr(world, FOUNDER_A), "oldWeight": 3, "newWeight": 1}
    ]
    assert world.pool.pool_asset(asset_a)["weight"] == 1
    assert world.pool.founder_weight(addr(world, FOUNDER_A)) == 1
    assert world.pool.total_weight() == 3
    # What A earned before stays credited; the next payment splits 1:2.
    pay(world, MEMBER_2)
    assert [world.pool.claimable(addr(world, i)) for i in (FOUNDER_A, FOUNDER_B)] == [84 * USDC, 96 * USDC]
    assert world.pool.claimable(addr(world, OPERATOR)) == 20 * USDC
    assert world.coin.balance_of(world.pool.address) == 200 * USDC
    # Nothing changed: a second re-weigh emits nothing.
    assert world.pool.events(world.pool.reweigh(asset_a), "AssetReweighed") == []
    assert world.pool.is_licensed(addr(world, MEMBER), asset_b, now(world.w3))


def test_an_expired_patent_is_marked_lapsed_by_anyone_and_the_weight_follows(world: World) -> None:
    asset_a, _ = setup_pool(world)
    t = now(world.w3)
    # The US grant expires in a day.
    world.assets.verify_patent(asset_a, 0, G, t - 1000, t + 86_400)
    with pytest.raises(PatentAssetNotExpired):
        world.assets_as(STRANGER).expire_patent(asset_a, 0)
    advance(world.w3, 86_400)

    marked = world.assets_as(STRANGER).expire_patent(asset_a, 0)

    [expired] = world.assets.events(marked, "PatentExpired")
    assert (expired["assetId"], expired["index"], expired["expiryDate"]) == (asset_a, 0, t + 86_400)
    assert world.assets.patent_at(asset_a, 0)["status"] == PatentStatus.LAPSED
    assert world.assets.granted_in(asset_a, "US") == 0
    with pytest.raises(PatentAssetNotExpired):  # once only, and only a granted patent
        world.assets_as(STRANGER).expire_patent(asset_a, 0)
    assert world.pool_as(STRANGER).reweigh(asset_a).value == 2
    assert world.pool.total_weight() == 4


def test_the_qualification_rule_counts_only_grants_in_force(world: World) -> None:
    world.pool.set_qualification(["US", "CN", "DE", "JP"], 2, 6000)
    world.pool.admit_founder(addr(world, FOUNDER_A))
    asset_id = world.family(FOUNDER_A, {"US": G, "CN": G})
    t = now(world.w3)
    world.assets.verify_patent(asset_id, 1, G, t - 1000, t + 10)
    advance(world.w3, 60)
    world.assets_as(STRANGER).expire_patent(asset_id, 1)
    with pytest.raises(PatentPoolNotQualified):
        world.pool_as(FOUNDER_A).contribute(asset_id)


def test_a_reweigh_can_raise_the_weight_and_needs_an_asset_in_the_pool(world: World) -> None:
    asset_a, asset_b = setup_pool(world)
    index = world.assets_as(FOUNDER_B).add_patent(asset_b, "DE", f"DE{asset_b:06d}777").value
    t = now(world.w3)
    world.assets.verify_patent(asset_b, index, G, t - 1000, t + 10 * YEAR)
    assert world.pool.reweigh(asset_b).value == 3
    assert world.pool.total_weight() == 6
    with pytest.raises(PatentPoolAssetNotInPool):
        world.pool.reweigh(999)
    # A withdrawn asset keeps weight 0.
    world.pool_as(FOUNDER_A).announce_withdrawal(asset_a)
    advance(world.w3, world.pool.withdrawal_notice())
    world.pool.complete_withdrawal(asset_a)
    with pytest.raises(PatentPoolAssetNotInPool):
        world.pool.reweigh(asset_a)
    assert world.pool.total_weight() == 3

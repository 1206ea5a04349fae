"""Issue 14, point 2: the asset follows its token.

The attack before it: after a founder sold a family's token, the seller kept earning the asset's
weight in the pool and alone could withdraw it, the buyer could do nothing with it, and the buyer
could contribute the same token to a second pool, so one family earned twice, for two people. Now
every transfer of the token tells each pool the family is in (PatentAsset keeps that list, at most
16 pools, each made by a factory the registry trusts): what the asset earned until the transfer
stays with the seller, and from the transfer on it earns for, and is controlled by, the buyer.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from registry.client import PatentPoolClient
from registry.reverts import (
    ContractRevert,
    PatentAssetNotPool,
    PatentAssetTooManyPools,
    PatentPoolAssetAlreadyContributed,
    PatentPoolNotAssetRegistry,
    PatentPoolNotContributor,
)
from registry.types import PatentStatus
from tests.conftest import USDC, World, advance, now
from tests.contracts.test_reweigh import addr, setup_pool  # A's asset weighs 3, B's 2; active

G = PatentStatus.GRANTED
FEE = 100 * USDC
# Founders A and B as in test_reweigh's setup_pool.
OPERATOR, FOUNDER_A, FOUNDER_B, MEMBER, MEMBER_2, BUYER, MEMBER_3 = 0, 1, 2, 3, 4, 5, 6
H = bytes(Web3.keccak(text="evidence"))


def pay(world: World, who: int, pool: PatentPoolClient | None = None) -> None:
    world.fund(who, FEE, pool)
    world.pool_as(who, pool).join(0, FEE)


def claimable(world: World, *who: int) -> list[int]:
    return [world.pool.claimable(addr(world, i)) for i in who]


def test_the_seller_keeps_what_accrued_and_the_buyer_earns_from_the_transfer_on(world: World) -> None:
    asset_a, _ = setup_pool(world)
    pay(world, MEMBER)  # 90 to founders: 54 to A (3/5), 36 to B (2/5)
    assert claimable(world, FOUNDER_A, FOUNDER_B, BUYER) == [54 * USDC, 36 * USDC, 0]

    result = world.assets_as(FOUNDER_A).transfer(asset_a, addr(world, BUYER))

    assert world.pool.events(result, "AssetFounderChanged") == [
        {"assetId": asset_a, "from": addr(world, FOUNDER_A), "to": addr(world, BUYER), "weight": 3}
    ]
    assert world.pool.pool_asset(asset_a)["founder"] == addr(world, BUYER)
    assert [world.pool.founder_weight(addr(world, i)) for i in (FOUNDER_A, BUYER)] == [0, 3]
    assert world.pool.total_weight() == 5
    # The next payment: the buyer earns the asset's 3/5, the seller nothing more.
    pay(world, MEMBER_2)
    assert claimable(world, FOUNDER_A, FOUNDER_B, BUYER) == [54 * USDC, 72 * USDC, 54 * USDC]
    assert world.pool_as(BUYER).claim().value == 54 * USDC
    assert world.pool_as(FOUNDER_A).claim().value == 54 * USDC
    assert world.coin.balance_of(addr(world, BUYER)) == 54 * USDC
    # Everything owed is still held: 72 for B, 20 for the operator.
    assert world.coin.balance_of(world.pool.address) == 92 * USDC == sum(claimable(world, FOUNDER_B, OPERATOR))


def test_only_the_holder_controls_the_asset_and_a_withdrawn_asset_no_longer_follows(world: World) -> None:
    asset_a, _ = setup_pool(world)
    world.assets_as(FOUNDER_A).transfer(asset_a, addr(world, BUYER))

    with pytest.raises(PatentPoolNotContributor):
        world.pool_as(FOUNDER_A).announce_withdrawal(asset_a)
    world.pool_as(BUYER).announce_withdrawal(asset_a)
    effective_at = world.pool.pool_asset(asset_a)["withdrawalEffectiveAt"]
    advance(world.w3, effective_at - now(world.w3))
    withdrawn = world.pool_as(BUYER).complete_withdrawal(asset_a)

    assert world.assets.events(withdrawn, "AssetLeftPool") == [{"assetId": asset_a, "pool": world.pool.address}]
    assert world.assets.pools_of(asset_a) == []
    assert world.pool.founder_weight(addr(world, BUYER)) == 0
    # Sold again after leaving: the pool is not told, and its record keeps the last holder.
    again = world.assets_as(BUYER).transfer(asset_a, addr(world, FOUNDER_A))
    assert world.pool.events(again, "AssetFounderChanged") == []
    assert world.pool.pool_asset(asset_a)["founder"] == addr(world, BUYER)


def test_a_family_earns_once_per_pool_for_its_holder_and_the_registry_lists_every_pool(world: World) -> None:
    asset_a, _ = setup_pool(world)
    second = world.new_pool("Second pool")
    second.set_tier_fee(0, FEE)
    second.admit_founder(addr(world, BUYER))
    world.assets_as(FOUNDER_A).transfer(asset_a, addr(world, BUYER))

    # The old attack: the buyer puts the same token into a second pool. It may, but the family
    # then earns in each pool for one holder, the buyer; and never twice in one pool.
    world.pool_as(BUYER, second).contribute(asset_a)
    second.activate()
    assert set(world.assets.pools_of(asset_a)) == {world.pool.address, second.address}
    world.pool.admit_founder(addr(world, BUYER))
    with pytest.raises(PatentPoolAssetAlreadyContributed):
        world.pool_as(BUYER).contribute(asset_a)
    pay(world, MEMBER)
    pay(world, MEMBER_2, second)
    assert world.pool.claimable(addr(world, FOUNDER_A)) == 0
    assert world.pool.claimable(addr(world, BUYER)) == 54 * USDC
    assert second.claimable(addr(world, BUYER)) == 90 * USDC

    # One transfer moves it in both pools.
    result = world.assets_as(BUYER).transfer(asset_a, addr(world, MEMBER_3))
    assert [len(p.events(result, "AssetFounderChanged")) for p in (world.pool, second)] == [1, 1]
    assert world.pool.pool_asset(asset_a)["founder"] == second.pool_asset(asset_a)["founder"] == addr(world, MEMBER_3)


def test_a_suspended_asset_follows_its_token_and_its_appeal_and_bond_go_to_the_holder(world: World) -> None:
    asset_a, _ = setup_pool(world)
    pay(world, MEMBER)
    dispute = world.pool_as(MEMBER).open_dispute(asset_a, H).value
    world.pool.resolve_dispute(dispute, True, H)
    assert world.pool.pool_asset(asset_a)["weight"] == 0

    result = world.assets_as(FOUNDER_A).transfer(asset_a, addr(world, BUYER))

    assert world.pool.events(result, "AssetFounderChanged")[0]["weight"] == 0
    lifted = world.pool.lift_suspension(asset_a, H)
    assert world.pool.events(lifted, "SuspensionLifted")[0]["weight"] == 3
    assert [world.pool.founder_weight(addr(world, i)) for i in (FOUNDER_A, BUYER)] == [0, 3]
    # A dismissed dispute's bond goes to whoever holds the asset at the ruling.
    world.pool.set_dispute_bond(0)  # announced, not in force: disputes stay free here
    dismissed = world.pool_as(MEMBER).open_dispute(asset_a, H).value
    world.pool.resolve_dispute(dismissed, False, H)
    assert world.pool.pool_asset(asset_a)["founder"] == addr(world, BUYER)


def test_only_the_registry_reports_transfers_and_only_registered_pools_enter_the_list(world: World) -> None:
    asset_a, _ = setup_pool(world)
    raw_pool = world.pool_as(FOUNDER_A).contract.functions
    with pytest.raises(PatentPoolNotAssetRegistry):
        world.chain(FOUNDER_A).transact(
            raw_pool.onAssetTransfer(asset_a, addr(world, FOUNDER_A), addr(world, FOUNDER_B))
        )
    registry = world.assets_as(FOUNDER_A)
    with pytest.raises(PatentAssetNotPool):
        registry.chain.transact(registry.contract.functions.enterPool(asset_a))
    with pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"):
        registry.chain.transact(registry.contract.functions.registerPool(addr(world, FOUNDER_A)))
    # Leaving a pool one is not in changes nothing.
    registry.chain.transact(registry.contract.functions.leavePool(asset_a))
    assert world.assets.pools_of(asset_a) == [world.pool.address]
    assert world.assets.is_pool(world.pool.address) and not world.assets.is_pool(addr(world, FOUNDER_A))


def test_a_family_is_in_at_most_sixteen_pools(world: World) -> None:
    """The bound that keeps a token's transfer O(1): at most 16 pools to tell."""
    asset = world.family(FOUNDER_A, {"US": G, "CN": G})
    gas = {0: world.assets_as(FOUNDER_A).transfer(asset, addr(world, BUYER)).gas_used}
    world.assets_as(BUYER).transfer(asset, addr(world, FOUNDER_A))
    pools = [world.pool] + [world.new_pool(f"Pool {i}") for i in range(16)]
    for n, pool in enumerate(pools):
        pool.admit_founder(addr(world, FOUNDER_A))
        if n < 16:
            world.pool_as(FOUNDER_A, pool).contribute(asset)
        if n in (0, 15):
            gas[n + 1] = world.assets_as(FOUNDER_A).transfer(asset, addr(world, BUYER)).gas_used
            world.assets_as(BUYER).transfer(asset, addr(world, FOUNDER_A))
    with pytest.raises(PatentAssetTooManyPools):
        world.pool_as(FOUNDER_A, pools[16]).contribute(asset)
    assert len(world.assets.pools_of(asset)) == 16
    print(f"transfer gas by pools the family is in: {gas}")
    # Bounded: about the same per pool, whatever the pools hold.
    assert gas[16] - gas[1] <= 15 * (gas[1] - gas[0]) * 1.1

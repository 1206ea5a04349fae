from __future__ import annotations

from registry.types import PatentStatus
from tests.conftest import USDC, World, now


def test_member_of_an_active_pool_is_licensed_for_a_contributed_asset(world: World) -> None:
    asset_id = world.founder_with_asset(1, {"US": PatentStatus.GRANTED, "CN": PatentStatus.GRANTED})
    world.pool.set_tier_fee(0, 100 * USDC)
    world.pool.activate()
    world.fund(2, 100 * USDC)
    world.pool_as(2).join(0, 100 * USDC)
    assert world.pool.is_licensed(world.keys[2].address, asset_id, now(world.w3))
    assert not world.pool.is_licensed(world.keys[3].address, asset_id, now(world.w3))

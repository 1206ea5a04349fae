"""Issue 14, point 1 (the rest): a squatter who registers a family id first no longer blocks the
real owner for ever.

The attack before it: family ids were unique at registration, first come first served, so anyone
could register "EP3456789" before its owner, who could then never register it. Now a verifier
rejects the squatter's claim (`rejectFamily`), which frees the id for the claimant the verifier
names (or for anyone): the squatter cannot take it again in between, and its rejected token lists
and has verified no more patents.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from registry.reverts import (
    PatentAssetFamilyAlreadyRegistered,
    PatentAssetFamilyIdReserved,
    PatentAssetFamilyIsRejected,
)
from registry.types import PatentStatus
from tests.conftest import YEAR, World, now

SQUATTER, OWNER, STRANGER = 5, 6, 7
FAMILY = "EP3456789"
REASON = bytes(Web3.keccak(text="the registrant holds no right in EP3456789"))
ZERO = "0x" + "00" * 20


def register(world: World, who: int, family_id: str = FAMILY) -> int:
    return world.assets_as(who).register_family(family_id, "LiDAR", b"\x11" * 32, f"ipfs://{family_id}").value


def test_a_verifier_frees_a_squatted_family_id_for_its_owner(world: World) -> None:
    squatted = register(world, SQUATTER)
    with pytest.raises(PatentAssetFamilyAlreadyRegistered):
        register(world, OWNER)

    result = world.assets.reject_family(squatted, REASON, world.keys[OWNER].address)

    [event] = world.assets.events(result, "FamilyRejected")
    assert event == {
        "assetId": squatted,
        "verifier": world.keys[0].address,
        "familyId": FAMILY,
        "reasonHash": REASON,
        "claimant": world.keys[OWNER].address,
    }
    assert world.assets.family_rejected(squatted)
    assert world.assets.asset_of_family(FAMILY) == 0
    assert world.assets.family_id_claimant(FAMILY) == world.keys[OWNER].address
    # The squatter (or anyone else) cannot take it again before the owner does.
    for who in (SQUATTER, STRANGER):
        with pytest.raises(PatentAssetFamilyIdReserved):
            register(world, who)

    owned = register(world, OWNER)

    assert world.assets.asset_of_family(FAMILY) == owned != squatted
    assert world.assets.family_id_claimant(FAMILY) == ZERO
    assert world.assets.owner_of(owned) == world.keys[OWNER].address
    index = world.assets_as(OWNER).add_patent(owned, "EP", "EP3456789B1").value
    t = now(world.w3)
    world.assets.verify_patent(owned, index, PatentStatus.GRANTED, t - 1000, t + 10 * YEAR)
    assert world.assets.granted_in(owned, "EP") == 1


def test_a_rejected_family_lists_and_has_verified_no_more_patents(world: World) -> None:
    squatted = register(world, SQUATTER)
    index = world.assets_as(SQUATTER).add_patent(squatted, "US", "US10123456B2").value
    world.assets.reject_family(squatted, REASON, None)
    with pytest.raises(PatentAssetFamilyIsRejected):
        world.assets_as(SQUATTER).add_patent(squatted, "US", "US10999999B2")
    t = now(world.w3)
    with pytest.raises(PatentAssetFamilyIsRejected):
        world.assets.verify_patent(squatted, index, PatentStatus.GRANTED, t - 1000, t + YEAR)
    with pytest.raises(PatentAssetFamilyIsRejected):  # once only
        world.assets.reject_family(squatted, REASON, None)
    # Freed for anyone: the first to register it holds it (a verifier can free it again).
    assert world.assets.family_id_claimant(FAMILY) == ZERO
    taken = register(world, STRANGER)
    assert world.assets.asset_of_family(FAMILY) == taken

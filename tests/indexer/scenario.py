"""A chain history that emits every event the indexer reads, for the indexer's tests."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.crypto import keccak

from registry.types import Parameter, Tier
from tests.conftest import USDC, YEAR, World, advance, now


def h(text: str) -> bytes:
    return bytes(keccak(text=text))


@dataclass
class Scenario:
    """What `run_scenario` made, to compare the mirror with."""

    pool: str
    assets: dict[str, int]
    offers: dict[str, int]
    licences: dict[str, int]
    disputes: dict[str, int]
    #: A squatted family id freed by the verifier: {"squatted": ..., "owned": ...} asset ids.
    families: dict[str, int]


def run_scenario(world: World) -> Scenario:
    """Every event type: asset registry, ERC-721 moves, pool configuration, founders, members,
    licences, payments, claims, disputes, withdrawals, roles, pause and close."""
    pool, k = world.pool, world.keys
    a1 = world.family(1, {"US": 1, "CN": 1}, 8000, family_id="IDX-A1")
    a2 = world.family(2, {"US": 1, "DE": 1}, 7000, family_id="IDX-A2")
    a3 = world.family(1, {"JP": 1, "CN": 1, "EP": 0}, 9000, family_id="IDX-A3")
    world.assets_as(1).update_dossier(a1, h("dossier v2"), "ipfs://IDX-A1/v2")
    owner1 = world.assets_as(1)
    owner1.chain.transact(owner1.contract.functions.approve(k[3].address, a3))
    owner1.chain.transact(owner1.contract.functions.setApprovalForAll(k[4].address, True))
    owner1.chain.transact(owner1.contract.functions.transferFrom(k[1].address, k[2].address, a3))
    world.assets.reject_patent(a3, 2, h("not a patent of this family"))  # its pending EP listing
    # Issue 14, point 1: key 5 squats a family id; the verifier frees it for key 6, who registers it.
    squatted = world.assets_as(5).register_family("IDX-SQUAT", "squatted", h("s"), "ipfs://s").value
    world.assets.reject_family(squatted, h("no right in it"), k[6].address)
    owned = world.assets_as(6).register_family("IDX-SQUAT", "owned", h("o"), "ipfs://o").value

    for tier, fee in ((Tier.STARTUP, 100), (Tier.SME, 200), (Tier.ENTERPRISE, 300)):
        pool.set_tier_fee(tier, fee * USDC)
    pool.set_qualification(["US", "CN", "DE", "JP"], 2, 6000)
    pool.set_operator_share(2000)
    pool.set_territory("EU")
    pool.set_treasury(k[5].address)
    pool.set_withdrawal_notice(0)
    pool.grant_role("ARBITER_ROLE", k[6].address)
    pool.revoke_role("ARBITER_ROLE", k[6].address)
    pool.pause()
    pool.unpause()
    for who in (1, 2):
        pool.admit_founder(k[who].address)
    world.pool_as(1).contribute(a1)
    world.pool_as(2).contribute(a2)
    world.pool_as(2).contribute(a3)
    pool.set_dispute_bond(10 * USDC)
    pool.activate()

    world.fund(3, 1_000 * USDC)
    world.pool_as(3).join(Tier.STARTUP, 100 * USDC)
    world.pool_as(3).renew(100 * USDC)
    world.fund(4, 1_000 * USDC)
    world.pool_as(4).join(Tier.ENTERPRISE, 300 * USDC)

    t = now(world.w3)
    granted_offer = pool.offer_licence(k[7].address, [a1], t, t + YEAR, 50 * USDC, h("terms 7")).value
    world.fund(7, 50 * USDC)
    licence = world.pool_as(7).accept_offer(granted_offer).value
    pool.revoke_licence(licence, h("breach"))
    cancelled_offer = pool.offer_licence(k[8].address, [], t, t + YEAR, 60 * USDC, h("terms 8")).value
    pool.cancel_offer(cancelled_offer)

    upheld = world.pool_as(3).open_dispute(a2, h("prior art")).value
    pool.resolve_dispute(upheld, True, h("anticipated"))
    dismissed = world.pool_as(4).open_dispute(a1, h("weak evidence")).value
    pool.resolve_dispute(dismissed, False, h("not anticipated"))
    appealed = world.pool_as(4).open_dispute(a1, h("new evidence")).value
    pool.resolve_dispute(appealed, True, h("anticipated after all"))
    advance(world.w3, 10)
    pool.lift_suspension(a1, h("appeal granted"))
    # Issue 14, point 7: a1's CN grant expires, anyone marks it and re-weighs a1 (2 -> 1).
    t = now(world.w3)
    world.assets.verify_patent(a1, 1, 1, t - 1000, t + 5)
    advance(world.w3, 10)
    world.assets_as(8).expire_patent(a1, 1)
    world.pool_as(8).reweigh(a1)
    # Issue 14, point 2: key 1 sells a1 (earning in the pool) to key 9, no founder, and key 2 sells
    # the suspended a2 to key 1: each asset follows its token.
    world.assets_as(1).transfer(a1, k[9].address)
    world.assets_as(2).transfer(a2, k[1].address)

    world.pool_as(2).announce_withdrawal(a3)
    world.pool_as(2).complete_withdrawal(a3)
    world.pool_as(1).claim()
    world.pool_as(5).claim()
    # Announced changes of an active pool: two applied after the delay, one still pending.
    pool.set_tier_fee(Tier.SME, 250 * USDC)
    pool.set_max_licence_length(2 * YEAR)
    advance(world.w3, pool.bounds()["changeDelay"])
    pool.apply_parameter_change(Parameter.TIER_FEE_1)
    pool.apply_parameter_change(Parameter.MAX_LICENCE_LENGTH)
    pool.set_operator_share(3000)
    pool.set_qualification(["US", "EP"], 1, 5000)
    pool.begin_default_admin_transfer(k[9].address)
    pool.close()
    return Scenario(
        pool=pool.address,
        assets={"a1": a1, "a2": a2, "a3": a3},
        offers={"granted": granted_offer, "cancelled": cancelled_offer},
        licences={"revoked": licence},
        disputes={"upheld": upheld, "dismissed": dismissed, "appealed": appealed},
        families={"squatted": squatted, "owned": owned},
    )

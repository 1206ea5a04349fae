"""Seeding a local chain with a small, deterministic demo pool (the LiDAR pool of the seed deck).

Everything is signed with anvil's public development keys, so this only runs on local chains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment
from registry.errors import ConfigError, ContractRevert
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, LOCAL_CHAIN_IDS
from registry.types import PatentStatus, PoolKind, Tier

__all__ = ["DemoSummary", "seed_demo"]

USD = 10**6
YEAR = 365 * 24 * 3600


@dataclass
class DemoSummary:
    """What the demo created, for printing and for tests."""

    pool: str
    pool_name: str
    assets: dict[str, int] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    licensees: dict[str, str] = field(default_factory=dict)
    suspended_asset: int = 0
    founders: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "poolName": self.pool_name,
            "assets": self.assets,
            "refused": self.refused,
            "members": self.members,
            "licensees": self.licensees,
            "suspendedAsset": self.suspended_asset,
            "founders": self.founders,
        }


def _h(text: str) -> bytes:
    return bytes(keccak(text=text))


def seed_demo(w3: Web3, deployment: Deployment, progress: Callable[[str], None] = lambda _: None) -> DemoSummary:
    """Create and populate one active pool; returns what it made."""
    chain_id = int(w3.eth.chain_id)
    if chain_id not in LOCAL_CHAIN_IDS:
        raise ConfigError(
            f"the demo signs with public development keys, so it runs on local chains only (not {chain_id})"
        )
    token = deployment.payment_token
    if token is None:
        raise ConfigError("the deployment has no TestStablecoin; deploy with --stablecoin on a local chain")
    actors = [Chain(w3, account_from_key(k, chain_id)) for k in ANVIL_DEV_KEYS]
    operator, founder_a, founder_b = actors[0], actors[1], actors[2]
    members, licensee, revoked = actors[3:8], actors[8], actors[9]

    factory = PoolFactoryClient(operator, deployment.address("PoolFactory"))
    registry = PatentAssetClient(operator, deployment.address("PatentAsset"))
    progress("creating the LiDAR pool")
    pool_address = factory.create_pool("LiDAR", PoolKind.TECHNOLOGY, "LiDAR sensing", token, operator.address).value
    pool = PatentPoolClient(operator, pool_address)
    pool.set_territory("worldwide")
    for tier, fee in ((Tier.STARTUP, 500), (Tier.SME, 2_000), (Tier.ENTERPRISE, 10_000)):
        pool.set_tier_fee(tier, fee * USD)
    summary = DemoSummary(pool_address, "LiDAR", founders=[founder_a.address, founder_b.address])

    now = int(w3.eth.get_block("latest")["timestamp"])
    families = [
        (founder_a, "LIDAR-FAM-001", "Solid-state beam steering", [("US", 1), ("CN", 1), ("DE", 1)], 8200),
        (founder_a, "LIDAR-FAM-002", "Time-of-flight pixel array", [("US", 1), ("JP", 1), ("EP", 0)], 7400),
        (founder_b, "LIDAR-FAM-003", "Point-cloud denoising", [("CN", 1), ("DE", 1), ("KR", 1)], 6900),
        (founder_b, "LIDAR-FAM-004", "Eye-safe laser driver", [("US", 1), ("EP", 1)], 7100),
        (founder_b, "LIDAR-FAM-005", "Rain-robust return filter", [("US", 1), ("CN", 0)], 8800),
    ]
    for founder in (founder_a, founder_b):
        pool.admit_founder(founder.address)
    for n, (who, family_id, title, patents, score) in enumerate(families):
        progress(f"registering {family_id}")
        mine = PatentAssetClient(who, registry.address)
        asset_id = mine.register_family(family_id, title, _h(family_id), f"ipfs://demo/{family_id}").value
        for i, (office, granted) in enumerate(patents):
            index = mine.add_patent(asset_id, office, f"{office}{10_000_000 + n * 10 + i}").value
            if granted:
                registry.verify_patent(asset_id, index, PatentStatus.GRANTED, now - 3 * YEAR, now + 12 * YEAR)
        registry.record_evaluation(asset_id, score, _h(f"report {family_id}"), "scorecard-0.1")
        try:
            PatentPoolClient(who, pool_address).contribute(asset_id)
            summary.assets[family_id] = asset_id
        except ContractRevert as exc:
            summary.refused[family_id] = str(exc)

    progress("activating the pool")
    pool.activate()
    for m, member in enumerate(members):
        tier = (Tier.STARTUP, Tier.SME, Tier.ENTERPRISE)[m % 3]
        fee = pool.tier_fee(tier)
        coin = StablecoinClient(member, token)
        coin.mint(member.address, fee)
        coin.approve(pool_address, fee)
        PatentPoolClient(member, pool_address).join(tier, fee)
        summary.members.append(member.address)

    progress("offering unified licences")
    first_asset = next(iter(summary.assets.values()))
    for who, label in ((licensee, "unified"), (revoked, "revoked")):
        price = 1_500 * USD
        offer_id = pool.offer_licence(who.address, [], now, now + YEAR, price, _h(f"terms {label}")).value
        coin = StablecoinClient(who, token)
        coin.mint(who.address, price)
        coin.approve(pool_address, price)
        licence_id = PatentPoolClient(who, pool_address).accept_offer(offer_id).value
        summary.licensees[label] = who.address
        if label == "revoked":
            pool.revoke_licence(licence_id, _h("terms breached"))

    progress("ruling on a dispute and paying founders")
    disputed = summary.assets.get("LIDAR-FAM-003", first_asset)
    dispute_id = PatentPoolClient(members[0], pool_address).open_dispute(disputed, _h("prior art")).value
    pool.resolve_dispute(dispute_id, True, _h("claims anticipated by prior art"))
    summary.suspended_asset = disputed
    PatentPoolClient(founder_a, pool_address).claim()
    return summary

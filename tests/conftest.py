"""Shared fixtures: one real anvil per test session, the suite deployed once, and an EVM snapshot
reverted after every test that touches the chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment, deploy_suite
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, AnvilNode, start_anvil
from registry.types import PatentStatus

YEAR = 365 * 24 * 3600
USDC = 10**6  # TestStablecoin has 6 decimals


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    # Many accounts: the gas test needs 300 members; anvil derives them quickly.
    node = start_anvil(accounts=20)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def w3(anvil: AnvilNode) -> Web3:
    return anvil.web3()


@pytest.fixture(scope="session")
def keys() -> list[LocalAccount]:
    """anvil's ten development accounts; [0] deploys and operates."""
    return [account_from_key(k) for k in ANVIL_DEV_KEYS]


@pytest.fixture(scope="session")
def deployment(w3: Web3, keys: list[LocalAccount]) -> Deployment:
    return deploy_suite(Chain(w3, keys[0]))


_COINBASES = [0]


@contextmanager
def chain_snapshot(w3: Web3) -> Iterator[None]:
    """Revert every chain change made inside the block.

    Each block mines with a coinbase of its own, so a test that repeats another's transactions after
    a revert (the two database backends of one test, say) never mines a block with the hash of a
    reverted one. anvil keeps blocks by hash; such repeated blocks are the suspected cause of the
    reorg tests' rare failures on their second (PostgreSQL) run, where a replacement block's change
    was missing from the mirror."""
    _COINBASES[0] += 1
    coinbase = "0x" + f"c0ffee{_COINBASES[0]:034x}"
    w3.provider.make_request("anvil_setCoinbase", [coinbase])  # type: ignore[arg-type]
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield
    finally:
        w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


@pytest.fixture
def snapshot(w3: Web3, deployment: Deployment) -> Iterator[None]:
    """Revert every chain change the test makes (`chain_snapshot`)."""
    with chain_snapshot(w3):
        yield


def advance(w3: Web3, seconds: int) -> int:
    """Move chain time forward and mine a block; returns the new block's timestamp."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(w3.eth.get_block("latest")["timestamp"])


def now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


@dataclass
class World:
    """The deployed suite with one pool and clients for each actor."""

    w3: Web3
    deployment: Deployment
    keys: list[LocalAccount]
    operator: Chain
    factory: PoolFactoryClient
    assets: PatentAssetClient
    coin: StablecoinClient
    pool: PatentPoolClient

    def chain(self, who: int | LocalAccount) -> Chain:
        account = self.keys[who] if isinstance(who, int) else who
        return Chain(self.w3, account)

    def pool_as(self, who: int | LocalAccount, pool: PatentPoolClient | None = None) -> PatentPoolClient:
        target = pool or self.pool
        return PatentPoolClient(self.chain(who), target.address)

    def assets_as(self, who: int | LocalAccount) -> PatentAssetClient:
        return PatentAssetClient(self.chain(who), self.assets.address)

    def coin_as(self, who: int | LocalAccount) -> StablecoinClient:
        return StablecoinClient(self.chain(who), self.coin.address)

    def new_pool(self, name: str = "Test pool", kind: int = 2, field: str = "LiDAR") -> PatentPoolClient:
        address = self.factory.create_pool(name, kind, field, self.coin.address, self.operator.address).value
        return PatentPoolClient(self.operator, address)

    def fund(self, who: int | LocalAccount, amount: int, pool: PatentPoolClient | None = None) -> None:
        """Mint `amount` to an account and approve the pool to spend it."""
        coin = self.coin_as(who)
        coin.mint(coin.chain.address, amount)
        coin.approve((pool or self.pool).address, amount)

    def family(
        self,
        owner: int | LocalAccount,
        offices: dict[str, int] | list[tuple[str, int]],
        score: int = 8000,
        family_id: str | None = None,
    ) -> int:
        """Register a family owned by `owner` with patents (office, status) verified by the
        operator, and a stability score; returns its asset id."""
        registry = self.assets_as(owner)
        fid = family_id or f"FAM-{time.monotonic_ns()}"
        asset_id = registry.register_family(fid, f"Family {fid}", b"\x11" * 32, f"ipfs://{fid}").value
        items = list(offices.items()) if isinstance(offices, dict) else offices
        t = now(self.w3)
        for n, (office, status) in enumerate(items):
            index = registry.add_patent(asset_id, office, f"{office}{asset_id:06d}{n:03d}").value
            if status != PatentStatus.PENDING:
                self.assets.verify_patent(asset_id, index, status, t - 1000, t + 10 * YEAR)
        if score:
            self.assets.record_evaluation(asset_id, score, b"\x22" * 32, "test-1")
        return asset_id

    def founder_with_asset(
        self, who: int, offices: dict[str, int] | None = None, score: int = 8000, pool: PatentPoolClient | None = None
    ) -> int:
        """Admit `who` as founder and contribute a qualifying family; returns the asset id."""
        target = pool or self.pool
        if not target.is_founder(self.keys[who].address):
            target.admit_founder(self.keys[who].address)
        asset_id = self.family(who, offices or {"US": 1, "CN": 1}, score)
        self.pool_as(who, target).contribute(asset_id)
        return asset_id


def make_world(w3: Web3, deployment: Deployment, keys: list[LocalAccount]) -> World:
    """A fresh pool (Incubating, default rule) on the session's suite."""
    operator = Chain(w3, keys[0])
    factory = PoolFactoryClient(operator, deployment.address("PoolFactory"))
    assets = PatentAssetClient(operator, deployment.address("PatentAsset"))
    coin_address = deployment.payment_token
    assert coin_address is not None
    coin = StablecoinClient(operator, coin_address)
    address = factory.create_pool("Test pool", 2, "LiDAR", coin_address, operator.address).value
    pool = PatentPoolClient(operator, address)
    return World(w3, deployment, keys, operator, factory, assets, coin, pool)


@pytest.fixture
def world(w3: Web3, deployment: Deployment, keys: list[LocalAccount], snapshot: None) -> World:
    """A fresh pool (Incubating, default rule) on the session's suite; reverted after the test."""
    return make_world(w3, deployment, keys)


def extra_accounts(n: int, start: int = 1000) -> list[LocalAccount]:
    """Deterministic throw-away accounts beyond anvil's ten (fund them with ether first)."""
    return [account_from_key("0x" + (start + i).to_bytes(32, "big").hex()) for i in range(n)]


def fund_ether(w3: Web3, accounts: list[Any], wei: int = 10**18) -> None:
    for account in accounts:
        w3.provider.make_request("anvil_setBalance", [account.address, hex(wei)])  # type: ignore[arg-type]

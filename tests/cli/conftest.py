"""CLI fixtures: one active pool per test module, each test's chain changes reverted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.deploy import Deployment, write_deployment
from tests.conftest import USDC, World, chain_snapshot, make_world

#: The founder whose asset the pool holds (anvil's development account 1).
FOUNDER = 1


@pytest.fixture(scope="module")
def active_pool(
    w3: Web3, deployment: Deployment, keys: list[LocalAccount], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[World, Path, str, int]]:
    """An active pool with a startup fee of 500, one contributed asset, and a manifest file: made
    once per module (the commands' tests spend most of their time starting the command, not in
    this), and reverted after the module's last test."""
    with chain_snapshot(w3):
        world = make_world(w3, deployment, keys)
        asset_id = world.founder_with_asset(FOUNDER)
        world.pool.set_tier_fee(0, 500 * USDC)
        world.pool.activate()
        manifest = write_deployment(world.deployment, tmp_path_factory.mktemp("pool") / "deployments")
        yield world, manifest, world.pool.address, asset_id


@pytest.fixture
def setup(active_pool: tuple[World, Path, str, int], snapshot: None) -> tuple[World, Path, str, int]:
    """`active_pool`, with whatever the test changes on the chain reverted after it."""
    return active_pool

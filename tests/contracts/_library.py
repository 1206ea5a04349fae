"""A `world` whose pool and most-used patent families are built once per test module.

Registering a family costs several transactions; the families a module uses again and again (its
LIBRARY: owner, offices, score, copies) are registered once, and `world.family` (so
`world.founder_with_asset`) hands each out at most once per test, registering any other family on
the fly as usual. The pool, too, is created once per module; each test starts from that state and
its changes are reverted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment
from tests.conftest import World

Offices = dict[str, int] | list[tuple[str, int]]
Library = list[tuple[int, Offices, int, int]]


def _family_key(owner: int, offices: Any, score: int) -> tuple[Any, ...]:
    items = list(offices.items()) if isinstance(offices, dict) else list(offices)
    return (owner, tuple((office, int(status)) for office, status in items), score)


@dataclass
class LibraryWorld(World):
    library: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    def family(
        self,
        owner: int | LocalAccount,
        offices: Offices,
        score: int = 8000,
        family_id: str | None = None,
    ) -> int:
        if isinstance(owner, int) and family_id is None:
            for asset_id in self.library.get(_family_key(owner, offices, score), []):
                if asset_id not in self.used:
                    self.used.add(asset_id)
                    return asset_id
        return super().family(owner, offices, score, family_id)


def library_fixtures(library: Library) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The `module_world` and `world` fixtures for a module whose LIBRARY is `library`."""

    @pytest.fixture(scope="module")
    def module_world(w3: Web3, deployment: Deployment, keys: list[LocalAccount]) -> Iterator[LibraryWorld]:
        """The families of LIBRARY and a fresh Incubating pool (default rule), built once per module."""
        snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        operator = Chain(w3, keys[0])
        coin_address = deployment.payment_token
        assert coin_address is not None
        built = LibraryWorld(
            w3,
            deployment,
            keys,
            operator,
            PoolFactoryClient(operator, deployment.address("PoolFactory")),
            PatentAssetClient(operator, deployment.address("PatentAsset")),
            StablecoinClient(operator, coin_address),
            cast(PatentPoolClient, None),
        )
        for owner, offices, score, copies in library:
            key = _family_key(owner, offices, score)
            built.library[key] = [World.family(built, owner, offices, score) for _ in range(copies)]
        built.pool = built.new_pool()
        try:
            yield built
        finally:
            w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]

    @pytest.fixture
    def world(module_world: LibraryWorld) -> Iterator[LibraryWorld]:
        """Like conftest's `world` (a fresh Incubating pool, every chain change reverted after the
        test), but the pool and the LIBRARY families are built once per module."""
        snap = module_world.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        module_world.used.clear()
        try:
            yield module_world
        finally:
            module_world.w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]

    return module_world, world

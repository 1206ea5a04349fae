"""PoolFactory: creating pools as EIP-1167 clones, listing them, and the state a new pool starts in."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from registry.client import PatentPoolClient, PoolFactoryClient, role_id
from registry.reverts import (
    AccessControlUnauthorizedAccount,
    InvalidInitialization,
    PatentPoolTextTooLong,
    PoolFactoryEmptyName,
    PoolFactoryIndexOutOfRange,
    PoolFactoryInvalidKind,
    PoolFactoryInvalidPaymentToken,
    PoolFactoryTextTooLong,
    PoolFactoryZeroAddress,
)
from registry.types import Lifecycle
from tests.conftest import World

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
NINETY_DAYS = 90 * 24 * 3600
# EIP-1167 minimal proxy runtime code around the 20-byte implementation address.
CLONE_PREFIX = bytes.fromhex("363d3d373d3d3d363d73")
CLONE_SUFFIX = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def norm(args: dict[str, Any]) -> dict[str, Any]:
    """Error arguments with addresses checksummed, so they compare with account addresses."""
    return {k: Web3.to_checksum_address(v) if isinstance(v, str) and Web3.is_address(v) else v for k, v in args.items()}


def addr(world: World, i: int) -> str:
    return str(world.keys[i].address)


def factory_as(world: World, i: int) -> PoolFactoryClient:
    return PoolFactoryClient(world.chain(i), world.factory.address)


def topic_address(topic: bytes) -> str:
    return Web3.to_checksum_address(bytes(topic)[-20:])


# ---------------------------------------------------------------------------------- createPool


def test_create_pool_lists_the_pool_and_emits_pool_created_with_its_index(world: World) -> None:
    count = world.factory.pool_count()
    result = world.factory.create_pool("Automotive LiDAR", 1, "LiDAR", world.coin.address, addr(world, 4))
    pool = result.value
    assert world.factory.events(result, "PoolCreated") == [
        {
            "pool": pool,
            "index": count,
            "operator": addr(world, 4),
            "name": "Automotive LiDAR",
            "kind": 1,
            "field": "LiDAR",
            "paymentToken": world.coin.address,
        }
    ]
    # pool, index and operator are indexed topics, so the indexer can filter on them
    logs = [lg for lg in result.receipt["logs"] if lg["address"] == world.factory.address]
    assert len(logs) == 1
    topics = logs[0]["topics"]
    assert len(topics) == 4
    assert topic_address(topics[1]) == pool
    assert int.from_bytes(bytes(topics[2]), "big") == count
    assert topic_address(topics[3]) == addr(world, 4)

    assert world.factory.pool_count() == count + 1
    assert world.factory.pool_at(count) == pool
    assert world.factory.is_pool(pool)
    assert world.factory.pools()[-1] == pool


def test_create_pool_gives_consecutive_indexes_and_distinct_addresses(world: World) -> None:
    count = world.factory.pool_count()
    a = world.factory.create_pool("A", 0, "f", world.coin.address, addr(world, 0)).value
    b = world.factory.create_pool("B", 3, "f", world.coin.address, addr(world, 0)).value
    assert a != b
    assert (world.factory.pool_at(count), world.factory.pool_at(count + 1)) == (a, b)
    assert world.factory.pool_count() == count + 2
    assert world.factory.pool_at(count - 1) == world.pool.address


def test_is_pool_is_false_for_addresses_the_factory_did_not_create(world: World) -> None:
    assert world.factory.is_pool(world.pool.address)
    assert not world.factory.is_pool(addr(world, 1))
    assert not world.factory.is_pool(world.deployment.address("PatentPoolImplementation"))
    assert not world.factory.is_pool(world.coin.address)
    assert not world.factory.is_pool(ZERO_ADDRESS)


def test_pool_at_reverts_when_the_index_is_out_of_range(world: World) -> None:
    count = world.factory.pool_count()
    with pytest.raises(PoolFactoryIndexOutOfRange) as e:
        world.factory.pool_at(count)
    assert e.value.error_args == {"index": count, "count": count}
    with pytest.raises(PoolFactoryIndexOutOfRange) as e2:
        world.factory.pool_at(2**256 - 1)
    assert e2.value.error_args == {"index": 2**256 - 1, "count": count}


def test_create_pool_reverts_when_caller_lacks_the_pool_creator_role(world: World) -> None:
    count = world.factory.pool_count()
    with pytest.raises(AccessControlUnauthorizedAccount) as e:
        factory_as(world, 2).create_pool("P", 0, "f", world.coin.address, addr(world, 2))
    assert norm(e.value.error_args) == {"account": addr(world, 2), "neededRole": role_id("POOL_CREATOR_ROLE")}
    assert world.factory.pool_count() == count


@pytest.mark.parametrize("kind", [4, 5, 255])
def test_create_pool_reverts_when_the_kind_is_not_0_to_3(world: World, kind: int) -> None:
    count = world.factory.pool_count()
    with pytest.raises(PoolFactoryInvalidKind) as e:
        world.factory.create_pool("P", kind, "f", world.coin.address, addr(world, 0))
    assert e.value.error_args == {"kind": kind}
    assert world.factory.pool_count() == count


@pytest.mark.parametrize("kind", [0, 1, 2, 3])
def test_create_pool_records_each_valid_kind_in_the_profile(world: World, kind: int) -> None:
    pool = world.new_pool(name=f"K{kind}", kind=kind, field="x")
    assert pool.profile()["kind"] == kind


def test_create_pool_reverts_when_the_name_is_empty(world: World) -> None:
    count = world.factory.pool_count()
    with pytest.raises(PoolFactoryEmptyName) as e:
        world.factory.create_pool("", 0, "f", world.coin.address, addr(world, 0))
    assert e.value.error_args == {}
    assert world.factory.pool_count() == count


def test_create_pool_bounds_the_name_and_the_field(world: World) -> None:
    """A 5,000-character name used to be stored: the factory takes at most 200 bytes of each."""
    count = world.factory.pool_count()
    for name, field in (("n" * 5_000, "f"), ("n", "f" * 201), ("é" * 101, "f")):
        with pytest.raises(PoolFactoryTextTooLong) as e:
            world.factory.create_pool(name, 0, field, world.coin.address, addr(world, 0))
        assert e.value.error_args["limit"] == 200 and e.value.error_args["length"] > 200
    assert world.factory.pool_count() == count
    world.factory.create_pool("n" * 200, 0, "f" * 200, world.coin.address, addr(world, 0))
    assert world.factory.pool_count() == count + 1


def test_the_pool_bounds_its_territory(world: World) -> None:
    with pytest.raises(PatentPoolTextTooLong) as e:
        world.pool.set_territory("t" * 5_000)
    assert e.value.error_args == {"length": 5_000, "limit": 200}
    world.pool.set_territory("t" * 200)
    assert world.pool.profile()["territory"] == "t" * 200


def test_create_pool_reverts_when_the_payment_token_is_not_a_contract(world: World) -> None:
    count = world.factory.pool_count()
    with pytest.raises(PoolFactoryInvalidPaymentToken) as e:
        world.factory.create_pool("P", 0, "f", addr(world, 3), addr(world, 0))
    assert norm(e.value.error_args) == {"paymentToken": addr(world, 3)}
    with pytest.raises(PoolFactoryInvalidPaymentToken) as e2:
        world.factory.create_pool("P", 0, "f", ZERO_ADDRESS, addr(world, 0))
    assert norm(e2.value.error_args) == {"paymentToken": ZERO_ADDRESS}
    assert world.factory.pool_count() == count


def test_create_pool_reverts_when_the_operator_is_the_zero_address(world: World) -> None:
    count = world.factory.pool_count()
    with pytest.raises(PoolFactoryZeroAddress) as e:
        world.factory.create_pool("P", 0, "f", world.coin.address, ZERO_ADDRESS)
    assert e.value.error_args == {}
    assert world.factory.pool_count() == count


def test_factory_reports_its_implementation_and_asset_registry(world: World) -> None:
    functions = world.factory.contract.functions
    assert functions.implementation().call() == world.deployment.address("PatentPoolImplementation")
    assert functions.assetRegistry().call() == world.deployment.address("PatentAsset")


# ---------------------------------------------------------------------------------- the clone


def test_a_new_pool_is_an_eip1167_clone_of_the_implementation(world: World) -> None:
    implementation = world.deployment.address("PatentPoolImplementation")
    code = bytes(world.w3.eth.get_code(world.pool.address))
    assert len(code) == 45
    assert code == CLONE_PREFIX + bytes.fromhex(implementation[2:]) + CLONE_SUFFIX
    assert code[10:30] == bytes.fromhex(implementation[2:])
    # the implementation itself is a full contract, not a proxy
    assert len(bytes(world.w3.eth.get_code(implementation))) > 1000


def test_a_new_pool_starts_incubating_with_the_default_configuration(world: World) -> None:
    result = world.factory.create_pool("Defaults", 2, "Batteries", world.coin.address, addr(world, 5))
    pool = PatentPoolClient(world.chain(5), result.value)
    assert pool.profile() == {
        "name": "Defaults",
        "kind": 2,
        "field": "Batteries",
        "territory": "",
        "lifecycle": Lifecycle.INCUBATING,
        "paymentToken": world.coin.address,
        "operatorShareBps": 1_000,
        "treasury": addr(world, 5),
    }
    assert pool.qualification() == {"jurisdictions": ["US", "CN", "DE", "JP"], "minGranted": 2, "minScoreBps": 6_000}
    functions = pool.contract.functions
    assert functions.withdrawalNotice().call() == NINETY_DAYS
    assert functions.assetRegistry().call() == world.deployment.address("PatentAsset")
    assert [pool.tier_fee(t) for t in range(3)] == [0, 0, 0]
    assert pool.counts() == {"members": 0, "assets": 0, "offers": 0, "licences": 0, "disputes": 0}
    assert pool.total_weight() == 0
    assert not pool.paused()


def test_a_new_pool_gives_the_operator_its_roles_and_nobody_else(world: World) -> None:
    result = world.factory.create_pool("Roles", 0, "f", world.coin.address, addr(world, 5))
    pool = PatentPoolClient(world.chain(5), result.value)
    for role in ("DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE", "ARBITER_ROLE"):
        assert pool.has_role(role, addr(world, 5)), role
        # the creator (keys[0]) and the factory get no role in a pool they do not operate
        assert not pool.has_role(role, addr(world, 0)), role
        assert not pool.has_role(role, world.factory.address), role
    granted = pool.events(result, "RoleGranted")
    assert {(g["role"], g["account"], g["sender"]) for g in granted} == {
        (role_id(r), addr(world, 5), world.factory.address)
        for r in ("DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE", "ARBITER_ROLE")
    }


def test_a_new_pool_emits_its_initialisation_events(world: World) -> None:
    result = world.factory.create_pool("Events", 3, "Solar", world.coin.address, addr(world, 6))
    pool = PatentPoolClient(world.chain(6), result.value)
    assert pool.events(result, "PoolInitialized") == [
        {
            "name": "Events",
            "kind": 3,
            "field": "Solar",
            "paymentToken": world.coin.address,
            "operator": addr(world, 6),
            "assetRegistry": world.deployment.address("PatentAsset"),
        }
    ]
    assert pool.events(result, "QualificationSet") == [
        {"jurisdictions": [b"US", b"CN", b"DE", b"JP"], "minGranted": 2, "minScoreBps": 6_000}
    ]
    assert pool.events(result, "OperatorShareSet") == [{"bps": 1_000}]
    assert pool.events(result, "TreasurySet") == [{"treasury": addr(world, 6)}]
    assert pool.events(result, "WithdrawalNoticeSet") == [{"noticePeriod": NINETY_DAYS}]
    assert pool.events(result, "LifecycleChanged") == []
    assert pool.events(result, "Initialized") == [{"version": 1}]


# ---------------------------------------------------------------------------------- initialize


def _initialize(client: PatentPoolClient, operator: str, world: World) -> Any:
    fn = client.contract.functions.initialize(
        "Hijack", 0, "f", world.coin.address, operator, world.deployment.address("PatentAsset"), 3_000, 90 * 86_400
    )
    return client.chain.transact(fn)


def test_initialize_reverts_when_called_again_on_a_pool(world: World) -> None:
    for who in (0, 7):  # neither the operator nor an outsider
        with pytest.raises(InvalidInitialization) as e:
            _initialize(world.pool_as(who), addr(world, who), world)
        assert e.value.error_args == {}
    profile = world.pool.profile()
    assert (profile["name"], profile["treasury"]) == ("Test pool", addr(world, 0))
    assert not world.pool.has_role("OPERATOR_ROLE", addr(world, 7))


def test_initialize_reverts_when_called_on_the_implementation(world: World) -> None:
    implementation = PatentPoolClient(world.chain(7), world.deployment.address("PatentPoolImplementation"))
    with pytest.raises(InvalidInitialization) as e:
        _initialize(implementation, addr(world, 7), world)
    assert e.value.error_args == {}
    assert not implementation.has_role("DEFAULT_ADMIN_ROLE", addr(world, 7))
    assert implementation.profile()["name"] == ""

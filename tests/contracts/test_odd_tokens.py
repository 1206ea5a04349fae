"""The pool owes only what it received (issue 14, point 4): a payment token that takes a fee on
transfer, or whose fee is switched on after the pool was created, delivers less than the price;
before, the pool booked the price, owed more than it held, and the last claim reverted.

The token is tests/contracts/tokens/FeeOnTransferToken.sol, compiled here (it is not a product
contract, so it has no committed artifact)."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3.contract import Contract

from registry.client import PatentPoolClient
from registry.compile import NODE_MODULES, compile_contracts
from registry.types import PatentStatus
from tests.conftest import USDC, World

TOKEN_SOURCE = Path(__file__).resolve().parent / "tokens" / "FeeOnTransferToken.sol"
FEE = 100 * USDC
OPERATOR, FOUNDER, FOUNDER_2, MEMBER, MEMBER_2 = 0, 1, 2, 3, 4


@pytest.fixture(scope="module")
def token_artifact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fee-token")
    (root / "contracts").mkdir()
    (root / "contracts" / TOKEN_SOURCE.name).write_text(TOKEN_SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    (root / "node_modules").symlink_to(NODE_MODULES)
    artifact = compile_contracts(root / "contracts", names=("FeeOnTransferToken",)).artifacts["FeeOnTransferToken"]
    return {"abi": artifact["abi"], "bytecode": artifact["bytecode"]}  # type: ignore[dict-item]


def _token(world: World, artifact: dict[str, str]) -> Contract:
    chain = world.chain(OPERATOR)
    factory = world.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    address = chain.deploy(factory).value
    return world.w3.eth.contract(address=address, abi=artifact["abi"])


def test_a_fee_switched_on_after_creation_leaves_the_pool_owing_no_more_than_it_holds(
    world: World, token_artifact: dict[str, str]
) -> None:
    token = _token(world, token_artifact)
    pool = PatentPoolClient(
        world.operator, world.factory.create_pool("Fee pool", 2, "f", token.address, world.operator.address).value
    )
    for founder in (FOUNDER, FOUNDER_2):
        pool.admit_founder(world.keys[founder].address)
        asset_id = world.family(founder, {"US": PatentStatus.GRANTED, "CN": PatentStatus.GRANTED})
        world.pool_as(founder, pool).contribute(asset_id)
    pool.set_tier_fee(0, FEE)
    pool.activate()
    for member in (MEMBER, MEMBER_2):
        chain = world.chain(member)
        chain.transact(token.functions.mint(chain.address, FEE))
        chain.transact(token.functions.approve(pool.address, FEE))

    first = world.pool_as(MEMBER, pool).join(0, FEE)
    world.chain(OPERATOR).transact(token.functions.setFeeBps(1_000))  # 10 %, switched on later
    second = world.pool_as(MEMBER_2, pool).join(0, FEE)

    [paid_first] = pool.events(first, "RevenueReceived")
    [paid_second] = pool.events(second, "RevenueReceived")
    assert paid_first["amount"] == FEE
    assert paid_second["amount"] == FEE - FEE // 10  # what arrived, not the fee asked
    held = token.functions.balanceOf(pool.address).call()
    assert held == 2 * FEE - FEE // 10
    accounts = [world.keys[i].address for i in (OPERATOR, FOUNDER, FOUNDER_2)]
    owed = [pool.claimable(a) for a in accounts]
    assert sum(owed) <= held
    assert held - sum(owed) <= len(accounts)  # rounding dust only

    # Every claim is paid, the last one included; before, it reverted for want of tokens.
    for i, amount in zip((OPERATOR, FOUNDER, FOUNDER_2), owed, strict=True):
        assert world.pool_as(i, pool).claim().value == amount
    assert token.functions.balanceOf(pool.address).call() == held - sum(owed)
    assert all(pool.claimable(a) == 0 for a in accounts)

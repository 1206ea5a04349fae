"""`/v1/pools/{address}/revenue` over a really indexed demo chain: the split, the claims, each payee's
claimable compared with the contract's view at the indexed block, and the months adding up."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentPoolClient, StablecoinClient, contract_at
from tests.api.conftest import Seeded, get_json

USD = 10**6


@pytest.fixture(scope="module")
def reader(w3: Web3, keys: list[LocalAccount]) -> Chain:
    """A chain to read views through (the key signs nothing)."""
    return Chain(w3, keys[9])


def claimable_at(w3: Web3, pool: str, account: str, block: int) -> int:
    """PatentPool.claimable(account) as the contract answers at `block`."""
    return int(contract_at(w3, "PatentPool", pool).functions.claimable(account).call(block_identifier=block))


def value(amount: dict[str, Any]) -> int:
    return int(amount["value"])


def test_revenue_splits_every_payment_and_the_money_is_all_in_the_pool_or_claimed(
    client: httpx.Client, seeded: Seeded, reader: Chain
) -> None:
    for result in seeded.result.pools:
        revenue = get_json(client, f"/v1/pools/{result.address}/revenue")["data"]
        pool = get_json(client, f"/v1/pools/{result.address}")["data"]
        coin = StablecoinClient(reader, pool["paymentToken"])
        paid_in, claimed = value(revenue["paymentsIn"]), value(revenue["totalClaimed"])
        assert paid_in == value(pool["totalRevenue"])
        assert claimed == value(pool["totalClaimed"])
        # Nothing else moves the pool's tokens: what came in is still there or was claimed.
        assert coin.balance_of(result.address) == paid_in - claimed
        assert value(revenue["operatorShare"]) + value(revenue["foundersShare"]) == paid_in
        assert value(revenue["operatorShare"]) == value(revenue["operatorAmount"]) + value(revenue["unallocated"])
        # Each payment's operator part is rounded down on its own.
        exact = paid_in * pool["operatorShareBps"] // 10_000
        assert exact - revenue["payments"] <= value(revenue["operatorAmount"]) <= exact
        if result.lifecycle == "active":
            assert revenue["payments"] > 0 and paid_in > 0
        else:
            assert revenue["payments"] == paid_in == 0


def test_each_founder_and_the_treasury_has_the_contracts_claimable_at_the_indexed_block(
    client: httpx.Client, seeded: Seeded, w3: Web3, keys: list[LocalAccount]
) -> None:
    result = seeded.pool("blockchain")
    body = get_json(client, f"/v1/pools/{result.address}/revenue")
    revenue, block = body["data"], body["indexed"]["blockNumber"]
    assert revenue["readAtBlock"] == block
    accounts = {a["account"]: a for a in revenue["accounts"]}
    treasury = keys[0].address  # the demo's operator is every pool's treasury
    assert set(accounts) == set(result.founders) | {treasury}
    assert accounts[treasury]["roles"] == ["treasury"]
    claimers = set(result.founders[: max(1, len(result.founders) // 2)])
    for account, row in accounts.items():
        assert value(row["claimable"]) == claimable_at(w3, result.address, account, block)
        assert value(row["accrued"]) == value(row["claimed"]) + value(row["claimable"])
        if account in claimers:
            assert row["claims"] == 1 and value(row["claimed"]) > 0 and row["lastClaim"]["txHash"].startswith("0x")
        else:
            assert row["claims"] == 0 and value(row["claimed"]) == 0 and row["lastClaim"] is None
    # The treasury's credit is exact; the founders' accumulator may keep a few base units of dust.
    assert value(accounts[treasury]["accrued"]) == value(revenue["operatorShare"])
    founders_accrued = sum(value(accounts[f]["accrued"]) for f in result.founders)
    dust = value(revenue["foundersShare"]) - founders_accrued
    assert 0 <= dust <= revenue["payments"] + len(result.founders)
    assert value(revenue["totalClaimable"]) == sum(value(a["claimable"]) for a in accounts.values())
    assert value(revenue["totalClaimed"]) == sum(value(a["claimed"]) for a in accounts.values())
    assert revenue["claims"] == len(claimers) == result.claims
    assert sum(a["shareBps"] for a in accounts.values()) <= 10_000


def test_the_months_add_up_to_the_totals(client: httpx.Client, seeded: Seeded) -> None:
    for result in seeded.result.pools:
        revenue = get_json(client, f"/v1/pools/{result.address}/revenue")["data"]
        months = revenue["byMonth"]
        assert all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m["month"]) for m in months)
        assert [m["month"] for m in months] == sorted({m["month"] for m in months})
        assert sum(m["payments"] for m in months) == revenue["payments"]
        assert sum(value(m["amount"]) for m in months) == value(revenue["paymentsIn"])
        assert sum(value(m["operator"]) for m in months) == value(revenue["operatorShare"])
        assert sum(value(m["founders"]) for m in months) == value(revenue["foundersShare"])
        for month in months:
            assert value(month["operator"]) + value(month["founders"]) == value(month["amount"])
            assert month["amount"]["symbol"] == revenue["paymentsIn"]["symbol"]


def test_revenue_follows_a_claim_a_new_treasury_and_a_new_payment(
    client: httpx.Client,
    seeded: Seeded,
    snapshot: None,
    chain_change: Any,
    w3: Web3,
    keys: list[LocalAccount],
) -> None:
    result = seeded.pool("metaverse")
    before = get_json(client, f"/v1/pools/{result.address}/revenue")["data"]
    old_treasury, new_treasury, joiner = keys[0].address, keys[3].address, keys[4]
    operator = PatentPoolClient(Chain(w3, keys[0]), result.address)
    taken = operator.claim().value
    operator.set_treasury(new_treasury)
    fee = operator.tier_fee(0)
    coin = StablecoinClient(Chain(w3, joiner), seeded.deployment.address("TestStablecoin"))
    coin.mint(joiner.address, fee)
    coin.approve(result.address, fee)
    PatentPoolClient(Chain(w3, joiner), result.address).join(0, fee)
    chain_change()

    body = get_json(client, f"/v1/pools/{result.address}/revenue")
    after, block = body["data"], body["indexed"]["blockNumber"]
    accounts = {a["account"]: a for a in after["accounts"]}
    was = {a["account"]: a for a in before["accounts"]}[old_treasury]
    assert accounts[old_treasury]["roles"] == ["former-treasury"]
    assert accounts[new_treasury]["roles"] == ["treasury"]
    assert value(was["claimable"]) == taken
    assert value(accounts[old_treasury]["claimed"]) == value(was["claimed"]) + taken
    assert value(accounts[old_treasury]["claimable"]) == 0
    assert value(accounts[old_treasury]["accrued"]) == value(was["accrued"])
    # The new payment's operator share is the new treasury's, to the base unit.
    operator_part = value(after["operatorShare"]) - value(before["operatorShare"])
    assert value(accounts[new_treasury]["claimable"]) == operator_part > 0
    for account, row in accounts.items():
        assert value(row["claimable"]) == claimable_at(w3, result.address, account, block)
    assert after["payments"] == before["payments"] + 1
    assert value(after["paymentsIn"]) == value(before["paymentsIn"]) + fee
    assert after["byMonth"][-1]["payments"] >= 1
    assert sum(value(m["amount"]) for m in after["byMonth"]) == value(after["paymentsIn"])


def test_revenue_of_an_unknown_or_malformed_pool_is_a_problem(client: httpx.Client) -> None:
    for path, status in (
        ("/v1/pools/0x" + "56" * 20 + "/revenue", 404),
        ("/v1/pools/nope/revenue", 400),
        ("/v1/pools/0x12345/revenue", 400),
        ("/v1/pools/0x" + "zz" * 20 + "/revenue", 400),
    ):
        response = client.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]

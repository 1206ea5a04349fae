"""`/v1/companies/{address}` over a really indexed demo chain: one address across every pool, compared
with the contracts' views and the seeded demo."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, contract_at
from registry.types import Tier
from tests.api.conftest import Seeded, get_json

USD = 10**6


@pytest.fixture(scope="module")
def reader(w3: Web3, keys: list[LocalAccount]) -> Chain:
    """A chain to read views through (the key signs nothing)."""
    return Chain(w3, keys[9])


def value(amount: dict[str, Any]) -> int:
    return int(amount["value"])


def company(client: httpx.Client, address: str) -> tuple[dict[str, Any], int]:
    body = get_json(client, f"/v1/companies/{address}")
    return body["data"], body["indexed"]["blockNumber"]


def every(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get(path, params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        rows.extend(response.json()["data"])
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return rows


def test_a_founder_sees_its_pool_weight_assets_and_claimable_as_the_chain_has_them(
    client: httpx.Client, seeded: Seeded, reader: Chain, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    founder = result.founders[0]  # among the demo's claimers
    data, block = company(client, founder.lower())
    assert data["address"] == founder
    pool = PatentPoolClient(reader, result.address)

    [founded] = [f for f in data["founderOf"] if f["pool"] == result.address]
    assert founded["poolName"] == result.name
    assert founded["weight"] == pool.founder_weight(founder)
    contributed = every(client, f"/v1/pools/{result.address}/assets", founder=founder)
    assert founded["assetIds"] == [a["assetId"] for a in contributed]
    assert founded["assetCount"] == len(contributed) > 0

    owned = every(client, "/v1/assets", owner=founder)
    assert [a["assetId"] for a in data["assetsOwned"]] == [a["assetId"] for a in owned]
    registry = PatentAssetClient(reader, seeded.deployment.address("PatentAsset"))
    assert all(registry.owner_of(a["assetId"]) == founder for a in data["assetsOwned"])

    [money] = [m for m in data["money"] if m["pool"] == result.address]
    on_chain = contract_at(w3, "PatentPool", result.address).functions.claimable(founder).call(block_identifier=block)
    assert value(money["claimable"]) == on_chain
    assert money["claims"] == 1 and value(money["claimed"]) > 0
    revenue = get_json(client, f"/v1/pools/{result.address}/revenue")["data"]
    [payee] = [a for a in revenue["accounts"] if a["account"] == founder]
    assert (money["claimed"], money["claimable"]) == (payee["claimed"], payee["claimable"])
    assert data["memberOf"] == [] and data["licences"] == []
    assert data["readAtBlock"] == block
    assert data["truncated"] is False


def test_a_member_sees_each_pool_it_joined_with_the_chains_term_and_what_it_paid(
    client: httpx.Client, seeded: Seeded, reader: Chain
) -> None:
    result = seeded.pool("metaverse")
    member = result.member_sample[1]
    data, _ = company(client, member)
    joined = {m["pool"]: m for m in data["memberOf"]}
    assert result.address in joined
    paid = {m["pool"]: m for m in data["money"]}
    for address, membership in joined.items():
        on_chain = PatentPoolClient(reader, address).membership(member)
        assert membership["tier"] == Tier(on_chain["tier"]).name.lower()
        assert membership["validUntil"]["unix"] == on_chain["validUntil"]
        assert membership["current"] is True
        # A member pays only its fee: the sum of its payments is the membership's total paid.
        assert paid[address]["paid"] == membership["totalPaid"]
        assert paid[address]["payments"] == 1 + membership["renewals"]
        assert value(paid[address]["claimable"]) == 0
        assert membership["provenance"]["txHash"].startswith("0x")
    # Every pool that lists it as a member, and only those.
    listed = {
        p.address
        for p in seeded.result.pools
        if any(m["member"] == member for m in every(client, f"/v1/pools/{p.address}/members"))
    }
    assert set(joined) == listed
    assert data["founderOf"] == [] and data["assetsOwned"] == []


def test_licensees_see_their_licence_active_or_revoked_as_the_chain_has_it(
    client: httpx.Client, seeded: Seeded, reader: Chain
) -> None:
    result = seeded.pool("blockchain")
    pool = PatentPoolClient(reader, result.address)
    cases = [(who, "active") for who in result.unified_licensees] + [
        (who, "revoked") for who in result.revoked_licensees
    ]
    assert cases
    for who, status in cases:
        data, _ = company(client, who)
        [licence] = [lic for lic in data["licences"] if lic["pool"] == result.address]
        on_chain = pool.licence(licence["licenceId"])
        assert on_chain["licensee"] == who
        assert licence["status"] == status
        assert on_chain["revoked"] is (status == "revoked")
        assert licence["current"] is (status == "active")
        assert licence["wholePool"] is on_chain["wholePool"] is True
        assert (licence["start"]["unix"], licence["end"]["unix"]) == (on_chain["start"], on_chain["end"])
        assert value(licence["price"]) == on_chain["price"] == 1_500 * USD
        [money] = [m for m in data["money"] if m["pool"] == result.address]
        assert value(money["paid"]) == 1_500 * USD and money["payments"] == 1


def test_a_challenger_sees_the_disputes_it_opened(client: httpx.Client, seeded: Seeded) -> None:
    result = seeded.pool("blockchain")
    challenger = result.member_sample[0]  # the demo's first member of a pool files its disputes
    data, _ = company(client, challenger)
    opened = [d for d in data["disputesOpened"] if d["pool"] == result.address]
    listed = [d for d in every(client, f"/v1/pools/{result.address}/disputes") if d["challenger"] == challenger]
    assert opened == listed
    assert {d["assetId"] for d in opened if d["status"] == "upheld"} == set(result.suspended_assets)


def test_the_treasury_sees_what_every_pool_owes_it(
    client: httpx.Client, seeded: Seeded, keys: list[LocalAccount], w3: Web3
) -> None:
    treasury = keys[0].address
    data, block = company(client, treasury)
    money = {m["pool"]: m for m in data["money"]}
    assert set(money) == {p.address for p in seeded.result.pools}
    for result in seeded.result.pools:
        on_chain = (
            contract_at(w3, "PatentPool", result.address).functions.claimable(treasury).call(block_identifier=block)
        )
        assert value(money[result.address]["claimable"]) == on_chain
        assert money[result.address]["poolName"] == result.name
        revenue = get_json(client, f"/v1/pools/{result.address}/revenue")["data"]
        assert money[result.address]["claimable"] == revenue["operatorShare"]


def test_an_address_in_nothing_is_an_empty_company_not_a_404(client: httpx.Client) -> None:
    data, block = company(client, "0x" + "de" * 20)
    assert data["address"] == Web3.to_checksum_address("0x" + "de" * 20)
    for key in ("founderOf", "memberOf", "licences", "assetsOwned", "money", "disputesOpened"):
        assert data[key] == [], key
    assert data["truncated"] is False
    assert data["readAtBlock"] == block


def test_a_malformed_address_is_a_400_problem(client: httpx.Client) -> None:
    for bad in ("nope", "0x1234", "0x" + "g" * 40, "' OR 1=1 --", "0x" + "ab" * 21):
        response = client.get(f"/v1/companies/{bad}")
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "must be an address" in response.json()["detail"]
    response = client.get("/v1/companies/" + "0x" + "ab" * 40)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"

"""`/v1/pools/{address}/offers` and `/licences`, over a really indexed demo chain, against the contract's views."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentPoolClient, StablecoinClient
from tests.api.conftest import Seeded, get_json
from tests.conftest import YEAR


def _pool(w3: Web3, keys: list[LocalAccount], address: str) -> PatentPoolClient:
    """A read client for the contract's views (and the operator's writes: anvil key 0)."""
    return PatentPoolClient(Chain(w3, keys[0]), address)


def _rows(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """The first page's rows (`get_json` takes `status` as the HTTP status, which these lists filter by)."""
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def _all(client: httpx.Client, path: str, limit: int = 50, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = get_json(client, path, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        rows.extend(body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            return rows


def test_offers_match_the_contracts_offer_views(
    client: httpx.Client, seeded: Seeded, w3: Web3, keys: list[LocalAccount]
) -> None:
    result = seeded.pool("blockchain")
    pool = _pool(w3, keys, result.address)
    offers = _all(client, f"/v1/pools/{result.address.lower()}/offers")
    assert [o["offerId"] for o in offers] == list(range(1, pool.counts()["offers"] + 1))
    for offer in offers:
        view = pool.offer(offer["offerId"])
        assert offer["pool"] == result.address
        assert offer["licensee"] == view["licensee"]
        assert offer["assetIds"] == view["assetIds"] and offer["wholePool"] is (view["assetIds"] == [])
        assert (offer["start"]["unix"], offer["end"]["unix"]) == (view["start"], view["end"])
        assert offer["end"]["unix"] - offer["start"]["unix"] == YEAR
        assert offer["price"]["value"] == str(view["price"]) and offer["price"]["display"] == "1,500.00 tUSD"
        assert offer["termsHash"] == "0x" + view["termsHash"].hex()
        assert offer["status"] == ("open" if view["open"] else "accepted" if view["licenceId"] else "cancelled")
        assert offer["licenceId"] == (view["licenceId"] or None)
        receipt = w3.eth.get_transaction_receipt(offer["provenance"]["txHash"])
        assert receipt["blockNumber"] == offer["provenance"]["blockNumber"]
    # The demo's offers were all accepted (one licence revoked later).
    assert {o["licensee"] for o in offers} == set(result.unified_licensees + result.revoked_licensees)


def test_licences_match_the_contracts_licence_views(
    client: httpx.Client, seeded: Seeded, w3: Web3, keys: list[LocalAccount]
) -> None:
    result = seeded.pool("metaverse")
    pool = _pool(w3, keys, result.address)
    licences = _all(client, f"/v1/pools/{result.address}/licences", limit=1)
    assert [lic["licenceId"] for lic in licences] == list(range(1, result.licences + 1))
    for licence in licences:
        view = pool.licence(licence["licenceId"])
        assert licence["licensee"] == view["licensee"] and licence["offerId"] == view["offerId"]
        assert (licence["start"]["unix"], licence["end"]["unix"]) == (view["start"], view["end"])
        assert licence["grantedAt"]["unix"] == view["grantedAt"]
        assert licence["price"]["value"] == str(view["price"])
        assert licence["wholePool"] is view["wholePool"] and licence["assetIds"] == []
        assert (licence["status"] == "revoked") is view["revoked"]
        assert licence["current"] is (not view["revoked"])
        if view["revoked"]:
            assert licence["reasonHash"] == "0x" + keccak(text="demo: terms breached").hex()
            block = w3.eth.get_block(licence["provenance"]["blockNumber"])
            assert licence["revokedAt"]["unix"] == block["timestamp"]
        else:
            assert licence["reasonHash"] is None and licence["revokedAt"] is None
    by_status = {
        status: [lic["licensee"] for lic in _rows(client, f"/v1/pools/{result.address}/licences", status=status)]
        for status in ("active", "revoked")
    }
    assert by_status == {"active": result.unified_licensees, "revoked": result.revoked_licensees}


def test_offer_and_licence_filters_by_licensee_and_status(client: httpx.Client, seeded: Seeded) -> None:
    result = seeded.pool("blockchain")
    who = result.revoked_licensees[0]
    path = f"/v1/pools/{result.address}"
    offers = _rows(client, f"{path}/offers", licensee=who.lower())
    assert [o["licensee"] for o in offers] == [who]
    licences = _rows(client, f"{path}/licences", licensee=who)
    assert [(lic["licensee"], lic["status"], lic["offerId"]) for lic in licences] == [
        (who, "revoked", offers[0]["offerId"])
    ]
    assert _rows(client, f"{path}/offers", status="cancelled") == []
    accepted = _rows(client, f"{path}/offers", status="accepted")
    assert len(accepted) == result.licences
    assert _rows(client, f"{path}/licences", licensee="0x" + "ab" * 20) == []


def test_licences_csv_has_the_same_rows_as_json(client: httpx.Client, seeded: Seeded) -> None:
    path = f"/v1/pools/{seeded.pool('blockchain').address}/licences"
    as_json = get_json(client, path, limit=2)
    response = client.get(path, params={"limit": 2, "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["licenceId"]) for r in rows] == [lic["licenceId"] for lic in as_json["data"]]
    assert [r["price.value"] for r in rows] == [lic["price"]["value"] for lic in as_json["data"]]
    assert [r["provenance.txHash"] for r in rows] == [lic["provenance"]["txHash"] for lic in as_json["data"]]


def test_bad_offer_and_licence_input_is_a_4xx_problem(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain").address
    cases: list[tuple[str, dict[str, str | int], int]] = [
        (f"/v1/pools/{pool}/offers", {"status": "expired"}, 422),
        (f"/v1/pools/{pool}/licences", {"status": "open"}, 422),
        (f"/v1/pools/{pool}/offers", {"licensee": "0x12"}, 400),
        (f"/v1/pools/{pool}/licences", {"licensee": "' OR 1=1 --"}, 400),
        (f"/v1/pools/{pool}/licences", {"limit": 501}, 422),
        (f"/v1/pools/{pool}/offers", {"cursor": "garbage!"}, 400),
        ("/v1/pools/0x" + "12" * 20 + "/offers", {}, 404),
        ("/v1/pools/0x" + "12" * 20 + "/licences", {}, 404),
    ]
    for path, params, status in cases:
        response = client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # A cursor of the offers list is refused by the licences list.
    first = get_json(client, f"/v1/pools/{pool}/offers", limit=1)
    response = client.get(f"/v1/pools/{pool}/licences", params={"cursor": first["nextCursor"]})
    assert response.status_code == 400


def test_open_cancelled_and_asset_scoped_offers_after_the_chain_changes(
    client: httpx.Client,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    snapshot: None,
    chain_change: Callable[[], None],
) -> None:
    result = seeded.pool("blockchain")
    operator = _pool(w3, keys, result.address)
    start = int(w3.eth.get_block("latest")["timestamp"])
    asset, other = result.asset_sample[0], result.asset_sample[1]
    licensee = keys[2]
    price = 250 * 10**6
    terms = keccak(text="test: one asset")
    kept = operator.offer_licence(keys[3].address, [asset], start, start + YEAR, price, terms).value
    cancelled = operator.offer_licence(keys[3].address, [], start, start + YEAR, price, terms).value
    operator.cancel_offer(cancelled)
    accepted = operator.offer_licence(licensee.address, [asset], start, start + YEAR, price, terms).value
    token = seeded.deployment.payment_token
    assert token is not None
    coin = StablecoinClient(Chain(w3, licensee), token)
    coin.mint(licensee.address, price)
    coin.approve(result.address, price)
    licence_id = PatentPoolClient(Chain(w3, licensee), result.address).accept_offer(accepted).value
    chain_change()

    path = f"/v1/pools/{result.address}"
    open_offers = _rows(client, f"{path}/offers", status="open")
    assert [(o["offerId"], o["assetIds"], o["wholePool"]) for o in open_offers] == [(kept, [asset], False)]
    assert [o["offerId"] for o in _rows(client, f"{path}/offers", status="cancelled")] == [cancelled]
    [licence] = _rows(client, f"{path}/licences", licensee=licensee.address)
    assert (licence["licenceId"], licence["offerId"], licence["assetIds"]) == (licence_id, accepted, [asset])
    assert licence["wholePool"] is False and licence["current"] is True

    # The asset-scoped licence covers its asset and no other.
    params: dict[str, Any] = {"pool": result.address, "licensee": licensee.address}
    named = get_json(client, "/v1/licences/verify", **params, asset=asset)["data"]
    assert named["licensed"] is True and named["agree"] is True
    assert named["reason"]["code"] == "licence" and named["reason"]["licence"]["licenceId"] == licence_id
    unnamed = get_json(client, "/v1/licences/verify", **params, asset=other)["data"]
    assert unnamed["licensed"] is False and unnamed["agree"] is True
    assert unnamed["reason"]["code"] == "not_member"
    assert operator.is_licensed(licensee.address, asset, named["at"]["unix"], block=named["blockNumber"]) is True
    assert operator.is_licensed(licensee.address, other, unnamed["at"]["unix"], block=unnamed["blockNumber"]) is False

"""`/v1/pools` and its founders, members and assets, over a really indexed demo chain."""

from __future__ import annotations

import csv
import io

import httpx
from web3 import Web3
from web3.logs import DISCARD

from registry.client import contract_at
from tests.api.conftest import Seeded, get_json


def test_pools_list_every_seeded_pool_with_the_chains_counts(client: httpx.Client, seeded: Seeded) -> None:
    body = get_json(client, "/v1/pools")
    by_address = {p["address"]: p for p in body["data"]}
    assert set(by_address) == {p.address for p in seeded.result.pools}
    for result in seeded.result.pools:
        pool = by_address[result.address]
        assert pool["name"] == result.name
        assert pool["lifecycle"] == result.lifecycle
        assert pool["counts"]["members"] == result.members
        assert pool["provenance"]["txHash"].startswith("0x")
    assert body["indexed"]["blockNumber"] > 0


def test_each_pool_names_the_factorys_pool_created_log(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    factory = contract_at(w3, "PoolFactory", seeded.deployment.address("PoolFactory"))
    for pool in get_json(client, "/v1/pools")["data"]:
        created = pool["created"]
        receipt = w3.eth.get_transaction_receipt(created["txHash"])
        [log] = [
            e
            for e in factory.events.PoolCreated().process_receipt(receipt, errors=DISCARD)
            if e.args.pool == pool["address"]
        ]
        assert created["blockNumber"] == log.blockNumber
        assert created["blockHash"] == "0x" + bytes(log.blockHash).hex()
        assert created["logIndex"] == log.logIndex
        detail = get_json(client, f"/v1/pools/{pool['address']}")["data"]
        assert detail["created"] == created


def test_pool_detail_matches_the_contracts_views(client: httpx.Client, seeded: Seeded, w3) -> None:  # type: ignore[no-untyped-def]
    result = seeded.pool("blockchain")
    body = get_json(client, f"/v1/pools/{result.address.lower()}")
    pool = body["data"]
    assert pool["address"] == result.address
    assert pool["totalRevenue"]["decimals"] == 6
    assert pool["totalRevenue"]["symbol"]
    assert [f["tier"] for f in pool["tierFees"]]
    assert pool["qualification"]["requiredJurisdictions"] == ["US", "CN", "DE", "JP"]


def test_members_pages_walk_the_whole_list_without_repeats(client: httpx.Client, seeded: Seeded) -> None:
    result = seeded.pool("blockchain")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = get_json(client, f"/v1/pools/{result.address}/members", **params)
        seen.extend(m["member"] for m in body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == result.members


def test_members_csv_has_the_same_rows_as_json(client: httpx.Client, seeded: Seeded) -> None:
    result = seeded.pool("metaverse")
    path = f"/v1/pools/{result.address}/members"
    as_json = get_json(client, path, limit=20)
    response = client.get(path, params={"limit": 20}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["member"] for r in rows] == [m["member"] for m in as_json["data"]]
    assert [r["provenance.txHash"] for r in rows] == [m["provenance"]["txHash"] for m in as_json["data"]]
    assert 'rel="next"' in response.headers["link"]


def test_an_unknown_pool_is_a_404_problem(client: httpx.Client) -> None:
    response = client.get("/v1/pools/0x" + "12" * 20)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "no pool at" in response.json()["detail"]


def test_bad_input_is_a_4xx_problem_never_a_500(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("metaverse").address
    cases: list[tuple[str, dict[str, str | int], int]] = [
        ("/v1/pools/not-an-address", {}, 400),
        ("/v1/pools/0x1234", {}, 400),
        ("/v1/pools/' OR 1=1 --", {}, 400),
        (f"/v1/pools/{pool}/members", {"limit": 10000}, 422),
        (f"/v1/pools/{pool}/members", {"limit": -1}, 422),
        (f"/v1/pools/{pool}/members", {"cursor": "garbage!"}, 400),
        (f"/v1/pools/{pool}/members", {"cursor": "WyJwb29scyIsWzEsIngiXV0"}, 400),
        ("/v1/pools", {"kind": "nonsense"}, 422),
    ]
    for path, params, status in cases:
        response = client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]


def test_etag_gives_304_until_the_mirror_moves(client: httpx.Client) -> None:
    first = client.get("/v1/pools")
    tag = first.headers["etag"]
    again = client.get("/v1/pools", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["etag"] == tag
    assert first.headers["x-indexed-block"] == str(first.json()["indexed"]["blockNumber"])


def test_pool_filters(client: httpx.Client, seeded: Seeded) -> None:
    active = get_json(client, "/v1/pools", lifecycle="active")["data"]
    assert {p["address"] for p in active} == {p.address for p in seeded.result.pools if p.lifecycle == "active"}
    assert all(p["kind"] == "technology" for p in get_json(client, "/v1/pools", kind="technology")["data"])

"""`/v1/status`, `/healthz`, `/readyz` and `/v1/stats`, over a really indexed demo chain: the mirror's
checkpoint beside the node's head, readiness following the lag, and the registry's numbers
compared with the contracts' own views and logs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import Session
from web3 import Web3

from api.settings import ApiSettings
from indexer.db import make_engine, upgrade
from indexer.schema import Checkpoint
from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, contract_at
from tests.api.conftest import Mirror, Seeded, Server, api_settings, free_port, get_json
from tests.indexer.conftest import new_database

#: These tests share one client address with the rest of the module; no rate limit is met here.
NO_LIMIT = "1000000/minute"


def settings_over(mirror: Mirror, database_url: str | None = None, rpc_url: str | None = None) -> ApiSettings:
    """The mirror's settings with another database or node."""
    return ApiSettings(
        database_url=database_url or mirror.url, rpc_url=rpc_url or mirror.anvil.url, rate_limit=NO_LIMIT
    )


def checkpoint_of(mirror: Mirror) -> Checkpoint:
    with Session(mirror.engine) as session:
        checkpoint = session.get(Checkpoint, 1)
        assert checkpoint is not None
        return checkpoint


def mine(w3: Web3, blocks: int) -> None:
    for _ in range(blocks):
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_status_equals_the_chains_head_and_the_mirrors_checkpoint(
    client: httpx.Client, mirror: Mirror, w3: Web3
) -> None:
    mirror.catch_up()
    checkpoint = checkpoint_of(mirror)
    response = client.get("/v1/status")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-indexed-block"] == str(checkpoint.block_number)
    status = response.json()["data"]
    head = w3.eth.get_block("latest")
    assert status["head"] == {
        "chainId": checkpoint.chain_id,
        "blockNumber": checkpoint.block_number,
        "blockHash": checkpoint.block_hash,
        "digest": checkpoint.digest,
        "eventCount": checkpoint.event_count,
        "startBlock": checkpoint.start_block,
        "factory": checkpoint.factory,
        "updatedAt": {"unix": int(checkpoint.updated_at), "iso": status["head"]["updatedAt"]["iso"]},
    }
    assert status["chain"] == {
        "chainId": w3.eth.chain_id,
        "blockNumber": head["number"],
        "blockHash": "0x" + bytes(head["hash"]).hex(),
        "blockTime": {"unix": head["timestamp"], "iso": status["chain"]["blockTime"]["iso"]},
    }
    assert checkpoint.block_number == head["number"]
    assert checkpoint.block_hash == "0x" + bytes(head["hash"]).hex()
    assert status["lag"] == 0
    assert status["chainIdMatch"] is True
    assert response.json()["indexed"]["digest"] == checkpoint.digest


def test_status_counts_the_blocks_the_mirror_is_behind(
    client: httpx.Client, mirror: Mirror, w3: Web3, chain_change: Callable[[], None]
) -> None:
    mine(w3, 4)
    status = get_json(client, "/v1/status")["data"]
    assert status["lag"] == 4
    assert status["chain"]["blockNumber"] == status["head"]["blockNumber"] + 4
    chain_change()
    assert get_json(client, "/v1/status")["data"]["lag"] == 0


def test_readyz_is_503_while_the_chain_is_more_than_ready_max_lag_ahead_and_200_after_catch_up(
    mirror: Mirror, w3: Web3, chain_change: Callable[[], None]
) -> None:
    with Server(api_settings(mirror, ready_max_lag=2)) as server, httpx.Client(base_url=server.url) as http:
        ready = get_json(http, "/readyz")
        assert ready == {
            "status": "ready",
            "indexedBlock": checkpoint_of(mirror).block_number,
            "chainBlock": w3.eth.block_number,
            "lag": 0,
            "maxLag": 2,
        }
        mine(w3, 2)
        assert get_json(http, "/readyz")["lag"] == 2
        mine(w3, 1)
        response = http.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/not-ready")
        assert "3 blocks behind" in problem["detail"]
        assert "at most 2" in problem["detail"]
        chain_change()
        assert get_json(http, "/readyz")["lag"] == 0


def test_readyz_is_503_over_a_database_with_nothing_indexed(mirror: Mirror, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    with Server(settings_over(mirror, database_url=url)) as server, httpx.Client(base_url=server.url) as http:
        for path in ("/readyz", "/v1/status"):
            response = http.get(path)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "nothing is indexed yet" in response.json()["detail"]
        assert get_json(http, "/healthz") == {"status": "ok"}


def test_healthz_answers_without_a_database(mirror: Mirror, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    with Server(settings_over(mirror, database_url=url)) as server, httpx.Client(base_url=server.url) as http:
        assert get_json(http, "/healthz") == {"status": "ok"}
        response = http.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"


def test_status_answers_with_no_chain_when_the_node_is_down_and_readyz_is_503(mirror: Mirror) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    with Server(settings_over(mirror, rpc_url=down)) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        status = get_json(http, "/v1/status")["data"]
        assert status["chain"] is None
        assert status["lag"] is None
        assert status["chainIdMatch"] is None
        assert "did not answer" in status["message"]
        assert status["head"]["blockNumber"] == checkpoint_of(mirror).block_number
        response = http.get("/readyz")
        assert response.status_code == 503
        assert "cannot tell how far behind" in response.json()["detail"]


def test_the_status_routes_carry_no_v1_prefix(client: httpx.Client) -> None:
    assert client.get("/v1/healthz").status_code == 404
    assert client.get("/v1/readyz").status_code == 404


# --- stats ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader(w3: Web3, keys: list[LocalAccount]) -> Chain:
    return Chain(w3, keys[0])


def test_stats_are_the_contracts_own_numbers(client: httpx.Client, seeded: Seeded, w3: Web3, reader: Chain) -> None:
    body = get_json(client, "/v1/stats")
    stats = body["data"]
    factory = PoolFactoryClient(reader, seeded.deployment.address("PoolFactory"))
    addresses = factory.pools()
    pools = {a: PatentPoolClient(reader, a) for a in addresses}
    counts = {a: p.counts() for a, p in pools.items()}
    stages = [("incubating", "active", "closed")[p.profile()["lifecycle"]] for p in pools.values()]
    assert stats["pools"] == {
        "total": len(addresses),
        "incubating": stages.count("incubating"),
        "active": stages.count("active"),
        "closed": stages.count("closed"),
    }
    assert stats["perPool"] == [
        {
            "address": a,
            "name": pools[a].profile()["name"],
            "lifecycle": stage,
            "members": counts[a]["members"],
            "assets": counts[a]["assets"],
        }
        for a, stage in zip(addresses, stages, strict=True)
    ]
    assert [p["name"] for p in stats["perPool"]] == [p.name for p in seeded.result.pools]
    assert stats["members"] == sum(c["members"] for c in counts.values()) == sum(p.members for p in seeded.result.pools)
    assert stats["assets"] == sum(c["assets"] for c in counts.values())
    assert stats["licences"] == sum(c["licences"] for c in counts.values())
    assert stats["disputes"] == sum(c["disputes"] for c in counts.values())
    assert stats["families"] == PatentAssetClient(reader, seeded.deployment.address("PatentAsset")).total_assets()

    revoked = sum(pools[a].licence(n)["revoked"] for a in addresses for n in range(1, counts[a]["licences"] + 1))
    assert stats["revokedLicences"] == revoked == sum(len(p.revoked_licensees) for p in seeded.result.pools) > 0
    open_disputes = sum(
        pools[a].dispute(n)["status"] == 1 for a in addresses for n in range(1, counts[a]["disputes"] + 1)
    )
    assert stats["openDisputes"] == open_disputes

    founders = received = claimed = 0
    for a in addresses:
        events = contract_at(w3, "PatentPool", a).events
        founders += len(events.FounderAdmitted.get_logs(from_block=0))
        received += sum(log["args"]["amount"] for log in events.RevenueReceived.get_logs(from_block=0))
        claimed += sum(log["args"]["amount"] for log in events.RevenueClaimed.get_logs(from_block=0))
    assert stats["founders"] == founders > 0
    token = seeded.deployment.payment_token
    assert token is not None
    coin = contract_at(w3, "TestStablecoin", token)
    assert received > 0
    assert stats["moneyMoved"] == [
        {
            "token": token,
            "pools": len(addresses),
            "received": {
                "value": str(received),
                "decimals": coin.functions.decimals().call(),
                "symbol": coin.functions.symbol().call(),
                "display": stats["moneyMoved"][0]["received"]["display"],
            },
            "claimed": {
                "value": str(claimed),
                "decimals": coin.functions.decimals().call(),
                "symbol": coin.functions.symbol().call(),
                "display": stats["moneyMoved"][0]["claimed"]["display"],
            },
        }
    ]
    latest = w3.eth.get_block("latest")["timestamp"]
    members = {
        (a, log["args"]["member"])
        for a in addresses
        for log in contract_at(w3, "PatentPool", a).events.MemberJoined.get_logs(from_block=0)
    }
    current = sum(pools[a].membership(m)["validUntil"] > latest for a, m in members)
    assert stats["currentMembers"] == current > 0
    assert body["indexed"]["blockNumber"] == w3.eth.block_number


def test_a_database_never_migrated_is_not_indexed_yet_not_an_error(
    mirror: Mirror, tmp_path: Path, api_backend: str, postgres_unavailable: str | None
) -> None:
    """The API started before the first `patentpool index` (no tables at all): 503, on both backends."""
    urls = new_database(api_backend, tmp_path, postgres_unavailable)
    url = next(urls)
    try:
        with Server(settings_over(mirror, database_url=url)) as server, httpx.Client(base_url=server.url) as http:
            for path in ("/v1/pools", "/v1/pools/0x" + "12" * 20, "/readyz", "/v1/status"):
                response = http.get(path)
                assert response.status_code == 503, (path, response.text)
                assert "nothing is indexed yet" in response.json()["detail"]
    finally:
        next(urls, None)

"""`/v1/events`, `/v1/pools/{address}/events` and the `/v1/events/stream` Server-Sent Events, over a
really indexed demo chain, compared with the logs the node itself returns."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentPoolClient, StablecoinClient, contract_at
from tests.api.conftest import Mirror, Seeded, Server, api_settings, get_json
from tests.conftest import extra_accounts, fund_ether


def active_pool(seeded: Seeded) -> str:
    return next(p.address for p in seeded.result.pools if p.lifecycle == "active" and p.members)


def join_new_members(w3: Web3, seeded: Seeded, pool: str, accounts: list[Any]) -> list[str]:
    """Each account mints the startup fee, approves the pool and joins it; returns the tx hashes."""
    # A coinbase of this call's own: the same joins repeated after a revert (on the other backend)
    # then never mine a block with the hash of a reverted one.
    w3.provider.make_request("anvil_setCoinbase", ["0x" + uuid.uuid4().hex + "0" * 8])  # type: ignore[arg-type]
    fund_ether(w3, accounts)
    token = seeded.deployment.payment_token
    assert token is not None
    hashes = []
    for account in accounts:
        chain = Chain(w3, account)
        member = PatentPoolClient(chain, pool)
        fee = member.tier_fee(0)
        coin = StablecoinClient(chain, token)
        coin.mint(account.address, fee)
        coin.approve(pool, fee)
        hashes.append(member.join(0, fee).tx_hash)
    return hashes


def walk(
    client: httpx.Client, path: str, limit: int, between: Callable[[], None] | None = None, **params: Any
) -> list[Any]:
    """Every row of a list, page by page; `between` runs before each next page is asked for."""
    rows: list[Any] = []
    cursor = None
    for _ in range(10_000):
        body = get_json(client, path, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        rows.extend(body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            return rows
        if between is not None:
            between()
    raise AssertionError(f"{path} did not end within 10,000 pages")


def position(event: dict[str, Any]) -> tuple[int, int]:
    return event["blockNumber"], event["logIndex"]


def test_a_pools_member_joined_events_are_the_nodes_own_logs(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    result = seeded.pool("blockchain")
    logs = contract_at(w3, "PatentPool", result.address).events.MemberJoined.get_logs(from_block=0)
    events = walk(client, "/v1/events", 100, pool=result.address.lower(), name="MemberJoined")
    assert len(events) == len(logs) == result.members
    for event, log in zip(events, logs, strict=True):
        assert position(event) == (log["blockNumber"], log["logIndex"])
        assert event["txHash"] == "0x" + bytes(log["transactionHash"]).hex()
        assert event["blockHash"] == "0x" + bytes(log["blockHash"]).hex()
        assert event["txIndex"] == log["transactionIndex"]
        assert event["address"] == result.address
        assert event["name"] == "MemberJoined"
        assert event["args"]["member"] == log["args"]["member"]
        assert int(event["args"]["fee"]) == log["args"]["fee"]
        assert event["blockTime"]["unix"] == w3.eth.get_block(log["blockNumber"])["timestamp"]
        assert event["provenance"] == {
            "chainId": w3.eth.chain_id,
            "txHash": event["txHash"],
            "blockNumber": event["blockNumber"],
            "blockHash": event["blockHash"],
            "logIndex": event["logIndex"],
        }


def test_the_pool_events_route_lists_what_the_pool_filter_lists(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("metaverse").address
    nested = walk(client, f"/v1/pools/{pool}/events", 250)
    filtered = walk(client, "/v1/events", 250, pool=pool)
    assert nested == filtered
    assert {e["address"] for e in nested} == {pool}
    assert "PoolInitialized" in {e["name"] for e in nested}


def test_the_whole_list_walks_every_indexed_event_once_in_chain_order(client: httpx.Client) -> None:
    first = get_json(client, "/v1/events", limit=1)
    events = walk(client, "/v1/events", 500)
    positions = [position(e) for e in events]
    assert positions == sorted(set(positions))
    assert len(events) == first["indexed"]["eventCount"]


def test_a_transactions_events_are_its_receipts_logs(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    pool = seeded.pool("blockchain").address
    joined = get_json(client, "/v1/events", pool=pool, name="MemberJoined", limit=1)["data"][0]
    events = get_json(client, "/v1/events", tx=joined["txHash"].upper().replace("0X", "0x"))["data"]
    receipt = w3.eth.get_transaction_receipt(joined["txHash"])
    assert [(e["logIndex"], e["address"]) for e in events] == [
        (log["logIndex"], log["address"]) for log in receipt["logs"]
    ]
    assert {e["name"] for e in events} >= {"MemberJoined", "RevenueReceived", "Transfer"}


def test_the_block_range_bounds_the_list(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain").address
    everything = walk(client, "/v1/events", 500, pool=pool)
    low, high = everything[5]["blockNumber"], everything[len(everything) // 2]["blockNumber"]
    ranged = walk(client, "/v1/events", 100, pool=pool, from_block=low, to_block=high)
    assert ranged == [e for e in everything if low <= e["blockNumber"] <= high]
    assert get_json(client, "/v1/events", pool=pool, from_block=high + 10**9)["data"] == []


def test_events_csv_has_the_same_rows_with_the_args_flattened(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain").address
    params: dict[str, str | int] = {"pool": pool, "name": "MemberJoined", "limit": 15}
    as_json = client.get("/v1/events", params=params).json()["data"]
    response = client.get("/v1/events", params=params | {"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["args.member"] for r in rows] == [e["args"]["member"] for e in as_json]
    assert [r["args.fee"] for r in rows] == [str(e["args"]["fee"]) for e in as_json]
    assert [r["provenance.txHash"] for r in rows] == [e["txHash"] for e in as_json]
    assert [r["blockTime.iso"] for r in rows] == [e["blockTime"]["iso"] for e in as_json]


def test_bad_event_filters_are_4xx_problems(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain").address
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("/v1/events", {"name": "NoSuchEvent"}, 422),
        ("/v1/events", {"name": "MemberJoined' OR 1=1 --"}, 422),
        ("/v1/events", {"pool": "0x" + "12" * 20}, 404),
        ("/v1/events", {"pool": "nonsense"}, 400),
        ("/v1/events", {"tx": "0x1234"}, 422),
        ("/v1/events", {"from_block": -1}, 422),
        ("/v1/events", {"from_block": 10, "to_block": 9}, 400),
        ("/v1/events", {"cursor": "garbage!"}, 400),
        ("/v1/events", {"limit": 501}, 422),
        (f"/v1/pools/{'0x' + '12' * 20}/events", {}, 404),
        (f"/v1/pools/{pool}/events", {"name": "Nope"}, 422),
    ]
    for path, params, status in cases:
        response = client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]
    # A cursor of the whole list is refused by one pool's list.
    cursor = get_json(client, "/v1/events", limit=1)["nextCursor"]
    assert client.get(f"/v1/pools/{pool}/events", params={"cursor": cursor}).status_code == 400


def test_pages_never_skip_or_repeat_while_new_events_are_indexed(
    client: httpx.Client, seeded: Seeded, w3: Web3, chain_change: Callable[[], None]
) -> None:
    before = walk(client, "/v1/events", 500)
    existing = [position(e) for e in before]
    pool = active_pool(seeded)
    newcomers = iter(extra_accounts(12, start=880_000))
    joined: list[str] = []

    def one_more_member() -> None:
        account = next(newcomers, None)
        if account is not None:
            join_new_members(w3, seeded, pool, [account])
            joined.append(account.address)
            chain_change()

    limit = len(existing) // 8 + 1
    walked = walk(client, "/v1/events", limit, between=one_more_member)
    positions = [position(e) for e in walked]
    assert len(positions) == len(set(positions)), "a row was repeated"
    assert positions == sorted(positions)
    assert [p for p in positions if p <= existing[-1]] == existing, "a row that existed at the start was skipped"
    assert len(joined) >= 8
    new_members = [e["args"]["member"] for e in walked if e["name"] == "MemberJoined" and position(e) > existing[-1]]
    assert new_members == joined


# --- the stream ---------------------------------------------------------------------------------


@dataclass
class Message:
    """One Server-Sent Events message."""

    id: str | None = None
    data: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads("\n".join(self.data))


def messages(response: httpx.Response) -> Iterator[Message | str]:
    """The stream's messages, and its comment lines (the pings) as text, as they arrive."""
    current = Message()
    for line in response.iter_lines():
        if line == "":
            if current.data or current.id is not None:
                yield current
            current = Message()
        elif line.startswith(":"):
            yield line
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                current.id = value
            elif name == "data":
                current.data.append(value)


def take(stream: Iterator[Message | str], n: int) -> list[Message]:
    got: list[Message] = []
    while len(got) < n:
        item = next(stream)
        if isinstance(item, Message):
            got.append(item)
    return got


def test_the_stream_resumes_after_last_event_id_and_delivers_new_events(
    mirror: Mirror, seeded: Seeded, w3: Web3, chain_change: Callable[[], None]
) -> None:
    settings = api_settings(mirror, stream_max_seconds=60, stream_poll_interval=0.1)
    with Server(settings) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        indexed = get_json(http, "/v1/events", limit=1)["indexed"]
        recent = walk(http, "/v1/events", 100, from_block=max(0, indexed["blockNumber"] - 30))
        assert len(recent) >= 5
        resume = recent[-5]
        with http.stream(
            "GET", "/v1/events/stream", headers={"Last-Event-ID": f"{resume['blockNumber']}-{resume['logIndex']}"}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = messages(response)
            old = take(stream, 4)
            assert [m.id for m in old] == [f"{e['blockNumber']}-{e['logIndex']}" for e in recent[-4:]]
            assert [m.json() for m in old] == recent[-4:]

            head = w3.eth.block_number
            newcomer = extra_accounts(1, start=881_000)[0]
            join_new_members(w3, seeded, active_pool(seeded), [newcomer])
            chain_change()
            expected = walk(http, "/v1/events", 100, from_block=head + 1)
            assert "MemberJoined" in {e["name"] for e in expected}
            new = take(stream, len(expected))
            assert [m.json() for m in new] == expected
            assert [m.id for m in new] == [f"{e['blockNumber']}-{e['logIndex']}" for e in expected]
            assert new[[e["name"] for e in expected].index("MemberJoined")].json()["args"]["member"] == newcomer.address


def test_the_stream_filters_by_pool_and_name_from_the_after_parameter(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain").address
    joins = walk(client, "/v1/events", 500, pool=pool, name="MemberJoined")
    start = joins[-3]
    params = {"pool": pool.lower(), "name": "MemberJoined", "after": f"{start['blockNumber']}-{start['logIndex']}"}
    with client.stream("GET", "/v1/events/stream", params=params) as response:
        assert response.status_code == 200
        got = take(messages(response), 2)
    assert [m.json() for m in got] == joins[-2:]


def test_the_stream_sends_pings_and_closes_after_its_time(mirror: Mirror) -> None:
    settings = api_settings(mirror, stream_max_seconds=1.5, stream_poll_interval=0.2, stream_ping_interval=0.3)
    with Server(settings) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        started = time.monotonic()
        with http.stream("GET", "/v1/events/stream") as response:
            assert response.status_code == 200
            items = list(messages(response))
        elapsed = time.monotonic() - started
    # From now on nothing new is indexed: only pings, then the server ends the response.
    assert items and all(isinstance(item, str) and item.startswith(": ping") for item in items)
    assert 1.5 <= elapsed < 10


def test_a_malformed_last_event_id_is_a_400_problem(client: httpx.Client, seeded: Seeded) -> None:
    for bad in ["abc", "12", "-1-2", "1-2-3", "1 - 2", "99999999999999999999-0", "1-99999999999"]:
        response = client.get("/v1/events/stream", headers={"Last-Event-ID": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "blockNumber-logIndex" in response.json()["detail"]
    response = client.get("/v1/events/stream", params={"after": "x-1"})
    assert response.status_code == 400
    assert client.get("/v1/events/stream", params={"name": "Nope"}).status_code == 422
    assert client.get("/v1/events/stream", params={"pool": "0x" + "12" * 20}).status_code == 404

"""A misbehaving provider between the indexer and anvil: range limits, suggested ranges and
transport failures change how the logs are read, never what is indexed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer.db import make_engine, upgrade
from indexer.errors import MalformedRequest, RpcUnavailable
from indexer.fetch import LogFetcher, Rpc
from indexer.sync import Indexer, StepResult
from registry.node import AnvilNode
from tests.conftest import USDC, World
from tests.indexer.conftest import dump, index_chain, wait_for
from tests.indexer.proxy import JsonHandler, Proxy


class FaultyProvider(Proxy):
    """An HTTP JSON-RPC proxy to anvil that refuses wide eth_getLogs ranges and drops requests."""

    def __init__(
        self,
        upstream: str,
        watched: str,
        max_range: int,
        suggest: bool,
        fail_every: int,
        chaos: bool = False,
        dead_after: int | None = None,
    ) -> None:
        self.chaos = chaos  # also drop connections, delay answers and rate-limit, in turn
        self.dead_after = dead_after  # from this request on, every answer is HTTP 503
        self.watched = watched  # the ranges of the filter holding this address are recorded
        self.max_range = max_range
        self.suggest = suggest
        self.fail_every = fail_every
        self.requests = 0
        self.ranges: list[tuple[int, int]] = []
        self.outcomes: list[str] = []
        proxy = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.body()
                fault = proxy.chaos_fault()
                if fault == "drop":
                    # Hang up without an answer, as a provider's load balancer sometimes does.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "delay":
                    time.sleep(0.2)
                status, answer = proxy.answer(json.loads(body))
                if fault == "http-429":
                    status, answer = 429, {"error": "too many requests"}
                elif fault == "rpc-rate-limit" and isinstance(answer, dict):
                    answer = {
                        "jsonrpc": "2.0",
                        "id": answer.get("id"),
                        "error": {"code": -32005, "message": "rate limit exceeded, retry later"},
                    }
                self.answer(json.dumps(answer).encode(), status)

        super().__init__(upstream, Handler)

    def chaos_fault(self) -> str | None:
        if not self.chaos:
            return None
        self.chaos_count = getattr(self, "chaos_count", 0) + 1
        return {3: "drop", 5: "delay", 7: "http-429", 11: "rpc-rate-limit"}.get(self.chaos_count % 13)

    def answer(self, request: Any) -> tuple[int, Any]:
        self.requests += 1
        if self.dead_after is not None and self.requests >= self.dead_after:
            return 503, {"error": "gone for good"}
        if self.fail_every and self.requests % self.fail_every == 0:
            return 503, {"error": "upstream overloaded"}
        if isinstance(request, dict) and request.get("method") == "eth_getLogs":
            query = request["params"][0]
            first, last = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            watched = self.watched in query.get("address", [])
            if last - first + 1 > self.max_range:
                if watched:
                    self.outcomes.append("refused")
                text = "query returned more than 10000 results"
                if self.suggest:
                    text += f". Try with this block range [{hex(first)}, {hex(first + self.max_range - 1)}]."
                return 200, {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32005, "message": text}}
            if watched:
                self.outcomes.append("read")
                self.ranges.append((first, last))
        return 200, self.call(request)


@pytest.fixture
def history(world: World) -> None:
    """A few pools with events spread over many blocks."""
    for n in range(3):
        pool = world.new_pool(f"Pool {n}")
        pool.set_territory(f"T{n}")
        world.coin.mint(world.operator.address, USDC)
        world.coin.transfer(pool.address, USDC)
        world.w3.provider.make_request("anvil_mine", [hex(7)])  # type: ignore[arg-type]


@pytest.mark.parametrize("suggest", [False, True], ids=["halving", "suggested-range"])
def test_range_limits_and_dropped_requests_change_nothing_that_is_indexed(
    history: None, world: World, anvil: AnvilNode, new_engine: Callable[[], Engine], suggest: bool
) -> None:
    direct = index_chain(new_engine(), anvil, world.deployment)
    factory = world.deployment.address("PoolFactory")
    with FaultyProvider(anvil.url, factory, max_range=5, suggest=suggest, fail_every=5) as proxy:
        rpc = Rpc(proxy.url, backoff=0.001)
        fetcher = LogFetcher(rpc, initial_range=64)
        faulty = Indexer(new_engine(), rpc, world.deployment, fetcher=fetcher)
        faulty.prepare()
        faulty.run()
    assert fetcher.splits > 0 and rpc.retries > 0
    # Halving from 64 blocks takes several refusals in a row; the suggested range is taken at once.
    refusals_in_a_row = any(a == b == "refused" for a, b in zip(proxy.outcomes, proxy.outcomes[1:], strict=False))
    assert refusals_in_a_row is not suggest
    assert max(b - a + 1 for a, b in proxy.ranges) <= 5
    # The factory's filter read every block from the start to the head exactly once, in order.
    assert proxy.ranges[0][0] == world.deployment.start_block
    assert proxy.ranges[-1][1] == world.w3.eth.block_number
    assert all(b[0] == a[1] + 1 for a, b in zip(proxy.ranges, proxy.ranges[1:], strict=False))
    assert faulty.checkpoint == direct.checkpoint
    assert dump(faulty.engine) == dump(direct.engine)


def test_a_malformed_request_is_not_retried(anvil: AnvilNode) -> None:
    rpc = Rpc(anvil.url, backoff=0.001)
    with pytest.raises(MalformedRequest):
        rpc.call("eth_getLogs", [{"fromBlock": "not-a-block"}])
    assert rpc.retries == 0


def test_dropped_connections_delays_and_rate_limits_change_nothing_that_is_indexed(
    history: None, world: World, anvil: AnvilNode, new_engine: Callable[[], Engine]
) -> None:
    direct = index_chain(new_engine(), anvil, world.deployment)
    factory = world.deployment.address("PoolFactory")
    with FaultyProvider(anvil.url, factory, max_range=8, suggest=False, fail_every=0, chaos=True) as proxy:
        rpc = Rpc(proxy.url, backoff=0.001, timeout=5)
        faulty = Indexer(new_engine(), rpc, world.deployment, fetcher=LogFetcher(rpc, initial_range=8))
        faulty.prepare()
        faulty.run()
    assert rpc.retries >= 3, "the proxy's faults were never met"
    assert faulty.checkpoint == direct.checkpoint
    assert dump(faulty.engine) == dump(direct.engine)


def test_a_provider_that_stays_down_ends_with_a_clear_error_and_an_intact_checkpoint(
    history: None, world: World, anvil: AnvilNode, new_engine: Callable[[], Engine]
) -> None:
    direct = index_chain(new_engine(), anvil, world.deployment)
    engine = new_engine()
    factory = world.deployment.address("PoolFactory")
    with FaultyProvider(anvil.url, factory, max_range=4, suggest=False, fail_every=0, dead_after=12) as proxy:
        rpc = Rpc(proxy.url, backoff=0.001, attempts=4)
        broken = Indexer(engine, rpc, world.deployment, fetcher=LogFetcher(rpc, initial_range=4))
        broken.prepare()
        with pytest.raises(RpcUnavailable) as exc:
            broken.run()
    assert "did not answer after 4 attempts" in str(exc.value)
    stopped_at = broken.checkpoint
    assert stopped_at[0] < direct.checkpoint[0], "the provider died too late to interrupt anything"
    # What was committed is a consistent prefix: resuming against a healthy node ends equal.
    resumed = Indexer(engine, Rpc(anvil.url), world.deployment)
    resumed.prepare()
    assert resumed.checkpoint == stopped_at
    resumed.run()
    assert dump(engine) == dump(direct.engine)


class _Switch(Proxy):
    """A proxy to anvil that answers HTTP 503 to everything while `down`."""

    def __init__(self, upstream: str) -> None:
        self.down = False
        switch = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.body()
                if switch.down:
                    self.answer(b'{"error": "maintenance"}', 503)
                else:
                    self.answer(switch.forward(body))

        super().__init__(upstream, Handler)


def test_following_waits_out_a_provider_outage_and_goes_on(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outage.db'}")
    upgrade(engine)
    steps: list[StepResult] = []
    outages: list[tuple[str, float]] = []
    stop = threading.Event()
    with _Switch(anvil.url) as provider:
        rpc = Rpc(provider.url, attempts=2, backoff=0.001)
        follower = Indexer(engine, rpc, world.deployment)
        follower.prepare()

        def follow() -> None:
            follower.run(
                follow=True,
                should_stop=stop.is_set,
                on_step=steps.append,
                poll_interval=0.05,
                on_outage=lambda exc, wait: outages.append((str(exc), wait)),
            )

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            wait_for(lambda: any(s.kind == "idle" for s in steps), "caught up")
            provider.down = True
            wait_for(lambda: len(outages) >= 2, "two outages noticed")
            world.pool.set_territory("after the outage")  # a block the follower cannot see yet
            provider.down = False
            head = world.w3.eth.block_number
            wait_for(lambda: follower.checkpoint[0] == head, "the new block indexed")
        finally:
            stop.set()
            thread.join(timeout=30)
    assert not thread.is_alive()
    assert "did not answer after 2 attempts: HTTP 503" in outages[0][0]
    assert [wait for _, wait in outages[:2]] == [1.0, 2.0]  # doubling while the outage lasts
    with engine.connect() as conn:
        assert conn.execute(sa.text("select territory from pool")).scalar() == "after the outage"
    engine.dispose()

"""API fixtures: the demo seeded (at a tenth of its scale) on the session's anvil, really indexed
into a SQLite file and into PostgreSQL, and the API served by a real uvicorn over each.

The API and page tests run on an anvil of their own, where the demo is seeded once per worker;
each test module starts from the seeded chain and reverts to it after (an EVM snapshot), and tests
that change the chain take a snapshot of their own (`chain_change`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import Engine
from web3 import Web3

from api.main import create_app
from api.settings import ApiSettings
from indexer.db import make_engine, upgrade
from indexer.fetch import Rpc
from indexer.sync import Indexer
from registry.demo import DemoResult, PoolResult, seed_demo
from registry.deploy import Deployment
from registry.node import AnvilNode
from tests import conftest as root
from tests.conftest import chain_snapshot
from tests.indexer.conftest import _postgres_reason, new_database


@dataclass
class Seeded:
    """The demo on the chain: what seeding it returned."""

    result: DemoResult
    deployment: Deployment

    def pool(self, key: str) -> PoolResult:
        return next(p for p in self.result.pools if p.key == key)


# The API and page tests' own anvil: the session's fixtures again, registered here, so these tests
# get a node of their own (this overrides the session's for them). The demo is seeded on it once per
# worker and kept: each module starts from it and reverts to it.
anvil = root.anvil
w3 = root.w3
deployment = root.deployment


@pytest.fixture(scope="session")
def demo(w3: Web3, deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo at a tenth of its scale, seeded once per worker (about 4 s)."""
    return seed_demo(w3, deployment, scale=0.1, data_dir=tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def seeded(w3: Web3, deployment: Deployment, demo: DemoResult) -> Iterator[Seeded]:
    """The seeded demo for one module: whatever the module does to the chain is reverted after it."""
    with chain_snapshot(w3):
        yield Seeded(demo, deployment)


@pytest.fixture(scope="session")
def postgres_unavailable() -> str | None:
    return _postgres_reason()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_backend(request: pytest.FixtureRequest) -> str:
    """Each API test module runs over a SQLite file and over PostgreSQL."""
    return str(request.param)


@dataclass
class Mirror:
    """An indexed database of the seeded chain, and how to bring it up to the head again."""

    url: str
    engine: Engine
    anvil: AnvilNode
    deployment: Deployment

    def catch_up(self) -> None:
        indexer = Indexer(self.engine, Rpc(self.anvil.url), self.deployment)
        indexer.prepare()
        indexer.run()


@pytest.fixture(scope="module")
def mirror(
    api_backend: str,
    seeded: Seeded,
    anvil: AnvilNode,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_unavailable: str | None,
) -> Iterator[Mirror]:
    urls = new_database(api_backend, tmp_path_factory.mktemp("db"), postgres_unavailable)
    url = next(urls)
    engine = make_engine(url)
    try:
        upgrade(engine)
        mirror = Mirror(url, engine, anvil, seeded.deployment)
        mirror.catch_up()
        yield mirror
    finally:
        engine.dispose()
        next(urls, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real uvicorn serving `create_app(settings)` on 127.0.0.1, in a thread."""

    def __init__(self, settings: ApiSettings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


#: Tests share one client address; only the rate-limit tests (test_limits.py) set a limit low enough to meet.
TEST_RATE_LIMIT = "1000000/minute"


def api_settings(mirror: Mirror, **overrides: Any) -> ApiSettings:
    """Settings over `mirror`. The response cache re-reads the checkpoint for every request (recheck
    0), so a test sees what it just indexed at once; tests/api/test_cache.py tests the interval."""
    defaults: dict[str, Any] = {"rate_limit": TEST_RATE_LIMIT, "response_cache_recheck": 0.0}
    return ApiSettings(database_url=mirror.url, rpc_url=mirror.anvil.url, **(defaults | overrides))


@pytest.fixture(scope="module")
def server(mirror: Mirror) -> Iterator[Server]:
    with Server(api_settings(mirror)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def chain_change(w3: Web3, mirror: Mirror, snapshot: None) -> Iterator[Callable[[], None]]:
    """For a test that changes the chain: reverted afterwards, and the mirror rebuilt to match.

    (`snapshot` gives the test a coinbase of its own, so blocks it mines never repeat the hash of
    a block another test mined and reverted.)

    Yields `catch_up`, which indexes what the test did. Afterwards the chain is reverted; the
    mirror then follows the revert as a reorg the next time it catches up.
    """
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield mirror.catch_up
    finally:
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        mirror.catch_up()


def get_json(client: httpx.Client, path: str, status: int = 200, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    return response.json()

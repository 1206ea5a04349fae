"""Abuse protection: per-client rate limits (in memory and shared through a real Redis), bounded
requests, and the statement timeout, each against a real uvicorn over the indexed mirror.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
from fastapi import FastAPI

from api.deps import SessionDep
from tests.api.conftest import Mirror, Server, api_settings, free_port

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"

#: A database of its own on the machine's Redis, flushed before and after.
REDIS_URL = "redis://127.0.0.1:6379/15"


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["type"] == f"https://patentpool.dev/problems/{kind}"
    assert body["detail"]
    return body


def limit_headers(response: httpx.Response) -> tuple[int, int, int]:
    return (
        int(response.headers["RateLimit-Limit"]),
        int(response.headers["RateLimit-Remaining"]),
        int(response.headers["RateLimit-Reset"]),
    )


# --- in memory: one process ---------------------------------------------------------------------


@pytest.fixture
def limited(mirror: Mirror) -> Iterator[httpx.Client]:
    """A server allowing 5 requests a minute per client (a new count for each test)."""
    with (
        Server(api_settings(mirror, rate_limit="5/minute")) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        yield http


def test_every_counted_response_carries_the_ratelimit_headers(limited: httpx.Client) -> None:
    remaining = []
    for path in ["/v1/pools", "/v1/stats", "/v1/pools/0xnot-an-address", "/nowhere"]:
        response = limited.get(path)
        limit, left, reset = limit_headers(response)
        assert limit == 5
        assert 0 < reset <= 60
        remaining.append(left)
    assert remaining == [4, 3, 2, 1]


def test_the_request_over_the_limit_is_a_429_problem_with_retry_after(limited: httpx.Client) -> None:
    for _ in range(5):
        assert limited.get("/v1/pools").status_code == 200
    response = limited.get("/v1/pools")
    body = assert_problem(response, 429, "rate-limited")
    assert "more than 5 requests per minute" in str(body["detail"])
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert limit_headers(response) == (5, 0, retry_after)
    assert limited.get("/v1/stats").status_code == 429, "every route shares the client's one limit"


def test_health_and_readiness_probes_are_neither_counted_nor_refused(limited: httpx.Client) -> None:
    for _ in range(5):
        limited.get("/v1/pools")
    assert limited.get("/v1/pools").status_code == 429
    for probe in ["/healthz", "/readyz"]:
        response = limited.get(probe)
        assert response.status_code in (200, 503), response.text
        assert "RateLimit-Limit" not in response.headers


def test_one_clients_excess_does_not_spend_another_clients_allowance(limited: httpx.Client) -> None:
    for _ in range(6):
        limited.get("/v1/pools")
    assert limited.get("/v1/pools").status_code == 429
    # Another loopback address is another client (Linux routes all of 127.0.0.0/8 to lo).
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=limited.base_url, transport=transport, timeout=30) as other:
        response = other.get("/v1/pools")
        assert response.status_code == 200
        assert limit_headers(response)[:2] == (5, 4)


def test_an_unreachable_redis_lets_requests_through_with_one_warning(
    mirror: Mirror, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = api_settings(mirror, rate_limit="2/minute", rate_limit_storage=closed)
    with (
        caplog.at_level(logging.WARNING, logger="api.limits"),
        Server(settings) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        responses = [http.get("/v1/pools") for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4, "fail open: more than the limit, none refused"
    assert all("RateLimit-Remaining" not in r.headers for r in responses), "no count to report"
    warnings = [r.getMessage() for r in caplog.records if r.name == "api.limits"]
    assert len(warnings) == 1, warnings
    assert "rate limiting is off" in warnings[0]


# --- Redis: two processes sharing one limit ------------------------------------------------------


@pytest.fixture
def shared_redis() -> Iterator[str]:
    """The machine's Redis (db 15, emptied before and after); a skip where there is none, except in CI."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"no Redis at {REDIS_URL} ({type(exc).__name__}: {exc}); .ci/run starts one"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


def uvicorn_process(mirror: Mirror, port: int, storage: str, rate: str) -> subprocess.Popen[bytes]:
    """`python -m uvicorn api.main:create_app --factory`, configured by its environment alone."""
    env = os.environ | {
        "DATABASE_URL": mirror.url,
        "PATENTPOOL_RPC_URL": mirror.anvil.url,
        "PATENTPOOL_RATE_LIMIT_STORAGE": storage,
        "PATENTPOOL_RATE_LIMIT": rate,
    }
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_serving(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"uvicorn exited with {process.returncode}: {stderr.decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:  # not counted
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn at {url} did not answer within 60 s")


@pytest.fixture
def two_processes(mirror: Mirror, shared_redis: str) -> Iterator[list[str]]:
    """Two uvicorn processes over the mirror, both counting in the shared Redis: 10 requests a minute."""
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for _ in range(2):
            port = free_port()
            processes.append(uvicorn_process(mirror, port, shared_redis, "10/minute"))
            urls.append(f"http://127.0.0.1:{port}")
        for process, url in zip(processes, urls, strict=True):
            wait_until_serving(process, url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_two_api_processes_share_one_limit_through_redis(two_processes: list[str]) -> None:
    first, second = two_processes
    assert first != second
    remaining = []
    for n in range(10):
        response = httpx.get(f"{two_processes[n % 2]}/v1/pools", timeout=30)
        assert response.status_code == 200, response.text
        limit, left, _ = limit_headers(response)
        assert limit == 10
        remaining.append(left)
    assert remaining == list(range(9, -1, -1)), "one count across both processes"
    for url in two_processes:
        response = httpx.get(f"{url}/v1/pools", timeout=30)
        assert_problem(response, 429, "rate-limited")
        assert int(response.headers["Retry-After"]) > 0
    keys: list[bytes] = redis.Redis.from_url(REDIS_URL).keys("*")  # type: ignore[assignment]
    assert len(keys) == 1, f"one counter for the one client: {keys}"


# --- bounded requests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bounded(mirror: Mirror) -> Iterator[httpx.Client]:
    """A server accepting requests of at most 2048 bytes (URL, headers and body)."""
    with (
        Server(api_settings(mirror, max_request_bytes=2048)) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        yield http


def test_a_request_within_the_bound_is_answered(bounded: httpx.Client) -> None:
    response = bounded.get("/v1/pools", params={"kind": "technology"}, headers={"X-Padding": "y" * 1500})
    assert response.status_code == 200, response.text
    assert response.json()["data"]


@pytest.mark.parametrize("path", ["/v1/patents?publication=%00", "/v1/pools?field=a%00b", "/v1/pools/0x%00"])
def test_a_nul_character_in_the_url_is_a_400_problem(bounded: httpx.Client, path: str) -> None:
    body = assert_problem(bounded.get(path), 400, "nul")
    assert "NUL" in str(body["detail"])


def test_a_url_longer_than_the_bound_is_a_414_problem(bounded: httpx.Client) -> None:
    response = bounded.get("/v1/pools", params={"field": "x" * 2100})
    body = assert_problem(response, 414, "uri-too-long")
    assert "at most 2048" in str(body["detail"])


def test_headers_beyond_the_bound_are_a_431_problem(bounded: httpx.Client) -> None:
    response = bounded.get("/v1/pools", headers={"X-Padding": "y" * 2100})
    assert_problem(response, 431, "headers-too-large")


def test_a_get_with_a_body_is_a_413_problem(bounded: httpx.Client) -> None:
    response = bounded.request("GET", "/v1/pools", content=b'{"limit": 5}')
    body = assert_problem(response, 413, "body")
    assert "GET request carries no body" in str(body["detail"])


def test_a_body_of_undeclared_length_is_a_413_problem(bounded: httpx.Client) -> None:
    chunks = iter([b"a" * 100, b"b" * 100])
    response = bounded.request("GET", "/v1/pools", content=chunks)  # streamed: Transfer-Encoding: chunked
    assert_problem(response, 413, "body")


def test_a_body_over_the_bound_on_another_method_is_a_413_problem(bounded: httpx.Client) -> None:
    response = bounded.post("/v1/pools", content=b"z" * 4000)
    assert_problem(response, 413, "body")
    assert bounded.post("/v1/pools").status_code == 405, "an empty POST is merely not allowed"


# --- the statement timeout -----------------------------------------------------------------------

#: Counts to a billion: seconds of work on either database, far past a 200 ms timeout.
HEAVY = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)
SELECT count(*) FROM n
"""


def heavy_read(session: SessionDep) -> dict[str, int]:
    """A test-only read running far past the statement timeout."""
    return {"count": session.execute(sa.text(HEAVY)).scalar_one()}


def test_a_query_past_the_statement_timeout_is_cancelled_with_a_504_problem(mirror: Mirror) -> None:
    running = Server(api_settings(mirror, statement_timeout_ms=200))
    app = running.server.config.app
    assert isinstance(app, FastAPI)
    app.add_api_route("/v1/test-only/heavy", heavy_read, methods=["GET"])
    with running, httpx.Client(base_url=running.url, timeout=60) as http:
        response = http.get("/v1/test-only/heavy")
        body = assert_problem(response, 504, "timeout")
        assert body["detail"] == "the query took too long and was cancelled"
        # The cancelled connection went back to the pool in working order.
        for _ in range(3):
            assert http.get("/v1/pools").status_code == 200

"""`patentpool serve` runs the API under uvicorn over DATABASE_URL's mirror, with one or more workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Mirror, Seeded, free_port


def _serve(mirror: Mirror, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    env["DATABASE_URL"] = mirror.url
    command = [sys.executable, "-m", "patentpool", "serve", "--rpc", mirror.anvil.url, "--port", str(port), *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer within 60 s"
        time.sleep(0.2)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_the_pools_of_the_mirror(mirror: Mirror, seeded: Seeded, workers: int) -> None:
    port = free_port()
    process = _serve(mirror, port, "--workers", str(workers))
    try:
        body = _wait(f"http://127.0.0.1:{port}/v1/pools", process).json()
        assert {p["address"] for p in body["data"]} == {p.address for p in seeded.result.pools}
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/v1" in out


def test_serve_refuses_a_bad_port_with_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "patentpool", "serve", "--port", "70000"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--port" in result.stderr


def test_serve_says_so_when_the_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "patentpool", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is taken" in result.stderr
    assert "Traceback" not in result.stderr

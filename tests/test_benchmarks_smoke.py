"""benchmarks/api.py's own parts, briefly: its load generators against its trivial app served by a
real uvicorn (wrk where it is installed, and always the Python fallback), and its percentiles.

A smoke test of the tools, not of any speed: no figure is asserted beyond its own bounds.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "api.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    # The script shares its name with the `api` package: load it under a name of its own.
    spec = importlib.util.spec_from_file_location("patentpool_bench_api", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ping_url(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("bench")
    server = bench.Uvicorn(f"{bench.PING_MODULE}:app", 1, {}, workdir / "ping.log", app_dir=bench.ping_folder(workdir))
    try:
        server.wait_ready("/ping")
        yield server.url + "/ping"
    finally:
        server.stop()


def check(result: dict[str, Any], most: int) -> None:
    assert 0 < result["requests"] <= most
    assert result["non200"] == 0 and result["socketErrors"] == 0
    latency = result["latencyMs"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p99"] <= latency["max"]
    assert result["requestsPerSecond"] > 0


def test_the_python_load_generator_stops_at_its_request_bound(bench: ModuleType, ping_url: str) -> None:
    load = bench.Load(connections=4, threads=1, duration=5.0, requests=200, tool="python-httpx (fallback)")
    result = bench.put_load(load, ping_url, 5.0)
    check(result, 200 + 4)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
def test_wrk_with_the_lua_report_stops_at_its_request_bound(bench: ModuleType, ping_url: str, tmp_path: Path) -> None:
    script = tmp_path / "report.lua"
    script.write_text(bench.WRK_SCRIPT)
    load = bench.Load(connections=4, threads=2, duration=5.0, requests=300, tool="wrk", script=script)
    result = bench.put_load(load, ping_url, 5.0)
    # Each thread stops after its share; requests already sent on its other connections still count.
    check(result, 300 + 4)


def test_the_percentile_is_the_nearest_rank(bench: ModuleType) -> None:
    values = [float(x) for x in range(1, 101)]
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile(values, 100) == 100.0
    assert bench.percentile([7.0], 99) == 7.0

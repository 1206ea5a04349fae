"""Benchmark: the public API under load, beside a trivial FastAPI endpoint and a bare eth_call.

    .venv/bin/python benchmarks/api.py [--scale 1.0] [--runs 3] [--duration 10] [--workers 1 2] [--profile]
                                       [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

On a fresh anvil (a free port on 127.0.0.1): deploys the suite, seeds the whole demo
(`registry.demo.seed_demo`, `--scale 1.0`: the seed deck's six pools, about 19,500 transactions)
and indexes it with `indexer.sync.Indexer` into a fresh SQLite file, or, with `--database-url`, into
a fresh database created on that PostgreSQL server for the run and dropped after. Then, for each
worker count of `--workers` (default 1, then 2), it serves three apps with real uvicorn processes,
all on the same command line:

    python -m uvicorn <app> --host 127.0.0.1 --port P --workers N --app-dir D --log-level info --no-access-log

1. the API, `api.main:create_app --factory` (D: the repository), twice (the second with its
   response cache off, see the `-cold` targets), with DATABASE_URL,
   PATENTPOOL_RPC_URL and PATENTPOOL_RATE_LIMIT ("100000000/minute" unless `--rate-limit`, so the
   limiter counts every request, as it would, but never refuses one);
2. the framework's ceiling: this module's `app`, plain FastAPI without middleware: `GET /ping`
   (`async def`, answering {"ok": true}) and `GET /ping-sync` (the same as a plain `def`, which
   FastAPI runs in its thread pool, as it runs every route of the API);
3. the cost ladder (unless `--no-ladder`): this module's `create_probe_app`, the API's own app and
   settings (its response cache off, so each rung measures the work it names) plus three trivial
   routes: `/probe/async`, `/probe/sync` and `/probe/indexed` (a `def` route with the API's
   `IndexedDep`: session, checkpoint read, ETag and headers).

Uvicorn imports 2 and 3 through a symbolic link to this file in a temporary folder (D), as
`patentpool_bench_ping`: a `benchmarks` package in site-packages shadows this folder.

Each target is put under load in turn: 32 concurrent connections (`--connections`), each
measurement bounded in time (`--duration` seconds) and in requests (`--requests`, in all):

- `ping`, `ping-sync`: the trivial endpoint, async and sync;
- `api-async`, `api-sync`, `api-indexed`: the ladder (what a route costs before it does anything);
- `pools`: the pool listing, `/v1/pools`;
- `members-deep`: a member page deep in the cursor: the blockchain pool's members are walked with
  `limit=50` to the last page first, and that page's cursor URL is the one loaded;
- `asset`: `/v1/assets/{id}` of an asset of the blockchain pool (where that route does not answer,
  `/v1/pools/{address}/assets?limit=50`, and the report says so);
- `verify`: `/v1/licences/verify?pool=&licensee=&asset=` for a member of the blockchain pool and an
  asset of it (skipped with a note where the route does not answer 200);
- `pools-cold`, `members-deep-cold`, `asset-cold`: the same three reads from a second API process
  with its response cache off (`PATENTPOOL_RESPONSE_CACHE_BYTES=0`), so every request runs the
  route: the cost of an answer computed for the first time at a checkpoint. (The cached targets
  above load one URL, so after its first request every answer there is replayed from the cache:
  the cost of an answer asked for again before the next checkpoint.)

`--runs` rounds (default 3): a round loads every target once, one after the other, so a ratio to
the trivial endpoint compares moments a few seconds apart (this machine's speed drifts by tens of
per cent over minutes); each figure is the median of the rounds, and every round is listed. Before
the rounds each target is loaded for `--warmup` seconds, not counted.

After the rounds, with the servers still up, the verify route's latency is compared with a bare
`isLicensed` eth_call of the same question: `--verify-iterations` sequential requests (one client,
one keep-alive connection; httpx), each followed by a web3.py `isLicensed(licensee, asset, time)`
call straight to anvil; the medians and their ratio. Also timed in each iteration: the latest
block read and the same eth_call through a contract object made for it, as the API's ChainReader
does per call. `--profile` then loads the one-worker API's targets once more under py-spy
(`.venv/bin/pip install py-spy`), sampling the thread that holds the interpreter lock, and reports
the share of samples by package and function.

Aims (reported, not asserted; issue 12): each listing at least 40 % of the trivial endpoint's
requests/s (the async `ping`; `ping-sync` is given beside it), p99 under 50 ms at 32 clients; the
verify route's median within 2x of the bare eth_call.

The load tool is wrk (Debian's package: `apt-get install -y wrk`; macOS: `brew install wrk`), run as
`wrk -t 2 -c 32 -d 10s --timeout 10s -s <script> <url> -- <requests per thread>` with a Lua script
(written by this module) that stops each thread after its share of `--requests` and prints the
latency percentiles and the non-200 count as JSON. Where wrk is not installed the benchmark says so
and falls back to a Python load generator (httpx on asyncio, the same connections, bounds and
JSON), labelled "python-httpx (fallback)" in the report: it shares the cores with the server and
saturates before uvicorn does, so its figures are a floor, not the server's.

Prints one JSON document with every figure on stdout, progress and a markdown table on stderr.
Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

# This script shares its name with the package it measures: run as a script, its own folder comes
# first on sys.path and `import api` would find this file. Drop that folder.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from api.deps import IndexedDep  # after the path fix: the probe route's annotation

#: The framework's ceiling: the trivial endpoint, served by the same uvicorn command line.
app = FastAPI(title="ping", openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ping")
async def ping() -> dict[str, bool]:
    """The trivial endpoint: FastAPI's own ceiling (no thread, no middleware)."""
    return {"ok": True}


@app.get("/ping-sync")
def ping_sync() -> dict[str, bool]:
    """The same as a plain `def`, as the API's routes are: FastAPI runs it in its thread pool."""
    return {"ok": True}


def create_probe_app() -> FastAPI:
    """The API's own app (every middleware, the same settings from the environment) plus three
    trivial routes, to split a route's cost: the middleware, the thread hop, the indexed block."""
    from api.main import create_app

    probe = create_app()

    @probe.get("/probe/async")
    async def probe_async() -> dict[str, bool]:
        return {"ok": True}

    @probe.get("/probe/sync")
    def probe_sync() -> dict[str, bool]:
        return {"ok": True}

    @probe.get("/probe/indexed")
    def probe_indexed(indexed: IndexedDep) -> dict[str, int]:
        return {"block": indexed.block_number}

    # First in the routing table, so they are matched as soon as the API's first routes are.
    routes = probe.router.routes
    routes[:] = routes[-3:] + routes[:-3]
    return probe


ROOT = Path(__file__).resolve().parent.parent
PING_MODULE = "patentpool_bench_ping"
DEFAULT_RATE_LIMIT = "100000000/minute"
#: Targets in the order a round loads them; the ceiling first. The `api-*` ones are the cost ladder.
TARGETS = (
    "ping",
    "ping-sync",
    "api-async",
    "api-sync",
    "api-indexed",
    "pools",
    "members-deep",
    "asset",
    "verify",
    "pools-cold",
    "members-deep-cold",
    "asset-cold",
)
LADDER = {"api-async": "/probe/async", "api-sync": "/probe/sync", "api-indexed": "/probe/indexed"}
API_TARGETS = ("pools", "members-deep", "asset", "verify")
#: Served a second time by an API with its response cache off (`-cold`): every request computed.
COLD_TARGETS = ("pools", "members-deep", "asset")
LISTINGS = ("pools", "members-deep", "pools-cold", "members-deep-cold")
AIM_SHARE = 0.40
AIM_P99_MS = 50.0
AIM_VERIFY_RATIO = 2.0

WRK_SCRIPT = r"""
-- patentpool benchmarks/api.py: stop each thread after its share of requests; print JSON.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  limit = tonumber(args[1]) or 0
  count = 0
  bad = 0
end

function response(status, headers, body)
  count = count + 1
  if status ~= 200 then
    bad = bad + 1
  end
  if limit > 0 and count >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local non200 = 0
  for _, thread in ipairs(threads) do
    non200 = non200 + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"bytes":%d,"non200":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, non200,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- the chain and the mirror ----------------------------------------------------------------------


@dataclass
class Demo:
    """The seeded and indexed demo: what the targets are built from."""

    pool: str
    member: str
    asset: int
    transactions: int
    seed_seconds: float
    index_seconds: float
    events: int
    head: int
    pools: int


def seed_and_index(rpc: str, database_url: str, scale: float, workdir: Path) -> Demo:
    """Deploy, seed the demo at `scale` and index it into `database_url`."""
    from web3 import Web3

    from indexer.db import make_engine, upgrade
    from indexer.fetch import Rpc
    from indexer.sync import Indexer
    from registry.chain import Chain
    from registry.demo import seed_demo
    from registry.deploy import deploy_suite
    from registry.keys import account_from_key
    from registry.node import ANVIL_DEV_KEYS

    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 300}))
    deployment = deploy_suite(Chain(w3, account_from_key(ANVIL_DEV_KEYS[0])))
    log(f"seeding the demo at scale {scale}")
    started = time.perf_counter()
    result = seed_demo(w3, deployment, scale=scale, data_dir=workdir / "demo")
    seed_seconds = time.perf_counter() - started
    log(f"seeded {result.transactions} transactions in {seed_seconds:.0f} s; indexing")
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        indexer = Indexer(engine, Rpc(rpc), deployment)
        indexer.prepare()
        indexer.run()
        index_seconds = time.perf_counter() - started
        with engine.connect() as conn:
            from sqlalchemy import text

            events = int(conn.execute(text("SELECT count(*) FROM event")).scalar_one())
    finally:
        engine.dispose()
    pool = next(p for p in result.pools if p.key == "blockchain")
    if not pool.member_sample or not pool.asset_sample:
        raise SystemExit("the blockchain pool has no member or asset at this scale: raise --scale")
    return Demo(
        pool=pool.address,
        member=pool.member_sample[0],
        asset=pool.asset_sample[0],
        transactions=result.transactions,
        seed_seconds=seed_seconds,
        index_seconds=index_seconds,
        events=events,
        head=int(w3.eth.block_number),
        pools=len(result.pools),
    )


# --- the servers -----------------------------------------------------------------------------------


class Uvicorn:
    """`python -m uvicorn <target> ... --workers N` on a free port of 127.0.0.1, as a child process."""

    def __init__(
        self, target: str, workers: int, env: dict[str, str], logfile: Path, factory: bool = False, app_dir: Path = ROOT
    ) -> None:
        from registry.node import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.logfile = logfile
        command = [sys.executable, "-m", "uvicorn", target, *(["--factory"] if factory else [])]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        command += ["--app-dir", str(app_dir), "--log-level", "info", "--no-access-log"]
        self.command = command
        with open(logfile, "wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Until every worker has started and `path` answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"uvicorn exited ({self.process.returncode}): {self.logfile.read_text()[-2000:]}")
            started = self.logfile.read_text(errors="replace").count("Application startup complete")
            if started >= self.workers:
                try:
                    if httpx.get(self.url + path, timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"uvicorn did not start within {timeout:.0f} s: {self.logfile.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its workers
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


# --- the load --------------------------------------------------------------------------------------


@dataclass
class Load:
    connections: int
    threads: int
    duration: float
    requests: int
    tool: str
    script: Path | None = None


def find_wrk() -> str | None:
    return shutil.which("wrk")


def wrk_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0] if (out.stdout or out.stderr) else "?"


def run_wrk(load: Load, url: str, duration: float) -> dict[str, Any]:
    assert load.script is not None
    per_thread = max(1, -(-load.requests // load.threads)) if load.requests else 0
    command = ["wrk", "-t", str(load.threads), "-c", str(load.connections), "-d", f"{max(1, round(duration))}s"]
    command += ["--timeout", "10s", "-s", str(load.script), url, "--", str(per_thread)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in reversed(out.stdout.splitlines()) if x.startswith("{")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout[-1000:]} {out.stderr[-1000:]}")
    raw = json.loads(line)
    return measured(
        raw["requests"],
        raw["durationUs"] / 1e6,
        {k: v / 1000 for k, v in raw["latencyUs"].items()},
        raw["non200"],
        sum(raw["errors"].values()) - raw["errors"]["status"],
    )


async def _python_load(load: Load, url: str, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    non200 = errors = 0
    limits = httpx.Limits(max_connections=load.connections, max_keepalive_connections=load.connections)
    started = time.perf_counter()
    deadline = started + duration
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal non200, errors
            while time.perf_counter() < deadline and (not load.requests or len(latencies) < load.requests):
                t0 = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                non200 += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(load.connections)))
    seconds = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies) or [0.0]
    latency = {
        "min": ms[0],
        "mean": statistics.fmean(ms),
        "stdev": statistics.pstdev(ms),
        "max": ms[-1],
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "p999": percentile(ms, 99.9),
    }
    return measured(len(latencies), seconds, latency, non200, errors)


def percentile(ordered: list[float], q: float) -> float:
    """The `q`th percentile of sorted values (nearest rank, as wrk's histogram reports it)."""
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def measured(requests: int, seconds: float, latency_ms: dict[str, float], non200: int, errors: int) -> dict[str, Any]:
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "requestsPerSecond": round(requests / seconds, 1) if seconds > 0 else 0.0,
        "latencyMs": {k: round(v, 2) for k, v in latency_ms.items()},
        "non200": non200,
        "socketErrors": errors,
    }


def put_load(load: Load, url: str, duration: float) -> dict[str, Any]:
    if load.tool == "wrk":
        return run_wrk(load, url, duration)
    return asyncio.run(_python_load(load, url, duration))


# --- the targets -----------------------------------------------------------------------------------


@dataclass
class Targets:
    paths: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)
    deep_page: int = 0


def find_targets(api_url: str, demo: Demo) -> Targets:
    """The URL path of each target, checked to answer 200 (the deep cursor found by walking)."""
    notes: dict[str, str] = {}
    paths = {"pools": "/v1/pools"}
    with httpx.Client(base_url=api_url, timeout=30) as client:
        # Walk the blockchain pool's members, 50 a page, to the last page; load that page's URL.
        members = f"/v1/pools/{demo.pool}/members?limit=50"
        url, pages = members, 0
        while True:
            body = client.get(url).raise_for_status().json()
            pages += 1
            cursor = body.get("nextCursor")
            if not cursor:
                break
            following = f"{members}&cursor={cursor}"
            if not client.get(following).raise_for_status().json()["data"]:
                break  # the next page is empty: this one is the last
            url = following
        paths["members-deep"] = url
        if pages < 3:
            notes["members-deep"] = f"only {pages} pages of members at this scale: not deep"
        asset = f"/v1/assets/{demo.asset}"
        if client.get(asset).status_code == 200:
            paths["asset"] = asset
        else:
            paths["asset"] = f"/v1/pools/{demo.pool}/assets?limit=50"
            notes["asset"] = f"{asset} did not answer 200; the pool's asset listing instead"
        verify = f"/v1/licences/verify?pool={demo.pool}&licensee={demo.member}&asset={demo.asset}"
        answer = client.get(verify)
        if answer.status_code == 200:
            paths["verify"] = verify
            data = answer.json()["data"]
            if not data.get("licensed"):
                notes["verify"] = f"the chain answers licensed={data.get('licensed')} (a member was expected)"
        else:
            notes["verify"] = f"skipped: /v1/licences/verify answered {answer.status_code}"
        for name, path in paths.items():
            status = client.get(path).status_code
            if status != 200:
                raise SystemExit(f"{name}: {path} answered {status}")
    return Targets(paths, notes, pages)


def verify_against_call(api_url: str, rpc: str, demo: Demo, path: str, iterations: int) -> dict[str, Any]:
    """Sequential verify requests, each followed by a bare web3 isLicensed eth_call; their medians.

    Also timed in each iteration, to take the route's time apart: the latest block read (as the
    route reads the head) and the same eth_call as the route makes it (`api.chain.ChainReader.call`:
    encoded with eth-abi, one JSON-RPC request).
    """
    from web3 import Web3

    from api.chain import ChainReader
    from registry.client import contract_at

    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    pool = contract_at(w3, "PatentPool", demo.pool)
    moment = int(w3.eth.get_block("latest")["timestamp"])
    who = Web3.to_checksum_address(demo.member)
    reader = ChainReader(rpc)
    times: dict[str, list[float]] = {"route": [], "call": [], "head": [], "readerCall": []}
    answers: set[bool] = set()
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for _ in range(10):  # warm both paths
            client.get(path).raise_for_status()
            pool.functions.isLicensed(who, demo.asset, moment).call()
        for _ in range(iterations):
            t0 = time.perf_counter()
            answer = client.get(path)
            t1 = time.perf_counter()
            licensed = pool.functions.isLicensed(who, demo.asset, moment).call()
            t2 = time.perf_counter()
            head = int(w3.eth.get_block("latest")["number"])
            t3 = time.perf_counter()
            reader.call("PatentPool", demo.pool, "isLicensed", who, demo.asset, moment, block=head)
            t4 = time.perf_counter()
            if answer.status_code != 200:
                raise SystemExit(f"verify answered {answer.status_code}: {answer.text[:500]}")
            for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                times[key].append(seconds * 1000)
            answers.add(bool(licensed))
            answers.add(bool(answer.json()["data"]["licensed"]))
    route_ms, call_ms = statistics.median(times["route"]), statistics.median(times["call"])
    return {
        "iterations": iterations,
        "verifyMedianMs": round(route_ms, 3),
        "verifyP90Ms": round(percentile(sorted(times["route"]), 90), 3),
        "ethCallMedianMs": round(call_ms, 3),
        "ethCallP90Ms": round(percentile(sorted(times["call"]), 90), 3),
        "ratio": round(route_ms / call_ms, 2),
        "withinTwoTimes": route_ms <= AIM_VERIFY_RATIO * call_ms,
        "latestBlockReadMedianMs": round(statistics.median(times["head"]), 3),
        "readerCallMedianMs": round(statistics.median(times["readerCall"]), 3),
        "answers": sorted(answers),
    }


# --- the machine -----------------------------------------------------------------------------------


def machine(load: Load, database_url: str) -> dict[str, Any]:
    from importlib.metadata import version

    from registry.node import find_anvil

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    with suppress(OSError, ValueError, IndexError):
        memory = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 2**20:.0f} GiB"
    anvil = subprocess.run([str(find_anvil()), "--version"], capture_output=True, text=True).stdout.splitlines()
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "anvil": anvil[0] if anvil else "?",
        "loadTool": wrk_version("wrk") if load.tool == "wrk" else load.tool,
    }
    for package in (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "pydantic",
        "sqlalchemy",
        "web3",
        "limits",
    ):
        try:
            info[package] = version(package)
        except Exception:
            info[package] = None
    if database_url.startswith("sqlite"):
        info["database"] = f"SQLite {sqlite3.sqlite_version}"
    else:
        import sqlalchemy as sa

        with sa.create_engine(database_url, connect_args={"connect_timeout": 5}).connect() as conn:
            info["database"] = f"PostgreSQL {conn.execute(sa.text('show server_version')).scalar()}"
    return info


# --- the report ------------------------------------------------------------------------------------


def summarize(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per target: the median of the rounds' requests/s and latencies, and every round's."""
    out: dict[str, Any] = {}
    for name in rounds[0]:
        runs = [r[name] for r in rounds]
        out[name] = {
            "requestsPerSecond": round(statistics.median(x["requestsPerSecond"] for x in runs), 1),
            "p50Ms": round(statistics.median(x["latencyMs"]["p50"] for x in runs), 2),
            "p90Ms": round(statistics.median(x["latencyMs"]["p90"] for x in runs), 2),
            "p99Ms": round(statistics.median(x["latencyMs"]["p99"] for x in runs), 2),
            "worstP99Ms": max(x["latencyMs"]["p99"] for x in runs),
            "requests": sum(x["requests"] for x in runs),
            "non200": sum(x["non200"] for x in runs),
            "socketErrors": sum(x["socketErrors"] for x in runs),
            "runs": runs,
        }
        for reference, key in (("ping", "shareOfPing"), ("ping-sync", "shareOfPingSync")):
            if name != reference and reference in rounds[0]:
                shares = [r[name]["requestsPerSecond"] / r[reference]["requestsPerSecond"] for r in rounds]
                out[name][key] = round(statistics.median(shares), 3)
                out[name][key + "ByRound"] = [round(s, 3) for s in shares]
    return out


def aims(by_workers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for workers, result in by_workers.items():
        targets = result["targets"]
        this: dict[str, Any] = {}
        for name in LISTINGS:
            if name in targets:
                this[name] = {
                    "shareOfPing": targets[name]["shareOfPing"],
                    "atLeast40PerCentOfPing": targets[name]["shareOfPing"] >= AIM_SHARE,
                }
        this["p99Under50Ms"] = {name: t["p99Ms"] < AIM_P99_MS for name, t in targets.items()}
        if "verifyVsEthCall" in result:
            this["verifyWithin2xEthCall"] = result["verifyVsEthCall"]["withinTwoTimes"]
        out[workers] = this
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| workers | target | requests/s | of ping | of ping-sync | p50 ms | p99 ms (worst round) | non-200 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def share(t: dict[str, Any], key: str) -> str:
        return f"{t[key] * 100:.0f} %" if key in t else "-"

    for workers, result in report["results"].items():
        for name, t in result["targets"].items():
            lines.append(
                f"| {workers} | {name} | {t['requestsPerSecond']:,.0f} | {share(t, 'shareOfPing')} | "
                f"{share(t, 'shareOfPingSync')} | {t['p50Ms']:.1f} | {t['p99Ms']:.1f} ({t['worstP99Ms']:.1f}) | "
                f"{t['non200']} |"
            )
    lines += [
        "",
        "| workers | verify median ms | bare eth_call ms | ratio | latest block read ms | the route's eth_call ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for workers, result in report["results"].items():
        v = result.get("verifyVsEthCall")
        if v:
            lines.append(
                f"| {workers} | {v['verifyMedianMs']:.2f} | {v['ethCallMedianMs']:.2f} | {v['ratio']:.2f}x | "
                f"{v['latestBlockReadMedianMs']:.2f} | {v['readerCallMedianMs']:.2f} |"
            )
    for workers, result in report["results"].items():
        for name, profile in result.get("profile", {}).items():
            packages = ", ".join(f"{k} {v:.0f} %" for k, v in list(profile["byPackage"].items())[:8])
            lines.append(f"\nprofile, {workers} worker, {name} (GIL held {profile['gilBusy'] * 100:.0f} %): {packages}")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------------


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile_load(load: Load, url: str, pid: int, seconds: float, workdir: Path, name: str) -> dict[str, Any]:
    """py-spy samples of the thread holding the interpreter lock in process `pid` while `url` is
    under load: the share of samples by package and the functions most often on top."""
    py_spy = find_py_spy()
    assert py_spy is not None
    rate = 200
    raw = workdir / f"profile-{name}.txt"
    command = [py_spy, "record", "-p", str(pid), "--gil", "--nonblocking", "-r", str(rate)]
    command += ["-d", str(max(1, round(seconds))), "-f", "raw", "-o", str(raw)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    under_load = put_load(load, url, seconds)
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not raw.exists():
        return {"error": f"py-spy failed ({spy.returncode}): {err[-500:]}"}
    packages: dict[str, int] = {}
    leaves: dict[str, int] = {}
    ours: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        package = _package(frames[-1][1])
        packages[package] = packages.get(package, 0) + n
        leaves[frames[-1][0]] = leaves.get(frames[-1][0], 0) + n
        for function in {f[0] for f in frames if _package(f[1]) == "api"}:
            ours[function] = ours.get(function, 0) + n

    def shares(counts: dict[str, int], top: int) -> dict[str, float]:
        ordered = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return {k: round(100 * v / max(1, total), 1) for k, v in ordered}

    return {
        "samples": total,
        "gilBusy": round(total / (rate * seconds), 2),
        "requestsPerSecondWhileProfiled": under_load["requestsPerSecond"],
        "byPackage": shares(packages, 12),
        "topFunctions": shares(leaves, 15),
        "apiFunctionsInclusive": shares(ours, 15),
    }


def _frame(text: str) -> tuple[str, str]:
    """(function (file), file) of a py-spy raw frame `function (path:line)`."""
    function, _, where = text.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{function} ({path.rsplit('site-packages/', 1)[-1]})", path


def _package(path: str) -> str:
    """The top-level package of a frame's file (py-spy names site-packages files from there)."""
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(f"{ROOT}/"):
        path = path[len(str(ROOT)) + 1 :]
    elif path.startswith("/"):
        return "stdlib " + path.rsplit("/", 1)[-1]
    top, _, rest = path.partition("/")
    return top if rest else f"stdlib {top}"


def ping_folder(workdir: Path) -> Path:
    """A folder holding this file as `patentpool_bench_ping.py` (a link), for uvicorn's --app-dir."""
    folder = workdir / "ping"
    folder.mkdir(exist_ok=True)
    link = folder / f"{PING_MODULE}.py"
    if not link.exists():
        link.symlink_to(Path(__file__).resolve())
    return folder


def measure_workers(
    workers: int,
    args: argparse.Namespace,
    load: Load,
    env: dict[str, str],
    workdir: Path,
    rpc: str,
    demo: Demo,
) -> dict[str, Any]:
    ping_dir = ping_folder(workdir)
    api = Uvicorn("api.main:create_app", workers, env, workdir / f"api-{workers}.log", factory=True)
    cold_env = env | {"PATENTPOOL_RESPONSE_CACHE_BYTES": "0"}
    cold = Uvicorn("api.main:create_app", workers, cold_env, workdir / f"cold-{workers}.log", factory=True)
    trivial = Uvicorn(f"{PING_MODULE}:app", workers, {}, workdir / f"ping-{workers}.log", app_dir=ping_dir)
    servers = [api, cold, trivial]
    probe = None
    if args.ladder:
        probe = Uvicorn(
            f"{PING_MODULE}:create_probe_app", workers, cold_env, workdir / f"probe-{workers}.log", True, ping_dir
        )
        servers.append(probe)
    try:
        api.wait_ready("/healthz")
        cold.wait_ready("/healthz")
        trivial.wait_ready("/ping")
        if probe:
            probe.wait_ready("/probe/indexed")
        targets = find_targets(api.url, demo)
        urls = {"ping": trivial.url + "/ping", "ping-sync": trivial.url + "/ping-sync"}
        if probe:
            urls |= {name: probe.url + path for name, path in LADDER.items()}
        urls |= {n: api.url + p for n, p in targets.paths.items()}
        urls |= {f"{n}-cold": cold.url + p for n, p in targets.paths.items() if n in COLD_TARGETS}
        urls = {n: urls[n] for n in TARGETS if n in urls}
        log(f"{workers} worker(s): warming up {', '.join(urls)} ({args.warmup} s each)")
        for url in urls.values():
            put_load(load, url, args.warmup)
        rounds: list[dict[str, dict[str, Any]]] = []
        for n in range(args.runs):
            this: dict[str, dict[str, Any]] = {}
            for name, url in urls.items():
                this[name] = put_load(load, url, args.duration) | {"loadAverageAfter": loadavg()}
            rounds.append(this)
            log(
                f"{workers} worker(s), round {n + 1}/{args.runs}: "
                + ", ".join(
                    f"{k} {v['requestsPerSecond']:.0f}/s p99 {v['latencyMs']['p99']:.1f} ms" for k, v in this.items()
                )
            )
        result: dict[str, Any] = {
            "command": " ".join(api.command[1:]),
            "paths": targets.paths,
            "notes": targets.notes,
            "memberPagesWalked": targets.deep_page,
            "targets": summarize(rounds),
        }
        if "verify" in targets.paths and args.verify_iterations > 0:
            result["verifyVsEthCall"] = verify_against_call(
                api.url, rpc, demo, targets.paths["verify"], args.verify_iterations
            )
            v = result["verifyVsEthCall"]
            log(
                f"verify median {v['verifyMedianMs']:.2f} ms, "
                f"bare eth_call {v['ethCallMedianMs']:.2f} ms: {v['ratio']}x"
            )
        if args.profile and workers == 1:
            # With one worker, uvicorn serves in the process it was started as.
            profiled = {"api-indexed": probe.process.pid} if probe else {}
            profiled |= {name: api.process.pid for name in API_TARGETS if name in urls}
            result["profile"] = {
                name: profile_load(load, urls[name], pid, args.duration, workdir, name)
                for name, pid in profiled.items()
            }
        return result
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="demo scale (1.0: the whole demo)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker counts, in turn")
    parser.add_argument("--runs", type=int, default=3, help="rounds over every target (figures: the median)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per target and round (at most)")
    parser.add_argument("--requests", type=int, default=200_000, help="requests per target and round (at most)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load per target before the rounds")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--verify-iterations", type=int, default=500, help="sequential verify requests and eth_calls")
    parser.add_argument("--rate-limit", default=DEFAULT_RATE_LIMIT, help="PATENTPOOL_RATE_LIMIT of the API")
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server URL: a fresh database on it (default: a SQLite file)"
    )
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk is there")
    parser.add_argument(
        "--no-ladder", dest="ladder", action="store_false", help="leave out the api-* targets (the cost ladder)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the one-worker API under each target's load once more"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.duration <= 0 or any(w < 1 for w in args.workers):
        parser.error("--runs, --duration and --workers must be positive")
    if args.profile and find_py_spy() is None:
        parser.error("--profile needs py-spy (.venv/bin/pip install py-spy)")
    tool = "wrk" if find_wrk() and not args.python_load else "python-httpx (fallback)"
    if tool != "wrk":
        log("wrk is not installed (apt-get install -y wrk): using the Python load generator, a floor, not the server's")
    load = Load(args.connections, args.threads, args.duration, args.requests, tool)
    workdir = Path(tempfile.mkdtemp(prefix="patentpool-api-bench-"))
    if tool == "wrk":
        load.script = workdir / "report.lua"
        load.script.write_text(WRK_SCRIPT)
    from registry.node import start_anvil

    report: dict[str, Any] = {
        "loadAverage": {"start": loadavg()},
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        node = start_anvil()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        with fresh_database(args.database_url, workdir) as database_url:
            report["machine"] = machine(load, database_url)
            demo = seed_and_index(node.url, database_url, args.scale, workdir)
            report["demo"] = {
                "scale": args.scale,
                "pools": demo.pools,
                "transactions": demo.transactions,
                "seedSeconds": round(demo.seed_seconds, 1),
                "indexedEvents": demo.events,
                "indexSeconds": round(demo.index_seconds, 1),
                "head": demo.head,
                "pool": demo.pool,
                "member": demo.member,
                "asset": demo.asset,
            }
            report["settings"] = {
                "tool": tool,
                "connections": args.connections,
                "threads": args.threads,
                "durationSeconds": args.duration,
                "maxRequests": args.requests,
                "warmupSeconds": args.warmup,
                "runs": args.runs,
                "rateLimit": args.rate_limit,
                "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
            }
            report["loadAverage"]["afterSeeding"] = loadavg()
            env = {
                "DATABASE_URL": database_url,
                "PATENTPOOL_RPC_URL": node.url,
                "PATENTPOOL_RATE_LIMIT": args.rate_limit,
                "PATENTPOOL_RATE_LIMIT_STORAGE": "memory://",
            }
            results: dict[str, Any] = {}
            for workers in args.workers:
                results[str(workers)] = measure_workers(workers, args, load, env, workdir, node.url, demo)
                report["loadAverage"][f"after{workers}Workers"] = loadavg()
            report["results"] = results
            report["aims"] = aims(results)
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["loadAverage"]["end"] = loadavg()
    print(json.dumps(report, indent=2))
    print("\n" + markdown(report), file=sys.stderr)


@contextmanager
def fresh_database(database_url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file in `workdir`, or a new database on the PostgreSQL server."""
    if database_url is None:
        yield f"sqlite:///{workdir / 'api.db'}"
        return
    from indexer.db import scratch_database

    with scratch_database(database_url, "patentpool_bench") as url:
        yield url


if __name__ == "__main__":
    main()

"""Benchmark: indexing 100,000+ pool events, against bare eth_getLogs and a naive web3.py + ORM path.

    .venv/bin/python benchmarks/indexer.py [--events 100000] [--skip-postgres] [--profile]

On a fresh anvil: deploys the suite, creates a few active pools and seeds them (through
`BatchSender`) until the chain holds at least `--events` events the indexer stores: members joining
(MemberJoined, RevenueReceived and the fee's Transfer to the pool), many renewals (the same three)
and unified licences (LicenceOffered, then LicenceGranted, RevenueReceived, Transfer). Minting and
approving the stablecoin emit logs the indexer does not read (a Transfer from the zero address to a
member, an Approval); they are on the chain but not counted.

Then, in the same run, over the same block range and addresses:

1. bare fetch: the indexer's eth_getLogs filters as plain JSON-RPC over `requests` (parsed JSON,
   nothing else), with the indexer's adaptive ranges (LogFetcher's defaults);
2. the indexer into a fresh SQLite file, `run_index(..., quiet=True)`;
3. the indexer into a fresh PostgreSQL database (unless `--skip-postgres`), the same call;

in `--runs` rounds (default 3), each of 1, 2 and 3 one after the other (the indexer into a
fresh database every time). The ratio to the bare fetch is the median of the rounds' ratios: a
round compares the two at the same moment, and this machine's speed drifts by tens of per cent
over minutes. Each path's fastest run is reported too, and every run listed;
4. the naive path on each backend (once): web3.py `w3.eth.get_logs` with the same filters,
   `contract.events.X().process_log(log)` per log, a block header per new block (cached), and one
   SQLModel `session.add(Event(...))` + `session.commit()` per event, on the first `--naive-sample`
   events (0: all of them), extrapolated linearly to the full count.

Prints one JSON document with every figure (progress goes to stderr). `--profile` indexes once
more per backend with timers on the pipeline's stages (not in the figures) and reports where the
time went, per thread: reading and decoding, and writing, overlap. Results go in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from sqlmodel import Session
from web3 import Web3

# This script shares its name with the package it measures: run as a script, its own folder comes
# first on sys.path and `import indexer` would find this file. Drop that folder.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from indexer.db import make_engine, scratch_database, upgrade
from indexer.decode import event_topic
from indexer.fetch import LogFetcher
from indexer.schema import Event
from patentpool.commands.index import run_index
from registry.artifacts import load_artifact
from registry.batch import BatchSender
from registry.chain import Chain, decode_events
from registry.deploy import Deployment, deploy_suite, write_deployment
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, AnvilNode, find_anvil, start_anvil
from registry.types import PoolKind

USD = 10**6
MAX_UINT = 2**256 - 1
TIER_FEES = (100 * USD, 250 * USD, 500 * USD)
LICENCE_PRICE = 150 * USD
TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
#: Events the indexer stores per transaction kind (see the module docstring).
EVENTS_PER = {"join": 3, "renew": 3, "offer": 1, "accept": 3}
#: Chain time between two rounds of renewals (a member may hold at most one term ahead).
ROUND_SECONDS = 366 * 86_400
GAS = {"createPool": 600_000, "mint": 150_000, "approve": 100_000, "join": 400_000, "renew": 400_000}
GAS |= {"offerLicence": 400_000, "acceptOffer": 450_000, "setTierFee": 100_000, "activate": 150_000}
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rate(events: int, seconds: float) -> float:
    return round(events / seconds, 1) if seconds > 0 else 0.0


# --- seeding ---------------------------------------------------------------------------------------


def _key(label: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"patentpool-bench/{label}"))
    return account


@dataclass
class Seeded:
    """What seeding made."""

    pools: list[str]
    token: str
    start_block: int
    head: int
    transactions: int
    blocks: int
    seconds: float
    planned_events: int
    counts: dict[str, int] = field(default_factory=dict)


class _Paced:
    """Sends through a BatchSender and mines a block every `per_block` transactions; transactions
    that need an earlier one mined (an offer's acceptance) wait for the next block."""

    def __init__(self, sender: BatchSender, per_block: int) -> None:
        self.sender = sender
        self.per_block = per_block
        self.in_block = 0
        self.blocks = 0
        self.deferred: list[tuple[LocalAccount, Any, int]] = []

    def send(self, account: LocalAccount, fn: Any, gas: int) -> None:
        self.sender.send(account, fn, gas)
        self.in_block += 1
        if self.in_block >= self.per_block:
            self.mine()

    def later(self, account: LocalAccount, fn: Any, gas: int) -> None:
        self.deferred.append((account, fn, gas))

    def mine(self) -> None:
        if self.in_block:
            self.sender.flush(receipts=False)
            self.blocks += 1
            self.in_block = 0
        deferred, self.deferred = self.deferred, []
        for account, fn, gas in deferred:
            self.send(account, fn, gas)

    def finish(self) -> None:
        while self.deferred or self.in_block:
            self.mine()


def _fund(url: str, addresses: list[str]) -> None:
    payload = [
        {"jsonrpc": "2.0", "id": i, "method": "anvil_setBalance", "params": [a, hex(10**24)]}
        for i, a in enumerate(addresses)
    ]
    for i in range(0, len(payload), 500):
        requests.post(url, json=payload[i : i + 500], timeout=120).raise_for_status()


def plan(target: int, pools: int) -> tuple[int, int, int]:
    """(members, licences, renewals) whose events reach `target` (pool set-up adds a few more)."""
    members = max(pools, target // 100)
    licences = max(pools, target // 100)
    rest = target - members * EVENTS_PER["join"] - licences * (EVENTS_PER["offer"] + EVENTS_PER["accept"])
    renewals = max(0, math.ceil(rest / EVENTS_PER["renew"]))
    return members, licences, renewals


def seed(node: AnvilNode, w3: Web3, deployment: Deployment, target: int, pools_n: int, per_block: int) -> Seeded:
    started = time.perf_counter()
    chain_id = int(w3.eth.chain_id)
    operator = account_from_key(ANVIL_DEV_KEYS[0], chain_id)
    factory = w3.eth.contract(address=deployment.address("PoolFactory"), abi=load_artifact("PoolFactory")["abi"])
    token_address = deployment.payment_token
    assert token_address is not None
    token = w3.eth.contract(address=token_address, abi=load_artifact("TestStablecoin")["abi"])
    pool_abi = load_artifact("PatentPool")["abi"]
    members_n, licences_n, renewals_n = plan(target, pools_n)
    members = [_key(f"member/{i}") for i in range(members_n)]
    licensees = [_key(f"licensee/{i}") for i in range(min(licences_n, 100))]
    _fund(node.url, [a.address for a in members + licensees])
    start_block = int(w3.eth.block_number) + 1
    log(f"seeding: {pools_n} pools, {members_n} members, {licences_n} licences, {renewals_n} renewals")
    with BatchSender(w3) as sender:
        for i in range(pools_n):
            create = factory.functions.createPool(
                f"Benchmark pool {i}", int(PoolKind.TECHNOLOGY), "Indexer benchmark", token_address, operator.address
            )
            sender.send(operator, create, GAS["createPool"])
        receipts = sender.flush()
        pools = [
            w3.eth.contract(address=decode_events(factory, r, "PoolCreated")[0]["args"]["pool"], abi=pool_abi)
            for r in receipts
        ]
        for pool in pools:
            for tier, fee in enumerate(TIER_FEES):
                sender.send(operator, pool.functions.setTierFee(tier, fee), GAS["setTierFee"])
            sender.send(operator, pool.functions.activate(), GAS["activate"])
        sender.flush(receipts=False)

        paced = _Paced(sender, per_block)
        # Members: mint and approve once (events the indexer does not store), then join.
        for i, member in enumerate(members):
            pool = pools[i % pools_n]
            tier = i % 3
            paced.send(member, token.functions.mint(member.address, 10**30), GAS["mint"])
            paced.send(member, token.functions.approve(pool.address, MAX_UINT), GAS["approve"])
            paced.send(member, pool.functions.join(tier, TIER_FEES[tier]), GAS["join"])
        for licensee in licensees:
            paced.send(licensee, token.functions.mint(licensee.address, 10**30), GAS["mint"])
            for pool in pools:
                paced.send(licensee, token.functions.approve(pool.address, MAX_UINT), GAS["approve"])
        paced.mine()
        # Renewals, with a licence (offer, accepted in the next block) spread evenly among them.
        base = int(w3.eth.get_block("latest")["timestamp"])
        offers = [0] * pools_n
        per_pair: dict[tuple[int, int], int] = {}
        operations = renewals_n + licences_n
        licences_sent = 0
        rounds_done = 0
        for n in range(operations):
            due = (n + 1) * licences_n // operations
            if licences_sent < due:
                p, who = licences_sent % pools_n, licensees[licences_sent % len(licensees)]
                k = per_pair.get((p, licences_sent % len(licensees)), 0)
                per_pair[(p, licences_sent % len(licensees))] = k + 1
                start = base + k * 30 * 86_400  # a licensee's licences in a pool never overlap
                terms = keccak(text=f"benchmark terms {licences_sent}")
                offer = pools[p].functions.offerLicence(
                    who.address, [], start, start + 30 * 86_400, LICENCE_PRICE, terms
                )
                paced.send(operator, offer, GAS["offerLicence"])
                offers[p] += 1
                paced.later(who, pools[p].functions.acceptOffer(offers[p]), GAS["acceptOffer"])
                licences_sent += 1
            else:
                renewal_round, member_index = divmod(n - licences_sent, members_n)
                if renewal_round > rounds_done:
                    # A member may pay at most one term ahead: a year passes between rounds.
                    paced.finish()
                    w3.provider.make_request("evm_increaseTime", [ROUND_SECONDS])  # type: ignore[arg-type]
                    base += ROUND_SECONDS
                    rounds_done = renewal_round
                tier = member_index % 3
                pool = pools[member_index % pools_n]
                paced.send(members[member_index], pool.functions.renew(TIER_FEES[tier]), GAS["renew"])
            if (n + 1) % 5000 == 0:
                log(f"seeding: {n + 1}/{operations} renewals and licences sent ({sender.sent} transactions)")
        paced.finish()
        transactions = sender.sent
    head = int(w3.eth.block_number)
    planned = members_n * EVENTS_PER["join"] + licences_n * 4 + renewals_n * EVENTS_PER["renew"]
    return Seeded(
        [p.address for p in pools],
        token_address,
        start_block,
        head,
        transactions,
        paced.blocks,
        time.perf_counter() - started,
        planned,
        {"pools": pools_n, "members": members_n, "licences": licences_n, "renewals": renewals_n},
    )


# --- (1) bare eth_getLogs --------------------------------------------------------------------------


def indexer_filters(deployment: Deployment, pools: list[str], token: str) -> list[dict[str, Any]]:
    """The indexer's eth_getLogs filters (indexer/reader.py `Reader.filters`), as JSON-RPC objects."""
    pool_list = sorted(pools)
    topics = ["0x" + "00" * 12 + p[2:].lower() for p in pool_list]
    core = [deployment.address("PoolFactory"), deployment.address("PatentAsset"), *pool_list]
    return [
        {"address": core},
        {"address": [token], "topics": [TRANSFER_TOPIC, topics]},
        {"address": [token], "topics": [TRANSFER_TOPIC, None, topics]},
    ]


def bare_fetch(url: str, filters: list[dict[str, Any]], start: int, stop: int) -> tuple[float, int, int, int]:
    """Every log of [start, stop] with LogFetcher's adaptive ranges; (seconds, logs, calls, ranges)."""
    session = requests.Session()
    span, max_range, small = LogFetcher.initial_range, LogFetcher.max_range, LogFetcher.small_response
    count = calls = ranges = 0
    ident = 0
    started = time.perf_counter()
    while start <= stop:
        end = min(stop, start + span - 1)
        got = 0
        for f in filters:
            ident += 1
            body = {"jsonrpc": "2.0", "id": ident, "method": "eth_getLogs"}
            body["params"] = [{**f, "fromBlock": hex(start), "toBlock": hex(end)}]
            answer = session.post(url, json=body, timeout=300).json()
            if "error" in answer:
                raise RuntimeError(f"eth_getLogs failed: {answer['error']}")
            got += len(answer["result"])
            calls += 1
        ranges += 1
        count += got
        if end - start + 1 == span and got < small:
            span = min(max_range, span * 2)
        start = end + 1
    return time.perf_counter() - started, count, calls, ranges


def all_logs(url: str, start: int, stop: int) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_getLogs",
        "params": [{"fromBlock": hex(start), "toBlock": hex(stop)}],
    }
    return len(requests.post(url, json=body, timeout=300).json()["result"])


# --- (2, 3) the indexer ----------------------------------------------------------------------------


def index_once(url: str, rpc: str, manifest: Path) -> tuple[float, dict[str, Any]]:
    """`run_index` into the database at `url`; (wall seconds, summary)."""
    started = time.perf_counter()
    summary = run_index(rpc, manifest, quiet=True, database_url=url)
    return time.perf_counter() - started, summary


#: Runs one index in a fresh interpreter with the code of another checkout first on its path:
#: argv = tree, database URL, RPC URL, manifest. Prints the seconds of `run_index` alone and its summary.
_RUNNER = """
import inspect, json, os, sys, time
from pathlib import Path
tree, url, rpc, manifest = sys.argv[1:5]
sys.path.insert(0, tree)
from patentpool.commands.index import run_index
if "database_url" in inspect.signature(run_index).parameters:
    call = lambda: run_index(rpc, Path(manifest), quiet=True, database_url=url)
else:  # the code before issue 17 read the database's URL from the environment only
    os.environ["DATABASE_URL"] = url
    call = lambda: run_index(rpc, Path(manifest), quiet=True)
started = time.perf_counter()
summary = call()
print(json.dumps({"seconds": time.perf_counter() - started, "summary": summary}))
"""


def index_in(tree: Path, url: str, rpc: str, manifest: Path) -> tuple[float, dict[str, Any]]:
    """`run_index` with the code of checkout `tree`, in a fresh interpreter (imports not timed)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(tree), url, rpc, str(manifest)],
        capture_output=True,
        text=True,
        cwd=tree,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
    )
    if done.returncode != 0:
        raise SystemExit(f"indexing with {tree} failed:\n{done.stderr}")
    result = json.loads(done.stdout.splitlines()[-1])
    return float(result["seconds"]), result["summary"]


def index_result(runs: list[tuple[float, dict[str, Any]]], load: list[float]) -> dict[str, Any]:
    """The fastest of `runs` (wall seconds, summary), with every run's seconds."""
    seconds, summary = min(runs, key=lambda run: run[0])
    events = int(summary["totalEvents"])
    digests = {run[1]["digest"] for run in runs}
    if len(digests) != 1:
        raise SystemExit(f"the runs disagree on the digest: {sorted(digests)}")
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "runsSeconds": [round(run[0], 2) for run in runs],
        "loopSeconds": summary["seconds"],
        "eventsPerSecond": rate(events, seconds),
        "batches": summary["batches"],
        "checkpoint": summary["checkpoint"]["block"],
        "digest": summary["digest"],
        "loadAverageBefore": load,
    }


#: Stages of an index run the profile times: label -> (module, attribute path). Reading (the main
#: thread), writing (the writer thread) and the database's side of writing (the inserter thread)
#: overlap, so the columns add up to more than the wall; "..." stages are parts of the one above.
STAGES: dict[str, tuple[str, str]] = {
    "read: whole stage (Reader.next)": ("indexer.reader", "Reader.next"),
    "read: eth_getLogs, typed by msgspec (LogFetcher.fetch)": ("indexer.fetch", "LogFetcher.fetch"),
    "read: block headers (Rpc.headers)": ("indexer.fetch", "Rpc.headers"),
    "read: decode + digest + rows (Reader._rows)": ("indexer.reader", "Reader._rows"),
    "read: ... of which event rows, packed (event_rows)": ("indexer.reader", "event_rows"),
    "read: ... of which the digest (next_digest)": ("indexer.reader", "next_digest"),
    "write: whole stage (Writer.write)": ("indexer.writer", "Writer.write"),
    "write: ... projections in memory (apply)": ("indexer.writer", "apply"),
    "write: ... packing projection rows (Store.flush)": ("indexer.store", "Store.flush"),
    "write: ... waiting for the inserter thread (wait)": ("indexer.writer", "wait"),
    "write: commit": ("sqlalchemy.engine.base", "RootTransaction._do_commit"),
    "inserter: raw events and blocks into SQL (insert_packed)": ("indexer.writer", "insert_packed"),
    "inserter: projection rows into SQL (insert_packed)": ("indexer.store", "insert_packed"),
    "inserter: projection updates into SQL (update_packed)": ("indexer.store", "update_packed"),
    "waiting for a thread (Future.result: the reader for the writer)": ("concurrent.futures", "Future.result"),
}


@contextmanager
def timed_stages() -> Iterator[dict[str, float]]:
    """Wrap each of STAGES with a timer for the duration; yields the seconds by label."""
    import importlib

    totals = dict.fromkeys(STAGES, 0.0)
    undo: list[tuple[Any, str, Any]] = []
    for label, (module_name, path) in STAGES.items():
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for part in parents:
            owner = getattr(owner, part)
        original = getattr(owner, name)

        def timed(*args: Any, _f: Any = original, _label: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                totals[_label] += time.perf_counter() - started

        setattr(owner, name, timed)
        undo.append((owner, name, original))
    try:
        yield totals
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def profile_index(rpc: str, manifest: Path, url: str, backend: str) -> dict[str, Any]:
    """Index once more with timers on the pipeline's stages; seconds per stage."""
    with timed_stages() as totals:
        seconds, _ = index_once(url, rpc, manifest)
    stages = {label: round(value, 2) for label, value in totals.items()}
    log(f"stages ({backend}, {seconds:.2f} s wall): {json.dumps(stages, indent=1)}")
    return {"wallSeconds": round(seconds, 2), "stageSeconds": stages}


# --- (4) the naive path ----------------------------------------------------------------------------


def _hex(value: Any) -> str:
    return "0x" + bytes(HexBytes(value)).hex()


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return str(value)


def naive(
    url: str, rpc: str, deployment: Deployment, seeded: Seeded, filters: list[dict[str, Any]], first: int, last: int
) -> dict[str, Any]:
    """web3.py get_logs + process_log per log + one ORM insert and commit per event."""
    engine = make_engine(url)
    upgrade(engine)
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 300}))
    chain_id = int(w3.eth.chain_id)
    abis = {name: load_artifact(name)["abi"] for name in ("PoolFactory", "PatentAsset", "PatentPool", "TestStablecoin")}
    contracts = {
        address: w3.eth.contract(address=Web3.to_checksum_address(address), abi=abis[name])
        for name, address in (
            ("PoolFactory", deployment.address("PoolFactory")),
            ("PatentAsset", deployment.address("PatentAsset")),
            ("TestStablecoin", seeded.token),
            *(("PatentPool", pool) for pool in seeded.pools),
        )
    }
    by_topic: dict[tuple[str, str], Any] = {}
    for address, contract in contracts.items():
        entries: list[dict[str, Any]] = contract.abi  # type: ignore[assignment]
        for entry in entries:
            if entry["type"] == "event":
                ev = contract.events[entry["name"]]()
                by_topic[(address, _hex(ev.topic))] = ev
    started = time.perf_counter()
    fetch_started = started
    logs: list[Any] = []
    for f in filters:
        logs.extend(w3.eth.get_logs({**f, "fromBlock": first, "toBlock": last}))  # type: ignore[typeddict-item]
    logs.sort(key=lambda x: (x["blockNumber"], x["logIndex"]))
    fetch_seconds = time.perf_counter() - fetch_started
    timestamps: dict[int, int] = {}
    decode_seconds = insert_seconds = 0.0
    with Session(engine) as session:
        for entry in logs:
            t0 = time.perf_counter()
            event = by_topic[(entry["address"], _hex(entry["topics"][0]))]
            decoded = event.process_log(entry)
            number = int(entry["blockNumber"])
            if number not in timestamps:
                timestamps[number] = int(w3.eth.get_block(number)["timestamp"])
            t1 = time.perf_counter()
            session.add(
                Event(
                    chain_id=chain_id,
                    block_number=number,
                    log_index=int(entry["logIndex"]),
                    block_hash=_hex(entry["blockHash"]),
                    block_timestamp=timestamps[number],
                    tx_hash=_hex(entry["transactionHash"]),
                    tx_index=int(entry["transactionIndex"]),
                    address=entry["address"],
                    event_name=decoded["event"],
                    args=_jsonable(dict(decoded["args"])),
                    topics=[_hex(t) for t in entry["topics"]],
                    data=_hex(entry["data"]),
                )
            )
            session.commit()
            t2 = time.perf_counter()
            decode_seconds += t1 - t0
            insert_seconds += t2 - t1
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        stored = int(conn.execute(sa.select(sa.func.count()).select_from(Event.__table__)).scalar_one())  # type: ignore[attr-defined]
    engine.dispose()
    return {
        "events": len(logs),
        "stored": stored,
        "blocks": [first, last],
        "seconds": round(seconds, 2),
        "eventsPerSecond": rate(len(logs), seconds),
        "phases": {
            "getLogsSeconds": round(fetch_seconds, 2),
            "processLogAndHeadersSeconds": round(decode_seconds, 2),
            "ormAddCommitSeconds": round(insert_seconds, 2),
        },
    }


def naive_range(url: str, filters: list[dict[str, Any]], start: int, stop: int, sample: int) -> int:
    """The last block such that [start, that block] holds at least `sample` indexed events."""
    if sample <= 0:
        return stop
    numbers: list[int] = []
    for f in filters:
        query = {**f, "fromBlock": hex(start), "toBlock": hex(stop)}
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [query]}
        numbers += [int(x["blockNumber"], 16) for x in requests.post(url, json=body, timeout=300).json()["result"]]
    numbers.sort()
    return stop if sample >= len(numbers) else numbers[sample - 1]


def with_projection(result: dict[str, Any], total: int) -> dict[str, Any]:
    result["sampled"] = result["events"] < total
    result["projectedSecondsForAll"] = round(total / result["eventsPerSecond"], 1)
    return result


# --- the machine -----------------------------------------------------------------------------------


def machine(postgres_url: str | None) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    anvil = subprocess.run([str(find_anvil()), "--version"], capture_output=True, text=True).stdout.splitlines()
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "anvil": anvil[0] if anvil else "?",
        "sqlite": sqlite3.sqlite_version,
        "web3": _version("web3"),
        "sqlalchemy": sa.__version__,
        "indexerCode": _git_head(ROOT),
        "msgspec": _version("msgspec"),
        "psycopg": _version("psycopg"),
    }
    if postgres_url:
        with sa.create_engine(postgres_url, connect_args={"connect_timeout": 5}).connect() as conn:
            info["postgres"] = str(conn.execute(sa.text("show server_version")).scalar())
    return info


def _git_head(tree: Path) -> str:
    """The commit of `tree`'s code, with "+changes" when its files differ from it."""
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "not a git checkout"
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "indexer"], capture_output=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="indexed events to generate (at least)")
    parser.add_argument("--pools", type=int, default=4)
    parser.add_argument("--txs-per-block", type=int, default=25, help="transactions mined per block")
    parser.add_argument("--naive-sample", type=int, default=10_000, help="events for the naive path (0: all)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", default=os.environ.get("PATENTPOOL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds of bare fetch and indexers (ratio: the median round's)"
    )
    parser.add_argument("--profile", action="store_true", help="also index once more per backend, timing each stage")
    parser.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        help="a checkout of other code (repeatable): each round also indexes with it, in turns with this code "
        "(the order rotating by round; all then in fresh interpreters, imports not timed)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be 1 or more, not {args.runs}")
    postgres = None if args.skip_postgres else args.postgres_url
    report: dict[str, Any] = {"machine": machine(postgres), "loadAverage": {"start": loadavg()}}
    workdir = Path(tempfile.mkdtemp(prefix="patentpool-bench-"))
    node = start_anvil()
    try:
        rpc = node.url
        w3 = node.web3()
        deployment = deploy_suite(Chain(w3, account_from_key(ANVIL_DEV_KEYS[0])))
        manifest = write_deployment(deployment, workdir / "deployments")
        seeded = seed(node, w3, deployment, args.events, args.pools, args.txs_per_block)
        report["loadAverage"]["afterSeeding"] = loadavg()
        filters = indexer_filters(deployment, seeded.pools, seeded.token)
        first, head = deployment.start_block, seeded.head
        log(f"seeded {seeded.transactions} transactions in {seeded.seconds:.0f} s; counting events")

        # Rounds: each measures the bare fetch and then each indexer, one after the other, so a
        # round's ratio compares the two at the same moment (this machine's speed drifts by tens of
        # per cent over minutes; runs of one path after the other would compare different moments).
        bare_runs: list[tuple[float, int, int, int]] = []
        sqlite_runs: list[tuple[float, dict[str, Any]]] = []
        postgres_runs: list[tuple[float, dict[str, Any]]] = []
        rounds: list[dict[str, float]] = []
        load = loadavg()
        trees: list[Path] = [ROOT, *args.baseline]
        #: Seconds by round, by baseline (its position in --baseline), by backend.
        baseline: dict[tuple[int, str], list[float]] = {}

        #: The digest every index must end at: a run that indexed something else measured nothing.
        digests: dict[str, str] = {}

        def agrees(tree: Path, backend: str, summary: dict[str, Any]) -> None:
            digest = summary.get("digest")
            if not isinstance(digest, str):
                return  # code too old to report one
            first = digests.setdefault("digest", digest)
            if digest != first:
                raise SystemExit(
                    f"{tree} indexed into {backend} up to digest {digest}, another run up to {first}: "
                    "the codes do not mirror the same chain the same way, so their times do not compare"
                )

        def measured(backend: str, url: str, runs: list[tuple[float, dict[str, Any]]], n: int) -> dict[str, float]:
            """Index with this code and each baseline, the order rotated by round; their seconds.
            Every run must end at the same digest."""
            seconds: dict[str, float] = {}
            for k in range(len(trees)):
                which = (k + n) % len(trees)
                with fresh(backend, url) as where:
                    result = index_in(trees[which], where, rpc, manifest)
                agrees(trees[which], backend, result[1])
                if which == 0:
                    runs.append(result)
                else:
                    baseline.setdefault((which - 1, backend), []).append(result[0])
                    seconds[f"{backend}Baseline{which}"] = result[0]
            return seconds

        @contextmanager
        def fresh(backend: str, url: str) -> Iterator[str]:
            if backend == "sqlite":
                path = Path(url.removeprefix("sqlite:///"))
                try:
                    yield url
                finally:
                    for leftover in path.parent.glob(f"{path.name}*"):  # the file, its -wal and -shm
                        leftover.unlink()
            else:
                assert postgres is not None
                with scratch_database(postgres, "patentpool_bench") as new:
                    yield new

        for n in range(args.runs):
            bare_runs.append(bare_fetch(rpc, filters, first, head))
            this = {"bare": bare_runs[-1][0]}
            path = workdir / f"index-{n}.db"
            if not args.baseline:
                sqlite_runs.append(index_once(f"sqlite:///{path}", rpc, manifest))
                agrees(ROOT, "sqlite", sqlite_runs[-1][1])
                for leftover in workdir.glob(f"{path.name}*"):  # the file, its -wal and -shm
                    leftover.unlink()
            else:
                this |= measured("sqlite", f"sqlite:///{path}", sqlite_runs, n)
            this["sqlite"] = sqlite_runs[-1][0]
            if postgres:
                if not args.baseline:
                    with scratch_database(postgres, "patentpool_bench") as url:
                        postgres_runs.append(index_once(url, rpc, manifest))
                    agrees(ROOT, "postgresql", postgres_runs[-1][1])
                else:
                    this |= measured("postgresql", "", postgres_runs, n)
                this["postgresql"] = postgres_runs[-1][0]
            rounds.append(this)
            log(f"round {n + 1}/{args.runs}: " + ", ".join(f"{k} {v:.2f} s" for k, v in this.items()))
        seconds, indexed, calls, ranges = min(bare_runs)
        chain_logs = all_logs(rpc, first, head)
        log(f"the chain holds {indexed} events the indexer stores ({chain_logs} logs in all)")
        report["seeding"] = {
            **seeded.counts,
            "transactions": seeded.transactions,
            "blocks": [first, head],
            "txsPerBlock": args.txs_per_block,
            "seconds": round(seeded.seconds, 1),
            "txPerSecond": rate(seeded.transactions, seeded.seconds),
            "indexedEvents": indexed,
            "chainLogs": chain_logs,
            "unindexedLogs": chain_logs - indexed,
        }
        if indexed < args.events:
            log(f"warning: {indexed} events, fewer than the {args.events} asked for")
        bare = {
            "events": indexed,
            "seconds": round(seconds, 3),
            "eventsPerSecond": rate(indexed, seconds),
            "calls": calls,
            "ranges": ranges,
            "runsSeconds": [round(r[0], 3) for r in bare_runs],
        }
        report["bareGetLogs"] = bare
        report["rounds"] = [{k: round(v, 3) for k, v in r.items()} for r in rounds]
        log(f"bare eth_getLogs: {bare['eventsPerSecond']:.0f} events/s")

        results: dict[str, Any] = {"sqlite": index_result(sqlite_runs, load)}
        log(f"indexer, SQLite: {results['sqlite']['eventsPerSecond']:.0f} events/s")
        if postgres:
            results["postgresql"] = index_result(postgres_runs, load)
            log(f"indexer, PostgreSQL: {results['postgresql']['eventsPerSecond']:.0f} events/s")
        report["indexer"] = results

        last_block = naive_range(rpc, filters, first, head, args.naive_sample)
        naive_results: dict[str, Any] = {}
        naive_results["sqlite"] = with_projection(
            naive(f"sqlite:///{workdir / 'naive.db'}", rpc, deployment, seeded, filters, first, last_block), indexed
        )
        log(f"naive, SQLite: {naive_results['sqlite']['eventsPerSecond']:.0f} events/s")
        if postgres:
            with scratch_database(postgres, "patentpool_bench") as url:
                naive_results["postgresql"] = with_projection(
                    naive(url, rpc, deployment, seeded, filters, first, last_block), indexed
                )
            log(f"naive, PostgreSQL: {naive_results['postgresql']['eventsPerSecond']:.0f} events/s")
        report["naive"] = naive_results

        ratios: dict[str, Any] = {}
        for backend, result in results.items():
            by_round = [r[backend] / r["bare"] for r in rounds]
            slower = statistics.median(by_round)
            faster = naive_results[backend]["projectedSecondsForAll"] / result["seconds"]
            ratios[backend] = {
                "indexerOverBareFetch": round(slower, 2),
                "indexerOverBareFetchByRound": [round(ratio, 2) for ratio in by_round],
                "fastestOverFastest": round(result["seconds"] / bare["seconds"], 2),
                "withinThreeTimesBareFetch": slower <= 3,
                "naiveOverIndexer": round(faster, 1),
                "atLeastTenTimesNaive": faster >= 10,
            }
        report["ratios"] = ratios
        report["baselines"] = []
        for k, tree in enumerate(args.baseline, start=1):
            entry: dict[str, Any] = {"baseline": k, "code": _git_head(tree), "tree": str(tree)}
            for backend in results:
                theirs = [r[f"{backend}Baseline{k}"] / r["bare"] for r in rounds]
                ours = [r[backend] / r[f"{backend}Baseline{k}"] for r in rounds]
                entry[backend] = {
                    "secondsByRound": [round(x, 2) for x in baseline[(k - 1, backend)]],
                    "overBareFetchByRound": [round(x, 2) for x in theirs],
                    "overBareFetch": round(statistics.median(theirs), 2),
                    "thisCodeOverBaselineByRound": [round(x, 3) for x in ours],
                    "thisCodeOverBaseline": round(statistics.median(ours), 3),
                }
            report["baselines"].append(entry)
        if args.profile:
            profiles = {"sqlite": profile_index(rpc, manifest, f"sqlite:///{workdir / 'profiled.db'}", "SQLite")}
            if postgres:
                with scratch_database(postgres, "patentpool_bench") as url:
                    profiles["postgresql"] = profile_index(rpc, manifest, url, "PostgreSQL")
            report["profile"] = profiles
        report["loadAverage"]["end"] = loadavg()
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Crash safety: `patentpool index` killed with SIGKILL at random points, over and over, and restarted
each time, ends with the same database as an uninterrupted run.

The chain holds the scenario's events and a seeded bulk of them (pools created mid-way, pool
settings, founders, families, token transfers to pools, transfers the indexer must ignore, empty
blocks). The indexer reads a few blocks per eth_getLogs call (--log-range and --max-log-range), so a
run is dozens of small batches; a JSON-RPC proxy in front of anvil checks no call is wider, and it
tells the test when each batch's headers were answered: the batch's decoding and its one write
transaction come right after that.

Each run is killed after 1-3 batches' headers, in one of four ways: (a) inside a batch's write
transaction: the test stops the process (SIGSTOP) about every millisecond and asks the database
whether a write transaction is open, resuming it until one is (and, at random, up to three probes
longer); (b) a random fraction of a batch's decode-and-write time later; (c) at a random time in the
next few batches; (d) while the proxy holds the next batch's eth_getLogs answer (nothing written).
Before every SIGKILL the stopped process's database is probed, so each kill is known to have
interrupted a write transaction or not. On SQLite every restart runs with the default
PATENTPOOL_LOCK_STALE_AFTER (60 s) and must take the killed indexer's lock over at once (its holder,
a process of this host, is gone); on PostgreSQL the restarts take it over after 0.2 s, as stale.

Compared with the uninterrupted run: every table row by row (ordered by primary key), including
recent_block and projection_undo (the fixed range fixes the batch boundaries, so both runs store
the same batch ends), except checkpoint.updated_at (the wall-clock time of the last commit) and
indexer_lock, which must be empty after the last, clean run (its owner and times name a process);
and the summary's checkpoint, digest and row counts.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine, make_url
from web3 import Web3

from indexer.db import make_engine
from indexer.schema import IndexerLock, ProjectionUndo, RecentBlock
from registry.client import PatentPoolClient
from registry.deploy import Deployment, write_deployment
from registry.node import AnvilNode
from tests.conftest import USDC, World, extra_accounts, make_world
from tests.indexer.conftest import dump, new_database
from tests.indexer.proxy import JsonHandler, Proxy
from tests.indexer.scenario import run_scenario

#: Blocks per eth_getLogs call (--log-range and --max-log-range), hence per batch.
BATCH_BLOCKS = 6
#: Seconds after which a killed indexer's lock may be taken over by the restarts (the default is 60).
STALE_AFTER = 0.2
#: The kinds of kill of one crash loop, shuffled (then one run to the end).
KILLS = ["in the write"] * 3 + ["after headers"] * 2 + ["any time"] * 2 + ["reading logs"]


# --- the chain --------------------------------------------------------------------------------------


class Sender:
    """Transactions queued on anvil (automine off; anvil signs for its unlocked accounts), sent as
    one JSON-RPC batch per block with explicit nonces."""

    def __init__(self, w3: Web3, url: str) -> None:
        self.w3 = w3
        self.url = url
        self.nonces: dict[str, int] = {}
        self.queued: list[dict[str, Any]] = []

    def send(self, sender: str, client: Any, fn: str, *args: Any) -> None:
        if sender not in self.nonces:
            self.nonces[sender] = self.w3.eth.get_transaction_count(sender, "pending")  # type: ignore[arg-type]
        data = client.contract.functions[fn](*args)._encode_transaction_data()
        tx = {
            "from": sender,
            "to": client.address,
            "data": data,
            "gas": hex(1_000_000),
            "nonce": hex(self.nonces[sender]),
        }
        self.nonces[sender] += 1
        self.queued.append({"jsonrpc": "2.0", "id": len(self.queued), "method": "eth_sendTransaction", "params": [tx]})

    def mine(self, blocks: int = 1) -> None:
        """Send the queued transactions and mine them into one block (then `blocks - 1` empty ones)."""
        if self.queued:
            answers = requests.post(self.url, json=self.queued, timeout=60).json()
            assert all("error" not in a for a in answers), answers
            self.queued = []
        answer = self.w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]
        assert "error" not in answer, answer


def build_history(world: World, url: str, rng: random.Random, blocks: int) -> None:
    """`blocks` rounds of 0-16 transactions mined into one block (sometimes with empty blocks after
    it), a new pool every 50 rounds."""
    k = world.keys
    operator = world.operator.address
    strangers = [a.address for a in extra_accounts(40, start=7000)]
    pools = [world.new_pool(f"Crash {n}") for n in range(2)]
    world.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    chain = Sender(world.w3, url)
    try:
        families = 0
        for block in range(blocks):
            if block % 50 == 25:
                chain.send(
                    operator, world.factory, "createPool", f"Mid {block}", 2, "LiDAR", world.coin.address, operator
                )
                chain.mine()
                created = world.factory.pool_at(world.factory.pool_count() - 1)
                pools.append(PatentPoolClient(world.operator, created))
            for _ in range(rng.choice([0, 0, 3, 6, 10, 16])):
                pool = rng.choice(pools)
                action = rng.randrange(7)
                if action == 0:
                    chain.send(operator, pool, "setTerritory", f"T{block}-{rng.randrange(1000)}")
                elif action == 1:
                    chain.send(operator, pool, "setTierFee", rng.randrange(3), rng.randrange(1, 500) * USDC)
                elif action == 2:
                    chain.send(operator, pool, "admitFounder", rng.choice(strangers))
                elif action == 3:
                    chain.send(operator, world.coin, "mint", pool.address, rng.randrange(1, 100) * USDC)
                elif action == 4:
                    chain.send(operator, world.coin, "mint", rng.choice(strangers), USDC)  # not indexed
                elif action == 5:
                    families += 1
                    fid = f"CRASH-{families}"
                    owner = k[1 + rng.randrange(5)].address
                    chain.send(
                        owner, world.assets, "registerFamily", fid, f"Family {fid}", b"\x11" * 32, f"ipfs://{fid}"
                    )
                else:
                    chain.send(operator, world.coin, "mint", operator, 10 * USDC)
                    chain.send(operator, world.coin, "transfer", pool.address, 10 * USDC)
            chain.mine(1 + (rng.randrange(1, 5) if rng.random() < 0.2 else 0))
    finally:
        world.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


@dataclass(frozen=True)
class History:
    manifest: Path
    head: int


@pytest.fixture(scope="module")
def history(
    w3: Web3,
    anvil: AnvilNode,
    deployment: Deployment,
    keys: list[LocalAccount],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[History]:
    """The scenario and a seeded bulk of events on the session's anvil; reverted after the module."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        world = make_world(w3, deployment, keys)
        run_scenario(world)
        build_history(world, anvil.url, random.Random(4), blocks=200)
        manifest = write_deployment(deployment, tmp_path_factory.mktemp("crash-manifest"))
        yield History(manifest, w3.eth.block_number)
    finally:
        w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


# --- the provider -----------------------------------------------------------------------------------


def _is_headers(request: Any) -> bool:
    """The batch of headers a batch reads after its logs (a step's first batch asks eth_blockNumber)."""
    return (
        isinstance(request, list)
        and bool(request)
        and all(isinstance(c, dict) and c.get("method") == "eth_getBlockByNumber" for c in request)
    )


class Provider(Proxy):
    """A JSON-RPC proxy to anvil that notes the widest eth_getLogs range asked for and counts the
    answered header batches, one per indexed batch."""

    def __init__(self, upstream: str) -> None:
        self.widest = 0
        self.headers = 0
        self.requests = 0
        self.gaps: list[float] = []  # seconds from a header batch's answer to the next request
        self._answered_at: float | None = None
        self._hold_after: int | None = None
        self.holding = threading.Event()
        self._release = threading.Event()
        self._changed = threading.Condition()
        proxy = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                proxy.arrived()
                request = json.loads(self.body())
                payload = json.dumps(proxy.answer(request)).encode()
                try:
                    self.answer(payload)
                    self.wfile.flush()
                except OSError:
                    return  # the indexer was killed while it waited
                if _is_headers(request):
                    proxy.answered_headers()

        super().__init__(upstream, Handler, quiet_errors=True)

    def arrived(self) -> None:
        with self._changed:
            self.requests += 1
            if self._answered_at is not None:
                self.gaps.append(time.monotonic() - self._answered_at)
                self._answered_at = None

    def answered_headers(self) -> None:
        with self._changed:
            self.headers += 1
            self._answered_at = time.monotonic()
            self._changed.notify_all()

    def forget_pending(self) -> None:
        """After a kill: no request follows the last header batch."""
        with self._changed:
            self._answered_at = None

    def wait_for_headers(self, count: int, process: subprocess.Popen[str], timeout: float = 60.0) -> bool:
        """Wait until `count` header batches were answered; False if the process exited first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.headers < count:
                if process.poll() is not None:
                    return False
                assert time.monotonic() < deadline, f"no header batch {count} within {timeout} s"
                self._changed.wait(0.02)
        return True

    def hold_logs(self, after_headers: int) -> None:
        """Hold the first eth_getLogs request after `after_headers` header batches until `release`."""
        self._release.clear()
        self.holding.clear()
        self._hold_after = after_headers

    def release(self) -> None:
        self._hold_after = None
        self._release.set()

    def answer(self, request: Any) -> Any:
        if isinstance(request, dict) and request.get("method") == "eth_getLogs":
            if self._hold_after is not None and self.headers >= self._hold_after:
                self._hold_after = None
                self.holding.set()
                self._release.wait(60)
            query = request["params"][0]
            self.widest = max(self.widest, int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1)
        return self.call(request)


@pytest.fixture(scope="module")
def provider(anvil: AnvilNode) -> Iterator[Provider]:
    with Provider(anvil.url) as proxy:
        yield proxy


# --- running, probing and killing the indexer -------------------------------------------------------


@dataclass
class Indexing:
    """`patentpool index --json` on one database through the provider."""

    provider: Provider
    history: History
    url: str

    def start(self, stale_after: float | None = STALE_AFTER) -> subprocess.Popen[str]:
        env = {**os.environ, "DATABASE_URL": self.url}
        env.pop("PATENTPOOL_LOCK_STALE_AFTER", None)
        if stale_after is not None:
            env["PATENTPOOL_LOCK_STALE_AFTER"] = str(stale_after)
        args = ["index", "--rpc", self.provider.url, "--deployment", str(self.history.manifest), "--json"]
        args += ["--log-range", str(BATCH_BLOCKS), "--max-log-range", str(BATCH_BLOCKS)]
        return subprocess.Popen(
            [sys.executable, "-m", "patentpool", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def finish(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        summary: dict[str, Any] = json.loads(out)
        return summary

    def run(self, stale_after: float | None = STALE_AFTER) -> dict[str, Any]:
        return self.finish(self.start(stale_after))


def sqlite_writing(url: str) -> Callable[[], bool]:
    """Whether a connection holds the SQLite file's write lock, i.e. has a write transaction open."""
    path = make_url(url).database
    assert path

    def probe() -> bool:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc), exc
            return True
        finally:
            conn.close()

    return probe


def postgres_writing(engine: Engine) -> Callable[[], bool]:
    """Whether another session on the database is in a transaction that wrote (it holds an xid)."""

    def probe() -> bool:
        with engine.connect() as conn:
            count = conn.execute(
                sa.text(
                    "select count(*) from pg_stat_activity where datname = current_database() "
                    "and pid <> pg_backend_pid() and backend_xid is not null"
                )
            ).scalar_one()
        return int(count) > 0

    return probe


def stop(process: subprocess.Popen[str]) -> None:
    """SIGSTOP, then wait until every thread of the process is stopped."""
    os.kill(process.pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{process.pid}/task")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = []
        for task in tasks.iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue
        if all(s in ("T", "t", "Z", "X") for s in states):
            return
        time.sleep(0.0002)
    raise AssertionError(f"process {process.pid} did not stop")


@dataclass
class Kill:
    kind: str
    in_transaction: bool
    checkpoint: int


@dataclass
class CrashLoop:
    """Start the indexer, SIGKILL it somewhere, again and again, on one database."""

    indexing: Indexing
    engine: Engine
    writing: Callable[[], bool]
    gap: float  # seconds a batch takes from its headers' answer to its commit (90th percentile)
    rng: random.Random
    kills: list[Kill] = field(default_factory=list)

    def checkpoint(self) -> int:
        """The committed checkpoint, checked against the committed events: no batch half-written."""
        with self.engine.connect() as conn:
            number, count = conn.execute(sa.text("select block_number, event_count from checkpoint")).one()
            events, top = conn.execute(sa.text("select count(*), max(block_number) from event")).one()
            blocks = conn.execute(sa.text("select count(*) from block where number > :n"), {"n": number}).scalar_one()
        assert (events, blocks) == (count, 0) and (top or 0) <= number, (
            f"after kill {len(self.kills) + 1}: checkpoint at block {number} with {count} events, "
            f"but {events} events up to block {top} and {blocks} blocks above it"
        )
        return int(number)

    def holder(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(sa.text("select owner from indexer_lock")).scalar_one())

    def kill_one(self, kind: str, stale_after: float | None = STALE_AFTER) -> None:
        """One run killed by `kind` of kill; fails if it reached the head (or stopped, refused by
        the lock for one) first."""
        provider = self.indexing.provider
        batches, delay, extra = self.rng.randint(1, 3), self.rng.random(), self.rng.randint(0, 3)
        base = provider.headers
        if kind == "reading logs":
            provider.hold_logs(base + batches)
        process = self.indexing.start(stale_after)
        try:
            alive = provider.wait_for_headers(base + batches, process)
            if alive and kind == "reading logs":
                while not provider.holding.wait(0.02) and process.poll() is None:
                    pass
                alive = process.poll() is None
                if alive:
                    stop(process)
            elif alive and kind == "in the write":
                alive = self._stop_in_the_write(process, extra)
            elif alive:
                time.sleep(delay * self.gap * (1 if kind == "after headers" else 10))
                alive = process.poll() is None
                if alive:
                    stop(process)
            if not alive:
                _, err = process.communicate(timeout=60)
                pytest.fail(f"the indexer exited ({process.returncode}) before kill {len(self.kills) + 1}: {err}")
            in_transaction = self.writing()
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)
            provider.release()
            provider.forget_pending()
        assert process.returncode == -signal.SIGKILL
        self.kills.append(Kill(kind, in_transaction, self.checkpoint()))

    def writing_for_a_moment(self) -> bool:
        """`writing()` now and still 20 ms later (the process is stopped meanwhile)."""
        if not self.writing():
            return False
        time.sleep(0.02)
        return self.writing()

    def _stop_in_the_write(self, process: subprocess.Popen[str], extra: int) -> bool:
        """Stop the process inside a write transaction, `extra` probes after first seeing it open.

        A transaction counts only if it is still open a moment later, the process stopped: one
        whose COMMIT had just been sent when the process stopped ends by itself in the server."""
        seen = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stop(process)
            if self.writing_for_a_moment():
                seen += 1
                if seen > extra:
                    return True
            os.kill(process.pid, signal.SIGCONT)
            if process.poll() is not None:
                return False
            time.sleep(0.0005)
        raise AssertionError("no write transaction seen within 60 s")

    def run(self, kinds: list[str], restart_at_once: bool = False) -> dict[str, Any]:
        """A kill of each kind, then one run to the end; returns its summary. With
        `restart_at_once`, every restart has the default staleness (60 s): each must take the
        killed holder's lock over at once (`kill_one` fails on a run refused by the lock)."""
        stale_after = None if restart_at_once else STALE_AFTER
        holders = []
        for kind in kinds:
            self.kill_one(kind, stale_after)
            holders.append(self.holder())
        assert len(set(holders)) == len(kinds), f"a restart did not take the lock over: {holders}"
        return self.indexing.run(stale_after)


def assert_killed_mid_batch_and_resumed(loop: CrashLoop, kinds: list[str]) -> None:
    assert [k.kind for k in loop.kills] == kinds
    assert all(k.in_transaction for k in loop.kills if k.kind == "in the write"), loop.kills
    # ("reading logs" may also hold a write open: the previous batch is committed while the next is read.)
    checkpoints = [k.checkpoint for k in loop.kills]
    assert checkpoints == sorted(checkpoints), f"a restart lost committed batches: {loop.kills}"
    widest = loop.indexing.provider.widest
    assert widest == BATCH_BLOCKS, f"eth_getLogs over {widest} blocks, wider than --max-log-range {BATCH_BLOCKS}"


_RECENT = RecentBlock.__table__  # type: ignore[attr-defined]
_UNDO = ProjectionUndo.__table__  # type: ignore[attr-defined]
_LOCK = IndexerLock.__table__  # type: ignore[attr-defined]


def tables(url: str) -> dict[str, Any]:
    """dump(): every mirrored table (checkpoint.updated_at left out); plus recent_block, the
    projection undo log and the number of lock rows."""
    engine = make_engine(url)
    try:
        data: dict[str, Any] = dump(engine)
        with engine.connect() as conn:
            data["recent_block"] = [tuple(r) for r in conn.execute(sa.select(_RECENT).order_by(_RECENT.c.number))]
            undo = sa.select(_UNDO).order_by(_UNDO.c.batch_first, _UNDO.c.seq)
            data["projection_undo"] = [dict(r) for r in conn.execute(undo).mappings()]
            data["indexer_lock rows"] = conn.execute(sa.select(sa.func.count()).select_from(_LOCK)).scalar_one()
    finally:
        engine.dispose()
    return data


@dataclass(frozen=True)
class Reference:
    summary: dict[str, Any]
    tables: dict[str, Any]
    gap: float


@pytest.fixture(scope="module")
def reference(history: History, provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted run into a SQLite file; it also times a batch's decoding and writing."""
    url = f"sqlite:///{tmp_path_factory.mktemp('crash-reference') / 'reference.db'}"
    provider.gaps.clear()
    summary = Indexing(provider, history, url).run()
    gaps = sorted(provider.gaps)
    assert summary["checkpoint"]["block"] == history.head
    assert provider.widest == BATCH_BLOCKS, f"eth_getLogs over {provider.widest} blocks, not {BATCH_BLOCKS}"
    assert summary["batches"] >= 40 and summary["totalEvents"] >= 1000, summary
    # Seven pools (four created mid-way, then used in the next block) and their token transfers.
    assert summary["tables"]["pool"] == 7 and summary["tables"]["token_transfer"] >= 100, summary
    return Reference(summary, tables(url), gaps[int(len(gaps) * 0.9)])


def assert_same_as_reference(url: str, summary: dict[str, Any], reference: Reference) -> None:
    assert summary["checkpoint"] == reference.summary["checkpoint"]
    assert summary["digest"] == reference.summary["digest"]
    assert summary["tables"] == reference.summary["tables"]
    got = tables(url)
    assert got["indexer_lock rows"] == 0, "the last run left its lock behind"
    assert got.keys() == reference.tables.keys()
    for name in reference.tables:
        assert got[name] == reference.tables[name], f"table {name} differs from the uninterrupted run's"


# --- the tests --------------------------------------------------------------------------------------


def test_sigkills_at_random_points_of_sqlite_batches_end_with_the_uninterrupted_database(
    history: History, provider: Provider, reference: Reference, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'crashed.db'}"
    rng = random.Random(11)
    kinds = rng.sample(KILLS, len(KILLS))
    engine = make_engine(url)
    try:
        loop = CrashLoop(Indexing(provider, history, url), engine, sqlite_writing(url), reference.gap, rng)
        summary = loop.run(kinds, restart_at_once=True)
        assert_killed_mid_batch_and_resumed(loop, kinds)
    finally:
        engine.dispose()
    assert_same_as_reference(url, summary, reference)


def test_sigkills_at_random_points_of_postgresql_batches_end_with_the_uninterrupted_database(
    history: History,
    provider: Provider,
    reference: Reference,
    tmp_path: Path,
    postgres_unavailable: str | None,
) -> None:
    urls = new_database("postgresql", tmp_path, postgres_unavailable)
    url = next(urls)
    rng = random.Random(23)
    kinds = rng.sample(KILLS, len(KILLS))
    engine = make_engine(url)
    try:
        loop = CrashLoop(Indexing(provider, history, url), engine, postgres_writing(engine), reference.gap, rng)
        summary = loop.run(kinds)
        assert_killed_mid_batch_and_resumed(loop, kinds)
        assert_same_as_reference(url, summary, reference)
    finally:
        engine.dispose()
        next(urls, None)

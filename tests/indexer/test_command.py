"""`patentpool index` as a user runs it: a subprocess on a real anvil and a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from web3 import Web3

from indexer.db import make_engine, upgrade
from indexer.fetch import Rpc
from indexer.lock import Lock
from indexer.sync import Indexer
from patentpool.commands.index import ProgressStart, progress_start
from registry.deploy import write_deployment
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import POSTGRES_URL, index_chain, new_database, wait_for
from tests.indexer.proxy import RangeRecorder
from tests.indexer.scenario import run_scenario


def patentpool(
    *args: str, db: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`patentpool *args` on the database `db`, with `env` added to the environment."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PATENTPOOL_LOG_RANGE", "PATENTPOOL_MAX_LOG_RANGE")}
    environment.update({"DATABASE_URL": db, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "patentpool", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        **kwargs,
    )


def chain_log_count(w3: Web3, world: World, pools: list[str]) -> int:
    """The logs the indexer should hold, counted straight from the node."""
    start = world.deployment.start_block
    addresses = [world.deployment.address("PoolFactory"), world.deployment.address("PatentAsset"), *pools]
    keys = {
        (log["blockNumber"], log["logIndex"])
        for log in w3.eth.get_logs({"fromBlock": start, "address": addresses})  # type: ignore[typeddict-item]
    }
    transfer = Web3.keccak(text="Transfer(address,address,uint256)")
    topics = ["0x" + "00" * 12 + p[2:].lower() for p in pools]
    for query in ([transfer, topics], [transfer, None, topics]):
        logs = w3.eth.get_logs({"fromBlock": start, "address": world.coin.address, "topics": query})  # type: ignore[typeddict-item]
        keys |= {(log["blockNumber"], log["logIndex"]) for log in logs}
    return len(keys)


def test_index_reaches_the_head_with_counts_equal_to_the_chain(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    scenario = run_scenario(world)
    manifest = write_deployment(world.deployment, tmp_path)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ("index", "--rpc", anvil.url, "--deployment", str(manifest), "--json")
    done = patentpool(*args, db=db)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    head = world.w3.eth.block_number
    assert summary["checkpoint"]["block"] == head
    assert summary["checkpoint"]["hash"] == "0x" + world.w3.eth.get_block(head)["hash"].hex()
    total = chain_log_count(world.w3, world, [scenario.pool])
    assert summary["totalEvents"] == summary["indexedEvents"] == summary["tables"]["event"] == total
    assert summary["tables"]["pool"] == 1 and summary["tables"]["licence"] == 1 and summary["tables"]["dispute"] == 3
    assert summary["reorgs"] == 0

    again = json.loads(patentpool(*args, db=db).stdout)
    assert again["indexedEvents"] == 0 and again["batches"] == 0
    assert (again["digest"], again["checkpoint"]) == (summary["digest"], summary["checkpoint"])

    rebuilt = json.loads(patentpool(*args, "--rebuild", db=db).stdout)
    assert rebuilt["rebuiltEvents"] == total and rebuilt["tables"] == summary["tables"]


def test_index_prints_a_one_line_summary_without_json(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    args = ("index", "--rpc", anvil.url, "--deployment", str(manifest))
    done = patentpool(*args, db=f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 0, done.stderr
    assert f"to block {world.w3.eth.block_number}" in done.stdout
    events = int(done.stdout.split(" events,")[0].rsplit("(", 1)[1])
    rebuilt = patentpool(*args, "--rebuild", db=f"sqlite:///{tmp_path / 'a.db'}")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilding projections" in rebuilt.stderr and f"{events}/{events} events" in rebuilt.stderr


def test_the_progress_bar_knows_its_target_before_the_first_batch(
    world: World, anvil: AnvilNode, tmp_path: Path
) -> None:
    world.w3.provider.make_request("anvil_mine", [hex(10)])  # type: ignore[arg-type]
    engine = make_engine(f"sqlite:///{tmp_path / 'progress.db'}")
    upgrade(engine)
    try:
        indexer = Indexer(engine, Rpc(anvil.url), world.deployment, finality_depth=4)
        indexer.prepare()
        head = world.w3.eth.block_number
        assert progress_start(indexer) == ProgressStart(completed=world.deployment.start_block - 1, target=head - 4)
        indexer.run()
        assert indexer.checkpoint[0] == head - 4
        assert progress_start(indexer) == ProgressStart(completed=head - 4, target=head - 4)
        # A finality depth beyond the head: the target never falls below what is indexed.
        deep = Indexer(engine, Rpc(anvil.url), world.deployment, finality_depth=head + 10)
        deep.prepare()
        assert progress_start(deep) == ProgressStart(completed=head - 4, target=head - 4)
    finally:
        engine.dispose()


def test_the_log_ranges_come_from_the_environment_or_the_options(
    world: World, anvil: AnvilNode, tmp_path: Path
) -> None:
    world.w3.provider.make_request("anvil_mine", [hex(30)])  # type: ignore[arg-type]
    manifest = write_deployment(world.deployment, tmp_path)
    head = world.w3.eth.block_number
    env = {"PATENTPOOL_LOG_RANGE": "3", "PATENTPOOL_MAX_LOG_RANGE": "5"}
    for options, (initial, maximum) in (([], (3, 5)), (["--log-range", "2", "--max-log-range", "4"], (2, 4))):
        with RangeRecorder(anvil.url) as proxy:
            args = ("index", "--rpc", proxy.url, "--deployment", str(manifest), "--json", *options)
            done = patentpool(*args, db=f"sqlite:///{tmp_path / f'ranges-{initial}.db'}", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["checkpoint"]["block"] == head
        # The first batch asks for the initial range; growth stops at the maximum.
        assert proxy.widths[0] == initial and max(proxy.widths) == maximum, proxy.widths
        assert proxy.ranges[0][0] == world.deployment.start_block and max(r[1] for r in proxy.ranges) == head


def test_bad_log_ranges_are_refused_in_one_line(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    args = ("index", "--rpc", anvil.url, "--deployment", str(manifest))
    db = f"sqlite:///{tmp_path / 'never.db'}"
    for options, env, message in (
        (
            [],
            {"PATENTPOOL_LOG_RANGE": "5000", "PATENTPOOL_MAX_LOG_RANGE": "2000"},
            "the initial eth_getLogs range (5000 blocks, PATENTPOOL_LOG_RANGE) must not exceed the maximum "
            "(2000 blocks, PATENTPOOL_MAX_LOG_RANGE)",
        ),
        ([], {"PATENTPOOL_MAX_LOG_RANGE": "lots"}, "PATENTPOOL_MAX_LOG_RANGE=lots: input should be a valid integer"),
        (
            ["--log-range", "3000"],
            {"PATENTPOOL_MAX_LOG_RANGE": "2000"},
            "the initial eth_getLogs range (3000 blocks, --log-range or PATENTPOOL_LOG_RANGE) must not exceed the "
            "maximum (2000 blocks, --max-log-range or PATENTPOOL_MAX_LOG_RANGE)",
        ),
    ):
        done = patentpool(*args, *options, db=db, env=env)
        assert done.returncode == 2, done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "never.db").exists()


def test_unusable_databases_are_refused_in_one_line_without_their_password(
    world: World, anvil: AnvilNode, tmp_path: Path
) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    args = ("index", "--rpc", anvil.url, "--deployment", str(manifest))
    for db, message in (
        ("foo://bar", "cannot use the database foo://bar: not a database URL the indexer can use"),
        ("not a url", "cannot use the database not a url: not a database URL the indexer can use"),
        (
            f"sqlite:///{tmp_path / 'no-such-folder' / 'index.db'}",
            f"cannot use the database sqlite:///{tmp_path / 'no-such-folder' / 'index.db'}: unable to open",
        ),
        (
            "postgresql://patentpool:hunter2@127.0.0.1:1/test",
            "cannot use the database postgresql+psycopg://patentpool:***@127.0.0.1:1/test: connection failed",
        ),
        (
            "postgresql://patentpool:hunter2@127.0.0.1:port/test",
            "cannot use the database postgresql+psycopg://patentpool:***@127.0.0.1:port/test: not a database URL",
        ),
    ):
        done = patentpool(*args, db=db)
        assert done.returncode == 2, done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
        assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_a_start_block_the_chain_does_not_have_is_refused_before_anything_is_written(
    world: World, anvil: AnvilNode, tmp_path: Path
) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    db = f"sqlite:///{tmp_path / 'start.db'}"
    head = world.w3.eth.block_number
    for start, message in (
        ("-1", "--from-block must be 0 or more, not -1"),
        (
            str(head + 5),
            f"the first block to index, {head + 5} (--from-block), is beyond the chain's head (block {head})",
        ),
    ):
        done = patentpool("index", "--rpc", anvil.url, "--deployment", str(manifest), "--from-block", start, db=db)
        assert done.returncode == 2, done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
        assert "Traceback" not in done.stderr
    engine = make_engine(db)
    with engine.connect() as conn:  # no checkpoint: the next run may start anywhere
        assert conn.execute(sa.text("SELECT count(*) FROM checkpoint")).scalar() == 0
    engine.dispose()
    done = patentpool("index", "--rpc", anvil.url, "--deployment", str(manifest), "--from-block", str(head), db=db)
    assert done.returncode == 0, done.stderr


def test_a_manifest_whose_factory_is_not_on_the_chain_is_refused(
    world: World, anvil: AnvilNode, tmp_path: Path
) -> None:
    """As after restarting anvil with an old manifest: same chain id, no contracts."""
    manifest = write_deployment(world.deployment, tmp_path)
    data = json.loads(manifest.read_text())
    data["contracts"]["PoolFactory"]["address"] = "0x000000000000000000000000000000000000dEaD"
    manifest.write_text(json.dumps(data))
    done = patentpool("index", "--rpc", anvil.url, "--deployment", str(manifest), db=f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 2, done.stderr
    assert (
        "the deployment's PoolFactory 0x000000000000000000000000000000000000dEaD has no code on chain 31337"
        in " ".join(done.stderr.split())
    ), done.stderr


def test_a_second_indexer_on_the_same_database_is_refused(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    db = f"sqlite:///{tmp_path / 'locked.db'}"
    engine = make_engine(db)
    upgrade(engine)
    holder = Lock(engine, owner="indexer on host-a pid 42")
    holder.acquire()
    try:
        done = patentpool("index", "--rpc", anvil.url, "--deployment", str(manifest), db=db)
    finally:
        holder.release()
        engine.dispose()
    assert done.returncode == 2
    assert "another indexer (indexer on host-a pid 42) is writing to this database" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_of_another_deployment_is_refused(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    db = f"sqlite:///{tmp_path / 'other.db'}"
    engine = make_engine(db)
    upgrade(engine)
    index_chain(engine, anvil, world.deployment)
    engine.dispose()
    data = json.loads(manifest.read_text())
    data["contracts"]["PoolFactory"]["address"] = world.pool.address
    manifest.write_text(json.dumps(data))
    done = patentpool("index", "--rpc", anvil.url, "--deployment", str(manifest), db=db)
    assert done.returncode == 2
    assert "this database mirrors the deployment of PoolFactory" in done.stderr


def wait_until_indexed(engine: Engine, block: int, process: subprocess.Popen[str], seconds: float = 30) -> None:
    """Wait until the indexer `process` has committed `block` into `engine`'s database."""

    def indexed_to() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("select block_number from checkpoint")).scalar() or -1)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # not made yet
            return -1

    def reached() -> bool:
        assert process.poll() is None, process.communicate()
        return indexed_to() >= block

    wait_for(reached, f"indexed to {block}", seconds, every=0.1)


def test_follow_indexes_new_blocks_and_stops_cleanly_on_ctrl_c(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    db = f"sqlite:///{tmp_path / 'follow.db'}"
    env = {**os.environ, "DATABASE_URL": db}
    args = ["index", "--rpc", anvil.url, "--deployment", str(manifest), "--follow", "--poll-interval", "0.1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "patentpool", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    engine = make_engine(db)
    try:
        wait_until_indexed(engine, world.w3.eth.block_number, process)
        world.pool.set_territory("followed")
        wait_until_indexed(engine, world.w3.eth.block_number, process)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select territory from pool")).scalar() == "followed"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
    assert process.returncode == 0, err
    assert "stopping after the current batch" in err
    summary = json.loads(out)
    assert summary["checkpoint"]["block"] == world.w3.eth.block_number
    with make_engine(db).connect() as conn:
        assert conn.execute(sa.text("select count(*) from indexer_lock")).scalar() == 0


def test_a_later_start_block_names_the_pools_it_does_not_mirror(world: World, anvil: AnvilNode, tmp_path: Path) -> None:
    start = world.w3.eth.block_number + 1
    world.pool.set_territory("late")
    manifest = write_deployment(world.deployment, tmp_path)
    args = ("index", "--rpc", anvil.url, "--deployment", str(manifest), "--from-block", str(start))
    count = world.factory.contract.functions.poolCount().call()
    before = [world.factory.contract.functions.poolAt(i).call() for i in range(count)]
    assert world.pool.address in before

    done = patentpool(*args, db=f"sqlite:///{tmp_path / 'late.db'}")
    assert done.returncode == 0, done.stderr
    assert f"note: {count} pool(s) were created before block {start}" in done.stderr
    summary = json.loads(patentpool(*args, "--json", db=f"sqlite:///{tmp_path / 'late-json.db'}").stdout)
    assert summary["poolsBeforeStart"] == before and summary["tables"]["pool"] == 0

    full = json.loads(patentpool(*args[:5], "--json", db=f"sqlite:///{tmp_path / 'full.db'}").stdout)
    assert full["poolsBeforeStart"] == [] and full["tables"]["pool"] >= 1


@pytest.fixture
def postgres_db(tmp_path: Path, postgres_unavailable: str | None) -> Iterator[str]:
    """A fresh PostgreSQL database's URL (skipped, or failed under CI, without a server)."""
    yield from new_database("postgresql", tmp_path, postgres_unavailable)


def test_a_database_that_goes_away_while_following_ends_in_one_line(
    world: World, anvil: AnvilNode, tmp_path: Path, postgres_db: str
) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    args = ["index", "--rpc", anvil.url, "--deployment", str(manifest), "--follow", "--poll-interval", "0.1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "patentpool", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DATABASE_URL": postgres_db},
    )
    try:
        engine = make_engine(postgres_db)
        wait_until_indexed(engine, world.w3.eth.block_number, process)
        engine.dispose()
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the server ends the indexer's sessions, then the database goes
            conn.execute(sa.text(f'DROP DATABASE "{make_url(postgres_db).database}" WITH (FORCE)'))
        admin.dispose()
        world.pool.set_territory("nowhere to write")
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, err
    line = " ".join(err.split())
    assert "failed while indexing" in line and "every batch committed before that is kept" in line, err
    assert "Traceback" not in err

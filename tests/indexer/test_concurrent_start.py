"""Two indexers started at the same instant on an empty database: the first migration runs once.

The lock table (indexer/lock.py) is made by the first migration, so it cannot guard that migration;
`upgrade` serialises itself (a PostgreSQL advisory lock, a SQLite write transaction) and re-reads
the revision once it holds the lock. Here two processes, released together by a barrier, upgrade
fresh databases round after round (and open new SQLite files, which both turn to WAL at once);
then two real `patentpool index` processes start at the same instant on fresh databases: both end
without a traceback, the schema is at head, and either one indexes while the other is refused by
the writer lock, or both succeed one after the other.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import indexer.schema  # noqa: F401 - registers the tables on SQLModel.metadata
from indexer.db import current_revision, head_revision, make_engine
from registry.deploy import write_deployment
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import new_database

#: Rounds of two concurrent upgrades, each on a fresh database.
UPGRADE_ROUNDS = 8
#: Rounds of two concurrent `patentpool index` processes, each on a fresh database.
INDEX_ROUNDS = 3


@pytest.fixture
def fresh_urls(backend: str, tmp_path: Path, postgres_unavailable: str | None) -> Iterator[list[str]]:
    """UPGRADE_ROUNDS URLs of empty databases of the test's backend, removed afterwards."""
    with ExitStack() as stack:
        urls = []
        for _ in range(UPGRADE_ROUNDS):
            made = new_database(backend, tmp_path, postgres_unavailable)
            urls.append(next(made))
            stack.callback(next, made, None)
        yield urls


def _rounds(action: str, urls: list[str], barrier: Any, results: Any) -> None:
    """In a child process: for each URL, wait for the other child, then `action` ("upgrade", or
    "connect": open a connection and read)."""
    from indexer.db import make_engine, upgrade

    for url in urls:
        barrier.wait(timeout=60)
        engine = make_engine(url)
        try:
            if action == "upgrade":
                upgrade(engine)
            else:
                with engine.connect() as conn:
                    conn.execute(sa.text("select 1"))
            results.put((url, None))
        except BaseException:
            results.put((url, traceback.format_exc()))
        finally:
            engine.dispose()


def in_two_processes(action: str, urls: list[str]) -> None:
    """`action` on each of `urls` by two processes at once (a barrier before each); fails on any
    exception in either."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    workers = [ctx.Process(target=_rounds, args=(action, urls, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        answers = [results.get(timeout=60) for _ in range(2 * len(urls))]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
    failures = [f"{url}:\n{error}" for url, error in answers if error is not None]
    assert not failures, "\n".join(failures)


def assert_at_head(url: str) -> None:
    """The revision is head, recorded once, and the tables are exactly the models'."""
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision() is not None
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from alembic_version")).scalar_one() == 1
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_two_upgrades_at_the_same_instant_migrate_an_empty_database_once(fresh_urls: list[str]) -> None:
    in_two_processes("upgrade", fresh_urls)
    for url in fresh_urls:
        assert_at_head(url)


def test_two_processes_open_a_new_sqlite_file_at_the_same_instant(tmp_path: Path) -> None:
    """Both turn the file to WAL at once; SQLite refuses one at once (no busy wait): it retries."""
    in_two_processes("connect", [f"sqlite:///{tmp_path / f'new-{n}.db'}" for n in range(60)])


#: `patentpool index` after the slow imports, once every process is ready: each creates
#: BARRIER/ready-<pid>, then polls for BARRIER/go, which the test creates when all are there.
_START_TOGETHER = """
import os, sys, time
import patentpool.cli, patentpool.commands.index, indexer.db, indexer.lock, indexer.sync
barrier = os.environ["BARRIER"]
open(os.path.join(barrier, f"ready-{os.getpid()}"), "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(os.path.join(barrier, "go")) and time.monotonic() < deadline:
    time.sleep(0.0005)
sys.argv = ["patentpool", *sys.argv[1:]]
patentpool.cli.main()
"""


def start_together(args: list[str], url: str, barrier: Path, count: int = 2) -> list[subprocess.CompletedProcess[str]]:
    """`count` `patentpool` processes with `args` on `url`, running the command at the same instant."""
    barrier.mkdir()
    env = {**os.environ, "DATABASE_URL": url, "BARRIER": str(barrier)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _START_TOGETHER, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(count)
    ]
    done = []
    try:
        deadline = time.monotonic() + 60
        while len(list(barrier.glob("ready-*"))) < count:
            assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
            assert time.monotonic() < deadline, "the processes did not get ready within 60 s"
            time.sleep(0.01)
        (barrier / "go").touch()
        for process in processes:
            out, err = process.communicate(timeout=60)
            done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return done


def test_two_indexers_started_at_the_same_instant_on_an_empty_database(
    world: World, anvil: AnvilNode, backend: str, tmp_path: Path, postgres_unavailable: str | None
) -> None:
    manifest = write_deployment(world.deployment, tmp_path)
    head = world.w3.eth.block_number
    args = ["index", "--rpc", anvil.url, "--deployment", str(manifest), "--json"]
    for n in range(INDEX_ROUNDS):
        databases = new_database(backend, tmp_path, postgres_unavailable)
        url = next(databases)
        try:
            runs = start_together(args, url, tmp_path / f"barrier-{n}")
            for run in runs:
                assert "Traceback" not in run.stderr, run.stderr
                assert run.returncode in (0, 2), run.stderr
            indexed = [json.loads(run.stdout) for run in runs if run.returncode == 0]
            refused = [run for run in runs if run.returncode == 2]
            assert indexed, [run.stderr for run in runs]
            for run in refused:
                assert "is writing to this database" in run.stderr and "another indexer (" in run.stderr, run.stderr
            # One indexed to the head; a second success came after it and found nothing left to do.
            indexed.sort(key=lambda summary: summary["indexedEvents"], reverse=True)
            assert indexed[0]["checkpoint"]["block"] == head
            assert indexed[0]["indexedEvents"] == indexed[0]["totalEvents"] > 0
            for later in indexed[1:]:
                assert later["indexedEvents"] == 0
                assert (later["checkpoint"], later["digest"]) == (indexed[0]["checkpoint"], indexed[0]["digest"])
            assert_at_head(url)
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    assert conn.execute(sa.text("select count(*) from indexer_lock")).scalar_one() == 0
            finally:
                engine.dispose()
        finally:
            next(databases, None)

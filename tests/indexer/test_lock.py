"""One writer per database: a second indexer is refused while the first's heartbeat is fresh, may
take over a stale lock, and the first then never commits again; a holder killed on this host is
taken over at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer.errors import IndexerLocked, LockLost
from indexer.fetch import Rpc
from indexer.lock import Lock, holder_is_dead
from indexer.schema import Checkpoint, Event, IndexerLock
from indexer.sync import Indexer
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import wait_for


def test_a_second_indexer_is_refused_while_the_first_holds_the_lock(engine: Engine) -> None:
    first = Lock(engine, owner="first")
    first.acquire()
    second = Lock(engine, owner="second")
    with pytest.raises(IndexerLocked) as info:
        second.acquire()
    assert info.value.owner == "first"
    assert "another indexer (first) is writing to this database" in str(info.value)
    first.release()
    second.acquire()
    assert second.holder() == "second"
    second.release()
    assert second.holder() is None


def test_a_stale_lock_is_taken_over_and_its_old_holder_cannot_commit(
    world: World, anvil: AnvilNode, engine: Engine
) -> None:
    first = Lock(engine, owner="first", stale_after=30)
    first.acquire()
    indexer = Indexer(engine, Rpc(anvil.url), world.deployment, lock=first)
    indexer.prepare()
    with engine.begin() as conn:  # the first indexer hung: its heartbeat is old
        conn.execute(sa.update(IndexerLock.__table__).values(heartbeat_at=0.0))  # type: ignore[attr-defined]
    second = Lock(engine, owner="second", stale_after=30)
    second.acquire()
    with pytest.raises(LockLost):
        indexer.step()
    steps: list[object] = []
    with pytest.raises(LockLost):  # the same through the pipelined loop: raised once, nothing reported
        indexer.run(on_step=steps.append)
    assert steps == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Event.__table__)).scalar_one() == 0  # type: ignore[attr-defined]
        checkpoint = conn.execute(sa.select(Checkpoint.__table__)).mappings().one()  # type: ignore[attr-defined]
    assert checkpoint["block_number"] == world.deployment.start_block - 1
    assert second.holder() == "second"
    first.release()  # releasing a lock one no longer holds leaves the new holder's alone
    assert second.holder() == "second"
    second.release()


def test_the_heartbeat_keeps_the_lock_fresh(engine: Engine) -> None:
    lock = Lock(engine, owner="beating", heartbeat_every=0.05)
    lock.acquire()
    with engine.begin() as conn:
        conn.execute(sa.update(IndexerLock.__table__).values(heartbeat_at=0.0))  # type: ignore[attr-defined]
    lock.start_heartbeat()
    try:
        import time

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                beat = conn.execute(sa.select(IndexerLock.__table__.c.heartbeat_at)).scalar_one()  # type: ignore[attr-defined]
            if beat > 0:
                break
            time.sleep(0.05)
        assert beat > 0
        with pytest.raises(IndexerLocked):
            Lock(engine, owner="other").acquire()
    finally:
        lock.release()


def test_the_heartbeat_comes_well_within_the_staleness(engine: Engine) -> None:
    assert Lock(engine).interval == 5.0
    assert Lock(engine, stale_after=3.0).interval == 1.0
    assert Lock(engine, stale_after=3.0, heartbeat_every=0.5).interval == 0.5
    # A staleness shorter than the default heartbeat: a live holder still keeps its lock.
    holder = Lock(engine, owner="live", stale_after=0.6)
    holder.acquire()
    holder.start_heartbeat()
    try:
        import time

        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            with pytest.raises(IndexerLocked):
                Lock(engine, owner="usurper", stale_after=0.6).acquire()
            time.sleep(0.1)
    finally:
        holder.release()


#: Holds the lock of the database at argv[1] (with the default owner: this host, this process id)
#: and says so, then sleeps until killed.
_HOLDER = """
import sys, time
from indexer.db import make_engine
from indexer.lock import Lock
lock = Lock(make_engine(sys.argv[1]))
lock.acquire()
print(lock.owner, flush=True)
time.sleep(600)
"""


def _hold_in_a_process(engine: Engine) -> tuple[subprocess.Popen[str], str]:
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, url], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    owner = holder.stdout.readline().strip()
    assert owner.endswith(tuple("0123456789abcdef")) and f" pid {holder.pid} #" in owner, owner
    return holder, owner


def test_a_lock_whose_holder_was_killed_on_this_host_is_taken_over_at_once(engine: Engine) -> None:
    holder, owner = _hold_in_a_process(engine)
    try:
        with pytest.raises(IndexerLocked) as info:  # alive: refused, whatever its age
            Lock(engine, stale_after=60).acquire()
        assert info.value.owner == owner
        assert not holder_is_dead(owner)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert holder_is_dead(owner)
    restarted = Lock(engine, stale_after=60)  # the heartbeat is fresh, the holder gone: no wait
    restarted.acquire()
    assert restarted.holder() == restarted.owner
    restarted.release()


def test_a_killed_holder_not_yet_reaped_is_dead_too(engine: Engine) -> None:
    holder, owner = _hold_in_a_process(engine)
    os.kill(holder.pid, signal.SIGKILL)
    try:
        wait_for(lambda: Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", "a zombie")
        assert holder_is_dead(owner)
    finally:
        holder.wait()


#: Owners no one can prove dead, by what they are (built in the test: they name this process).
_UNPROVABLE: dict[str, Callable[[], str]] = {
    "not the default form": lambda: "indexer on host-a pid 42",
    "another host": lambda: f"elsewhere.example pid {2**22 + 7} #0123abcd",
    "this very process": lambda: f"{socket.gethostname()} pid {os.getpid()} #0123abcd",
}


@pytest.mark.parametrize("kind", sorted(_UNPROVABLE))
def test_a_holder_that_cannot_be_proved_dead_is_waited_out(engine: Engine, kind: str) -> None:
    owner = _UNPROVABLE[kind]()
    Lock(engine, owner=owner).acquire()
    assert not holder_is_dead(owner)
    with pytest.raises(IndexerLocked):
        Lock(engine, stale_after=60).acquire()

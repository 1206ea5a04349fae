"""One writer per database: a lock row with a heartbeat.

`acquire` takes the row when it is free, when its heartbeat is older than `stale_after` (the holder
crashed), or at once when its holder is provably dead: a process of this host (by the owner that
`default_owner` writes: host name and process id) that no longer runs, as after a `kill -9`; a
holder on another host, or named otherwise, is waited out. A compare-and-set makes sure two
starters cannot both win. Every batch re-checks ownership
inside its own transaction (`check`), so an indexer whose lock was taken over never commits again.
A daemon thread refreshes the heartbeat while a long batch is read, every 5 s or a third of
`stale_after`, whichever is shorter.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from indexer.db import DATABASE_FAILURES
from indexer.errors import IndexerLocked, LockLost
from indexer.schema import IndexerLock

__all__ = ["Lock", "default_owner", "holder_is_dead"]

_T = IndexerLock.__table__  # type: ignore[attr-defined]
_HEARTBEAT_EVERY = 5.0


def default_owner() -> str:
    return f"{socket.gethostname()} pid {os.getpid()} #{uuid.uuid4().hex[:8]}"


_OWNER = re.compile(r"(?P<host>.+) pid (?P<pid>[0-9]+) #[0-9a-f]{8}")


def holder_is_dead(owner: str) -> bool:
    """Whether `owner` (as `default_owner` writes it) names a process of this host that is gone.

    False whenever that cannot be proved: another host, another form of owner, a process id in use
    (even by a process that reused it: the lock is then waited out, as before)."""
    match = _OWNER.fullmatch(owner)
    if match is None or match["host"] != socket.gethostname():
        return False
    pid = int(match["pid"])
    return pid != os.getpid() and not _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    try:  # a zombie (killed, not yet reaped by its parent) holds nothing either
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


@dataclass
class Lock:
    """The database's writer lock, held by `owner`."""

    engine: Engine
    owner: str = field(default_factory=default_owner)
    stale_after: float = 60.0
    #: Seconds between heartbeats: by default 5, or a third of `stale_after` when that is shorter,
    #: so a live holder's heartbeat is never old enough for another indexer to take the lock over.
    heartbeat_every: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    lost: bool = False

    @property
    def interval(self) -> float:
        """The seconds between heartbeats."""
        if self.heartbeat_every is not None:
            return self.heartbeat_every
        return min(_HEARTBEAT_EVERY, self.stale_after / 3)

    def acquire(self) -> None:
        """Take the lock, or raise IndexerLocked naming the live holder."""
        now = time.time()
        try:
            with self.engine.begin() as conn:
                row = conn.execute(sa.select(_T).where(_T.c.id == 1)).mappings().first()
                if row is None:
                    conn.execute(sa.insert(_T).values(id=1, owner=self.owner, acquired_at=now, heartbeat_at=now))
                else:
                    age = now - float(row["heartbeat_at"])
                    owner = str(row["owner"])
                    if owner != self.owner and age < self.stale_after and not holder_is_dead(owner):
                        raise IndexerLocked(owner, age)
                    taken = conn.execute(
                        sa.update(_T)
                        .where(_T.c.id == 1, _T.c.owner == row["owner"], _T.c.heartbeat_at == row["heartbeat_at"])
                        .values(owner=self.owner, acquired_at=now, heartbeat_at=now)
                    )
                    if taken.rowcount != 1:
                        raise IndexerLocked("another starter", 0.0)
        except IntegrityError:
            holder = self.holder()
            raise IndexerLocked(holder or "another starter", 0.0) from None
        self.lost = False

    def holder(self) -> str | None:
        with self.engine.connect() as conn:
            owner = conn.execute(sa.select(_T.c.owner).where(_T.c.id == 1)).scalar()
        return None if owner is None else str(owner)

    def check(self, conn: Connection) -> None:
        """Inside a batch's transaction: refresh the heartbeat, or raise LockLost."""
        done = conn.execute(
            sa.update(_T).where(_T.c.id == 1, _T.c.owner == self.owner).values(heartbeat_at=time.time())
        )
        if done.rowcount != 1:
            self.lost = True
            raise LockLost(self.owner)

    def beat(self) -> None:
        """Refresh the heartbeat in a transaction of its own."""
        with self.engine.begin() as conn:
            self.check(conn)

    def start_heartbeat(self) -> None:
        """Refresh the heartbeat from a daemon thread until `release`."""
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except LockLost:
                    return
                except OperationalError:
                    continue  # the database is busy or briefly away; the next beat retries

        self._thread = threading.Thread(target=run, name="indexer-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and free the row (if still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None
        # The database may be what failed: then the row stays, and goes stale like a killed
        # indexer's (the next indexer takes it over once its heartbeat is old).
        with contextlib.suppress(*DATABASE_FAILURES), self.engine.begin() as conn:
            conn.execute(sa.delete(_T).where(_T.c.id == 1, _T.c.owner == self.owner))

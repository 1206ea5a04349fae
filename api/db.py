"""The API's read-only connection to the mirror, with a time limit on every statement.

The engine comes from `indexer.db.make_engine` (the indexer's own URL rules and SQLite settings);
on top of it every connection is read-only and a statement running past
`statement_timeout_ms` is cancelled (PostgreSQL's statement_timeout; on SQLite a progress handler
that interrupts the statement), so one slow query cannot hold a worker.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer.db import make_engine

__all__ = ["is_timeout", "read_only_engine"]

#: SQLite calls the progress handler every this many virtual-machine instructions.
_SQLITE_STEPS = 10_000
#: Connections kept open, and how many more may be opened under load. Their sum is at least the
#: thread pool that runs the routes (anyio's default: 40 threads), so a route's thread never waits
#: for a connection: with fewer, threads waiting for one could hold every token of the pool while
#: the requests that hold the connections wait for a thread to be closed (seen in
#: benchmarks/api.py with 15: 30 s stalls). On PostgreSQL that is up to 40 connections per worker
#: process: mind the server's max_connections.
_POOL_SIZE = 10
_MAX_OVERFLOW = 30
#: A request that still finds no connection gets a 503 after this many seconds.
_POOL_TIMEOUT = 5


def read_only_engine(url: str, statement_timeout_ms: int) -> Engine:
    """An engine over the mirror at `url` that never writes and cancels slow statements."""
    if url.startswith("sqlite"):
        engine = make_engine(url, pool_size=_POOL_SIZE, max_overflow=_MAX_OVERFLOW, pool_timeout=_POOL_TIMEOUT)
        limit = statement_timeout_ms / 1000

        @sa.event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only=ON")

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _start_clock(conn: Any, _cursor: Any, *_: Any) -> None:
            started = time.monotonic()
            conn.connection.dbapi_connection.set_progress_handler(
                lambda: 1 if time.monotonic() - started > limit else 0, _SQLITE_STEPS
            )

        return engine
    options = f"-c statement_timeout={statement_timeout_ms} -c default_transaction_read_only=on"
    return make_engine(
        url,
        connect_args={"options": options, "connect_timeout": 5},
        pool_size=_POOL_SIZE,
        max_overflow=_MAX_OVERFLOW,
        pool_timeout=_POOL_TIMEOUT,
    )


def is_timeout(exc: BaseException) -> bool:
    """Whether a database error is a statement cancelled for running too long."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "statement timeout" in text or "canceling statement" in text or "interrupted" in text

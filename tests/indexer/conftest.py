"""Indexer fixtures: a fresh database per test on a SQLite file and on PostgreSQL.

PostgreSQL is taken from PATENTPOOL_TEST_POSTGRES_URL (default: trust auth on 127.0.0.1:5432,
database `test`); each test gets a `CREATE DATABASE` of its own, dropped after. When the server is
unreachable the PostgreSQL half is skipped with the reason, except under CI, where it fails.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from indexer.db import make_engine, scratch_database, upgrade
from indexer.fetch import Rpc
from indexer.schema import Checkpoint, IndexerLock, ProjectionUndo, RecentBlock
from indexer.sync import Indexer
from registry.deploy import Deployment
from registry.node import AnvilNode

POSTGRES_URL = os.environ.get("PATENTPOOL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_admin() -> Engine:
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def _postgres_reason() -> str | None:
    try:
        with _postgres_admin().connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        return f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string(hide_password=True)} is unreachable: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_unavailable() -> str | None:
    return _postgres_reason()


def new_database(kind: str, tmp_path: Any, postgres_unavailable: str | None) -> Iterator[str]:
    """A URL of an empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'index-{uuid.uuid4().hex[:8]}.db'}"
        return
    if postgres_unavailable:
        if os.environ.get("CI"):
            pytest.fail(postgres_unavailable)
        pytest.skip(postgres_unavailable)
    with scratch_database(POSTGRES_URL, "patentpool_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses a database runs on a SQLite file and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def new_engine(backend: str, tmp_path: Any, postgres_unavailable: str | None) -> Iterator[Callable[[], Engine]]:
    """A factory of fresh, migrated databases of the test's backend, all removed afterwards."""
    made: list[tuple[Engine, Iterator[str]]] = []

    def make() -> Engine:
        urls = new_database(backend, tmp_path, postgres_unavailable)
        eng = make_engine(next(urls))
        made.append((eng, urls))
        upgrade(eng)
        return eng

    try:
        yield make
    finally:
        for eng, urls in made:
            eng.dispose()
            next(urls, None)


@pytest.fixture
def engine(new_engine: Callable[[], Engine]) -> Engine:
    """A migrated database on each backend."""
    return new_engine()


def index_chain(engine: Engine, anvil: AnvilNode, deployment: Deployment, **kwargs: Any) -> Indexer:
    """Index from the deployment to the head; returns the indexer."""
    indexer = Indexer(engine, Rpc(anvil.url), deployment, **kwargs)
    indexer.prepare()
    indexer.run()
    return indexer


#: Bookkeeping that legitimately differs with the batch history (reorgs, restarts).
_SKIPPED = {IndexerLock.__tablename__, RecentBlock.__tablename__, ProjectionUndo.__tablename__}


def dump(engine: Engine) -> dict[str, list[Any]]:
    """Every mirrored table's rows, ordered by primary key (lock and reorg bookkeeping left out)."""
    from sqlmodel import SQLModel

    tables: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in _SKIPPED:
                continue
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings().all()
            cleaned = [dict(r) for r in rows]
            if table.name == Checkpoint.__tablename__:
                for row in cleaned:
                    row.pop("updated_at")
            tables[table.name] = cleaned
    return tables


@contextmanager
def statements_sent(engine: Engine, keep: Callable[[str], str | None]) -> Iterator[list[str]]:
    """What `keep` makes of each statement sent to `engine` meanwhile, where it makes something."""
    kept: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (entry := keep(statement)) is not None:
            kept.append(entry)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield kept
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30, every: float = 0.02) -> None:
    """Poll `condition` until it holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {seconds} s"
        time.sleep(every)

"""The database: an engine from DATABASE_URL (SQLite file by default) and its Alembic migrations."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from indexer.bulk import json_text
from indexer.errors import DatabaseUnavailable, IndexerError
from registry.settings import redact_url

__all__ = [
    "DATABASE_FAILURES",
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "reason",
    "redacted",
    "scratch_database",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: What SQLAlchemy raises when the database itself fails: unreachable, unopenable, gone mid-run,
#: out of disk (not a bug in a statement).
DATABASE_FAILURES = (sa.exc.OperationalError, sa.exc.InterfaceError)


def _normalise(url: str) -> str:
    # The psycopg 3 driver is the one installed; plain postgres URLs would ask for psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: the settings' DATABASE_URL).

    SQLite files run in WAL mode (the API reads while the indexer writes) with a busy timeout, so
    a writer waits for another instead of failing at once.
    """
    if url is None:
        from indexer.settings import get_settings

        url = get_settings().database_url
    url = _normalise(url)
    try:
        sa.engine.make_url(url).get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:  # ValueError: a port not a number
        raise DatabaseUnavailable(
            redacted(url),
            f"not a database URL the indexer can use ({reason(exc)}); "
            "e.g. sqlite:///patentpool.db or postgresql://user@host:5432/name",
        ) from None
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, json_serializer=json_text, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            _retry_busy(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=json_text, **kwargs)


def redacted(url: str | sa.engine.URL) -> str:
    """A database URL fit for messages and logs: its password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):  # one SQLAlchemy cannot read: the RPC URLs' redaction
        return redact_url(str(url))


def reason(exc: BaseException) -> str:
    """The driver's own words for a database error, on one line."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _retry_busy(statement: Callable[[], object], seconds: float = 30.0) -> None:
    """Run `statement`, retrying while SQLite says the database is locked.

    `PRAGMA journal_mode=WAL` fails at once, without waiting in the busy handler, when two
    processes turn a new file to WAL at the same moment (SQLite refuses one rather than let them
    deadlock), as two indexers started together on an empty database do. Retrying finds the file
    in WAL mode. Other statements wait in the busy handler, as configured.
    """
    deadline = time.monotonic() + seconds
    delay = 0.001
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config over the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


#: The key of the PostgreSQL advisory lock that serialises migrations (advisory locks are per database).
MIGRATION_LOCK_KEY = 0x7061_7465_6E74_706C  # "patentpl"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (idempotent), one process at a time.

    The writer lock's table is made by the first migration, so it cannot guard the migrations:
    two indexers started at once on an empty database would both create the tables. Instead the
    whole upgrade runs in one transaction that first takes a lock of its own (on PostgreSQL a
    transaction-level advisory lock, on SQLite the database's write lock via BEGIN EXCLUSIVE), and
    reads the revision only once it holds it: the second process then finds the schema at head and
    does nothing. On SQLite this also makes a migration atomic (pysqlite would otherwise commit
    each DDL statement by itself).
    """
    config = alembic_config(engine)
    try:
        with engine.begin() as conn:
            _lock_migrations(conn)
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and current == ScriptDirectory.from_config(config).as_revision_number(revision):
                return  # another process migrated while this one waited for the lock
            if current is None:
                _clear_half_made_schema(conn)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except DATABASE_FAILURES as exc:
        raise DatabaseUnavailable(redacted(engine.url), reason(exc)) from exc


def _lock_migrations(conn: Connection) -> None:
    """Inside `conn`'s fresh transaction: wait until no other process migrates this database."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # pysqlite has not begun a transaction yet (it only does before DML); take the write lock
        # now, waiting up to the busy timeout for another migrating process.
        conn.exec_driver_sql("BEGIN EXCLUSIVE")


def _clear_half_made_schema(conn: Connection) -> None:
    """Drop the tables of a first migration that was killed half-way (before migrations ran in one
    SQLite transaction, pysqlite committed each DDL statement by itself): no revision is recorded,
    so nothing was ever indexed into them."""
    from sqlmodel import SQLModel

    import indexer.schema  # noqa: F401 - registers the tables on SQLModel.metadata

    present = set(sa.inspect(conn).get_table_names())
    ours = [t for t in SQLModel.metadata.sorted_tables if t.name in present]
    if not ours:
        return
    filled = [t.name for t in ours if conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()]
    if filled:
        raise IndexerError(
            f"the database has patentpool tables with rows ({', '.join(filled)}) but no migration record; "
            "point DATABASE_URL at a fresh database or restore this one"
        )
    for table in reversed(ours):
        table.drop(conn)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextmanager
def scratch_database(server_url: str, prefix: str = "patentpool_scratch") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database on the server of `server_url`, dropped afterwards
    (for the tests and benchmarks: each run gets a database of its own)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()

"""The database: an engine from DATABASE_URL (SQLite file by default) and its Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "make_engine", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config over the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (idempotent)."""
    _clear_half_made_schema(engine)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _clear_half_made_schema(engine: Engine) -> None:
    """Drop the tables of a first migration that was killed half-way (SQLite commits DDL one
    statement at a time): no revision is recorded, so nothing was ever indexed into them."""
    if current_revision(engine) is not None:
        return
    from sqlmodel import SQLModel

    import indexer.schema  # noqa: F401 - registers the tables on SQLModel.metadata
    from indexer.errors import IndexerError

    present = set(sa.inspect(engine).get_table_names())
    ours = [t for t in SQLModel.metadata.sorted_tables if t.name in present]
    if not ours:
        return
    with engine.begin() as conn:
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

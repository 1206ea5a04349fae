"""The Alembic migrations create exactly the schema of `indexer.schema`, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from indexer.db import current_revision, head_revision, upgrade


def test_the_migrations_match_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() is not None
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()

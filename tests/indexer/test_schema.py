"""The Alembic migrations create exactly the schema of `indexer.schema`, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_a_first_migration_killed_half_way_is_redone(tmp_path: Path) -> None:
    """SQLite commits DDL one statement at a time, so a kill mid-migration leaves some tables and
    no revision; the next start drops those empty tables and migrates afresh."""
    from sqlmodel import SQLModel

    import indexer.schema  # noqa: F401
    from indexer.db import current_revision, head_revision, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'half.db'}")
    for name in ("asset", "pool"):
        SQLModel.metadata.tables[name].create(engine)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_tables_with_rows_but_no_migration_record_are_refused(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import indexer.schema  # noqa: F401
    from indexer.db import make_engine, upgrade
    from indexer.errors import IndexerError

    engine = make_engine(f"sqlite:///{tmp_path / 'odd.db'}")
    table = SQLModel.metadata.tables["pool"]
    table.create(engine)
    with engine.begin() as conn:
        # Some row, whatever it says: only its presence matters.
        conn.execute(
            sa.text(
                f"INSERT INTO {table.name} ({', '.join(table.c.keys())}) VALUES ({', '.join('1' for _ in table.c)})"
            )
        )
    with pytest.raises(IndexerError, match="no migration record"):
        upgrade(engine)


def test_postgresql_leaves_room_on_the_pages_of_rows_updated_over_and_over(engine: Engine) -> None:
    import sqlalchemy as sa

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no fillfactor")
    with engine.connect() as conn:
        options: dict[str, list[str] | None] = dict(
            conn.execute(
                sa.text("select relname, reloptions from pg_class where relname in ('member', 'pool', 'payment')")
            ).all()
        )
    assert options == {"member": ["fillfactor=50"], "pool": ["fillfactor=50"], "payment": None}


def test_migrations_import_no_live_code() -> None:
    """Each migration holds what it needs: a later change to the indexer cannot rewrite it."""
    import ast

    from indexer.db import MIGRATIONS_DIR

    versions = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    assert versions
    for path in versions:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        ours = sorted(name for name in imported if name.split(".")[0] in ("indexer", "registry", "api", "patentpool"))
        assert ours == [], f"{path.name} imports {ours}"

"""The Alembic migrations create exactly the schema of `indexer.schema`, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def unmigrated(backend: str, tmp_path: Path, postgres_unavailable: str | None) -> Iterator[Engine]:
    """A fresh database of the test's backend with no migration applied yet (removed afterwards)."""
    from indexer.db import make_engine
    from tests.indexer.conftest import new_database

    urls = new_database(backend, tmp_path, postgres_unavailable)
    engine = make_engine(next(urls))
    try:
        yield engine
    finally:
        engine.dispose()
        next(urls, None)


def test_migration_0010_drops_the_events_hash_key_and_keeps_every_event(unmigrated: Engine) -> None:
    """A mirror written before 0010 keeps its events; the key on (chain_id, block_hash, log_index),
    which repeated the primary key, is gone (on SQLite by a copy of the table)."""
    import sqlalchemy as sa

    engine = unmigrated
    upgrade(engine, "0009")
    names = {c["name"] for c in sa.inspect(engine).get_unique_constraints("event")}
    assert "uq_event_block_hash_log_index" in names
    row = {
        "chain_id": 31337, "block_number": 7, "log_index": 2, "block_hash": "0x" + "ab" * 32,
        "block_timestamp": 1_700_000_000, "tx_hash": "0x" + "cd" * 32, "tx_index": 0,
        "address": "0x" + "11" * 20, "event_name": "MemberJoined", "args": '{"fee": "1"}',
        "topics": '["0x' + "ee" * 32 + '"]', "data": "0x",
    }  # fmt: skip
    columns = ", ".join(row)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO event ({columns}) VALUES ({', '.join(':' + k for k in row)})"), row)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()  # SQLite: the copied table is seen by a new connection
    names = {c["name"] for c in sa.inspect(engine).get_unique_constraints("event")}
    assert "uq_event_block_hash_log_index" not in names
    with engine.connect() as conn:
        kept = conn.execute(sa.text(f"SELECT {columns} FROM event")).mappings().all()
    assert [(r["block_number"], r["log_index"], r["block_hash"], r["tx_hash"]) for r in kept] == [
        (7, 2, row["block_hash"], row["tx_hash"])
    ]
    assert {i["name"] for i in sa.inspect(engine).get_indexes("event")} >= {
        "ix_event_address_name",
        "ix_event_tx_hash",
    }


def test_secondary_indexes_a_killed_first_load_left_out_are_built_again(unmigrated: Engine) -> None:
    """Before issue 17 a first load dropped the secondary indexes and built them at the head; one
    killed before then left them out. Migration 0011 builds every one that is missing."""
    import sqlalchemy as sa

    engine = unmigrated
    upgrade(engine, "0010")
    left_out = [("event", "ix_event_tx_hash"), ("payment", "ix_payment_pool"), ("member", "ix_member_block_number")]
    with engine.begin() as conn:
        for _table, name in left_out:
            conn.execute(sa.text(f"DROP INDEX {name}"))
    upgrade(engine)
    inspector = sa.inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        expected = {str(i.name) for i in table.indexes if not i.unique}
        assert expected <= {i["name"] for i in inspector.get_indexes(table.name)}, table.name

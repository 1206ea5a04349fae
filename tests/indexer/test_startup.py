"""The indexer's start-up (indexer/startup.py): the database it is given, migrated, its lock held
while the indexer runs and freed after, whatever DATABASE_URL says."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from indexer.db import current_revision, head_revision, make_engine
from indexer.errors import IndexerLocked
from indexer.lock import Lock
from indexer.settings import get_settings
from indexer.startup import default_finality_depth, start
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import new_database


def test_start_indexes_into_the_database_it_is_given_and_frees_its_lock(
    world: World,
    anvil: AnvilNode,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    postgres_unavailable: str | None,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-this-one.db'}")
    get_settings.cache_clear()
    database = new_database(backend, tmp_path, postgres_unavailable)
    try:
        _start_and_index(world, anvil, tmp_path, next(database))
    finally:
        next(database, None)


def _start_and_index(world: World, anvil: AnvilNode, tmp_path: Path, url: str) -> None:
    settings = get_settings().resolve(database_url=url, log_range=7, max_log_range=9)
    with start(anvil.url, world.deployment, settings) as indexer:
        assert indexer.engine.url == make_engine(url).url
        assert indexer.finality_depth == default_finality_depth(world.deployment.chain_id) == 0
        assert indexer.fetcher is not None and (indexer.fetcher.span, indexer.fetcher.max_range) == (7, 9)
        with pytest.raises(IndexerLocked):  # held while the block runs
            Lock(indexer.engine).acquire()
        indexer.prepare()
        indexer.run()
        head = world.w3.eth.block_number
        assert indexer.checkpoint[0] == head
    get_settings.cache_clear()
    assert not (tmp_path / "not-this-one.db").exists()
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM indexer_lock")).scalar_one() == 0
            assert conn.execute(sa.text("SELECT block_number FROM checkpoint")).scalar_one() == head
    finally:
        engine.dispose()

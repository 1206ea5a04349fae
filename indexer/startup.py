"""Starting the indexer: settings, database, migrations, the writer's lock and its heartbeat, and
the node's client, in one function (`start`) that the command, the demo and the benchmark call.

Everything comes in as arguments: the node's URL, the deployment, and the settings, which
`IndexerSettings.resolve` makes once from the environment (pydantic-settings) with the command's
options over it. Nothing is read from `os.environ` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from indexer.db import make_engine, upgrade
from indexer.fetch import LogFetcher, Rpc
from indexer.lock import Lock
from indexer.settings import IndexerSettings
from indexer.sync import Indexer
from registry.deploy import Deployment
from registry.node import LOCAL_CHAIN_IDS

__all__ = ["default_finality_depth", "start"]

#: Blocks behind the head on public chains when no finality depth is set.
_PUBLIC_FINALITY_DEPTH = 64


def default_finality_depth(chain_id: int) -> int:
    """0 on local chains (anvil, the in-process chain), 64 elsewhere."""
    return 0 if chain_id in LOCAL_CHAIN_IDS else _PUBLIC_FINALITY_DEPTH


@contextmanager
def start(
    rpc_url: str, deployment: Deployment, settings: IndexerSettings, from_block: int | None = None
) -> Iterator[Indexer]:
    """An indexer of `deployment` through the node at `rpc_url` into `settings.database_url`, with
    the database migrated to the latest schema and this process holding its writer lock (its
    heartbeat running) until the block ends; the indexer is not prepared yet (`Indexer.prepare`).

    Raises IndexerError (DatabaseUnavailable, IndexerLocked...) when the database cannot be used
    or another indexer writes to it; nothing is written then.
    """
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        lock = Lock(engine, stale_after=settings.lock_stale_after)
        lock.acquire()
        try:
            lock.start_heartbeat()
            node = Rpc(rpc_url)
            initial, maximum = settings.log_ranges()
            depth = settings.finality_depth
            yield Indexer(
                engine,
                node,
                deployment,
                finality_depth=default_finality_depth(deployment.chain_id) if depth is None else depth,
                from_block=from_block,
                lock=lock,
                fetcher=LogFetcher(node, initial_range=initial, max_range=maximum),
            )
        finally:
            lock.release()
    finally:
        engine.dispose()

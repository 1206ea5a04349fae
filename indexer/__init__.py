"""The mirror side of patentpool: contract events into SQL (and, later, the read-only API over it).

`indexer.sync.Indexer` reads the deployment's logs (`indexer.fetch`), decodes them
(`indexer.decode`) and commits raw events, current-state projections (`indexer.projections`),
per-block integrity digests and the checkpoint in one transaction per batch, into the tables of
`indexer.schema` (created by the Alembic migrations in `indexer/migrations`, see `indexer.db`).
One writer per database (`indexer.lock`). `patentpool index` runs it.
"""

from indexer import errors as _errors
from indexer.errors import *  # noqa: F403  (the package re-exports every indexer error)

__all__ = list(_errors.__all__)

"""The mirror side of patentpool: contract events into SQL, which the API (`api/`) reads.

`indexer.sync.Indexer` runs the loop: `indexer.reader` reads a batch of the deployment's logs
(`indexer.fetch`, parsed by `indexer.logs`), checks them and decodes them (`indexer.decode`);
`indexer.writer` commits its raw events, current-state projections (`indexer.projections`),
per-block integrity digests (`indexer.digest`) and the checkpoint in one transaction; and
`indexer.reorg` rolls a reorganisation back. The tables are `indexer.schema`'s (created by the
Alembic migrations in `indexer/migrations`, see `indexer.db`). One writer per database
(`indexer.lock`). `patentpool index` runs it.
"""

from indexer import errors as _errors
from indexer.errors import *  # noqa: F403  (the package re-exports every indexer error)

__all__ = list(_errors.__all__)

"""The raw `event` table loses its unique key on (chain_id, block_hash, log_index).

The key repeated the primary key (chain_id, block_number, log_index): the reader refuses a log
whose block hash is not the hash of its block's header as read in the same batch, so one block
number stands for one block hash in the mirror. Keeping a second B-tree over random 66-character
hashes cost about 6 % of a first load on SQLite and 3 % on PostgreSQL (docs/benchmarks.md, issue
17). No query used it.

SQLite cannot drop a constraint in place: the table is copied (batch mode), once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "uq_event_block_hash_log_index"


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_constraint(_NAME, type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_unique_constraint(_NAME, ["chain_id", "block_hash", "log_index"])

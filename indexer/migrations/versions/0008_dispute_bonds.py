"""Contracts v2, issue 14 point 8: dispute bonds and appeals.

`pool` gains the current `dispute_bond` (DisputeBondSet) and `bonds_held` (bonds of open disputes);
`dispute` gains the `bond` its challenger paid and `bond_released_to` (who the ruling credited it
to); `contribution` gains `lifted_at` (when the latest suspension was lifted on appeal). Rows
written before this migration get zeros and empty values; a rebuild from the raw events fills them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: An unsigned 256-bit integer as indexer/schema.py's `Uint256` stores it (see 0001): spelled out,
#: not imported, so a later change to the live type cannot change what this migration creates.
_UINT256 = sa.Numeric(precision=78, scale=0).with_variant(sa.String(78), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispute_bond", _UINT256, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("bonds_held", _UINT256, nullable=False, server_default="0"))
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bond", _UINT256, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("bond_released_to", AutoString(length=42), nullable=False, server_default=""))
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lifted_at", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.drop_column("lifted_at")
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_column("bond_released_to")
        batch_op.drop_column("bond")
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.drop_column("bonds_held")
        batch_op.drop_column("dispute_bond")

"""Contracts v2: the operator's bounds, announced parameter changes and two-step admin handover.

`pool` gains the bounds fixed at creation (`max_operator_share_bps`, `change_delay`), the current
`max_licence_length` and `pending_admin`; `contribution` gains `withdrawal_announced_at`; the new
`parameter_change` table holds each pool parameter's latest announced change (announced or
applied). Rows written before this migration get zeros and empty values; a rebuild from the raw
events fills them in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 05:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: An unsigned 256-bit integer as indexer/schema.py's `Uint256` stores it (see 0001): spelled out,
#: not imported, so a later change to the live type cannot change what this migration creates.
_UINT256 = sa.Numeric(precision=78, scale=0).with_variant(sa.String(78), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_operator_share_bps", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("change_delay", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("max_licence_length", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("pending_admin", AutoString(length=42), nullable=False, server_default=""))
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawal_announced_at", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "parameter_change",
        sa.Column("tx_hash", AutoString(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", AutoString(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("pool", AutoString(length=42), nullable=False),
        sa.Column("parameter", sa.Integer(), nullable=False),
        sa.Column("value", _UINT256, nullable=False),
        sa.Column("jurisdictions", sa.JSON(), nullable=False),
        sa.Column("min_granted", sa.Integer(), nullable=False),
        sa.Column("min_score_bps", sa.Integer(), nullable=False),
        sa.Column("announced_at", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", sa.BigInteger(), nullable=False),
        sa.Column("status", AutoString(length=16), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pool", "parameter"),
    )
    with op.batch_alter_table("parameter_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parameter_change_block_number"), ["block_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parameter_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parameter_change_block_number"))
    op.drop_table("parameter_change")
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_announced_at")
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.drop_column("pending_admin")
        batch_op.drop_column("max_licence_length")
        batch_op.drop_column("change_delay")
        batch_op.drop_column("max_operator_share_bps")

"""The projection undo log: reorgs roll back only the rows recent batches changed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projection_undo",
        sa.Column("batch_first", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("batch_end", sa.BigInteger(), nullable=False),
        sa.Column("table_name", AutoString(length=64), nullable=False),
        sa.Column("key", sa.JSON(), nullable=False),
        sa.Column("image", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("batch_first", "seq"),
    )
    with op.batch_alter_table("projection_undo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projection_undo_batch_end"), ["batch_end"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("projection_undo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projection_undo_batch_end"))
    op.drop_table("projection_undo")

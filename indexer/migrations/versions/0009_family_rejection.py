"""Contracts v2, issue 14 point 1 (family ids): a verifier frees a squatted family id.

`asset` gains `rejected` (FamilyRejected) and `family_id_claimant` (who alone may register the
freed family id; "" for anyone). Rows written before this migration get false and ""; a rebuild
from the raw events fills them in.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("family_id_claimant", AutoString(length=42), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_column("family_id_claimant")
        batch_op.drop_column("rejected")

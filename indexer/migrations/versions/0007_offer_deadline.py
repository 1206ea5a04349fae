"""Contracts v2: an offer can be accepted only until its deadline (`offer.accept_by`, from the
LicenceOfferDeadline event; 0 for rows written before this migration, until a rebuild).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 06:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accept_by", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_column("accept_by")

"""Contracts v2: when a licence was revoked and when an asset was suspended.

Both take effect from that moment on (`isLicensed` for earlier times keeps its answer), so the
mirror records the time: `licence.revoked_at` and `contribution.suspended_at` (block time of the
LicenceRevoked / AssetSuspended event; 0 while not revoked or suspended). Rows written before this
migration get 0; a rebuild from the raw events fills them in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.drop_column("suspended_at")
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")

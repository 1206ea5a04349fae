"""PostgreSQL: room on each page of the tables whose rows change over and over (members, pools).

A member renewing rewrites its row, as a payment rewrites its pool's totals. With full pages
(fillfactor 100) each new row version goes to another page and every index of the table takes a
new entry for it; with half of each page free it stays on its page as a heap-only tuple and the
indexes are left alone. A batch's member upsert took half the time (docs/benchmarks.md). Pages
written before this migration fill up as before; nothing else changes, and SQLite has no such
setting.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables, and the share of each page new rows may fill.
UPDATED_TABLES = ("member", "pool")
FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in UPDATED_TABLES:
        op.execute(f'ALTER TABLE "{table}" SET (fillfactor = {FILLFACTOR})')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in UPDATED_TABLES:
        op.execute(f'ALTER TABLE "{table}" RESET (fillfactor)')

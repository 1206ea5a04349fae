"""Secondary indexes a killed first load left out are built again.

Before issue 17 a first load went without the mirror's secondary (non-unique) indexes and built
them when it reached the head; a load killed before then left them out until the next run built
them. That machinery is gone (indexes are kept as rows go in), so such a mirror would lack them for
good: lookups by them would be scans. This migration creates each one that is missing (on a mirror
that has them all it does nothing). The list is the schema's as of this revision.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, index, columns): every secondary index of the mirror at this revision.
_SECONDARY_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("asset", "ix_asset_block_number", ("block_number",)),
    ("asset", "ix_asset_family_id", ("family_id",)),
    ("asset", "ix_asset_owner", ("owner",)),
    ("claim", "ix_claim_account", ("account",)),
    ("claim", "ix_claim_pool", ("pool",)),
    ("contribution", "ix_contribution_block_number", ("block_number",)),
    ("contribution", "ix_contribution_founder", ("founder",)),
    ("dispute", "ix_dispute_block_number", ("block_number",)),
    ("evaluation", "ix_evaluation_asset_id", ("asset_id",)),
    ("event", "ix_event_address_name", ("address", "event_name")),
    ("event", "ix_event_tx_hash", ("tx_hash",)),
    ("founder", "ix_founder_block_number", ("block_number",)),
    ("licence", "ix_licence_block_number", ("block_number",)),
    ("licence", "ix_licence_licensee", ("licensee",)),
    ("member", "ix_member_block_number", ("block_number",)),
    ("offer", "ix_offer_block_number", ("block_number",)),
    ("offer", "ix_offer_licensee", ("licensee",)),
    ("parameter_change", "ix_parameter_change_block_number", ("block_number",)),
    ("patent", "ix_patent_block_number", ("block_number",)),
    ("patent", "ix_patent_jurisdiction", ("jurisdiction",)),
    ("patent", "ix_patent_publication_number", ("publication_number",)),
    ("payment", "ix_payment_payer", ("payer",)),
    ("payment", "ix_payment_pool", ("pool",)),
    ("pool", "ix_pool_block_number", ("block_number",)),
    ("projection_undo", "ix_projection_undo_batch_end", ("batch_end",)),
    ("role", "ix_role_block_number", ("block_number",)),
    ("tier_fee", "ix_tier_fee_block_number", ("block_number",)),
    ("token_transfer", "ix_token_transfer_from_address", ("from_address",)),
    ("token_transfer", "ix_token_transfer_to_address", ("to_address",)),
)


def upgrade() -> None:
    for table, name, columns in _SECONDARY_INDEXES:
        op.create_index(name, table, list(columns), unique=False, if_not_exists=True)


def downgrade() -> None:
    pass  # the indexes were the schema's already: nothing to undo

"""The SQL mirror: raw events, current-state projections, digests, checkpoint and lock (SQLModel).

One database mirrors one deployment on one chain (the checkpoint row records which). Every
projection row carries the provenance of its last change: tx hash, block number, block hash, log
index. Token amounts (uint256) are `Uint256` columns: NUMERIC(78, 0) on PostgreSQL, decimal text on
SQLite, Python `int` either way. Timestamps and other uint64 values are BIGINT (a value beyond
2**63 - 1, meaningless as a time, is stored as 2**63 - 1; the raw event keeps the exact value).
No foreign keys: projections are rebuilt in bulk from the raw events.

Longer than 400 lines: one SQLModel family per mirrored table, all in one module so the
migrations' test (tests/indexer/test_schema.py) compares every one of them with the migrations.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlmodel import JSON, Field, SQLModel

__all__ = [
    "PROJECTION_TABLES",
    "Asset",
    "AssetBase",
    "Block",
    "Checkpoint",
    "Claim",
    "Contribution",
    "Dispute",
    "Evaluation",
    "Event",
    "EventBase",
    "Founder",
    "IndexerLock",
    "Licence",
    "Member",
    "Offer",
    "ParameterChange",
    "Patent",
    "Payment",
    "Pool",
    "PoolBase",
    "ProjectionUndo",
    "Provenance",
    "RecentBlock",
    "Role",
    "TierFee",
    "TokenTransfer",
    "Uint256",
]


class Uint256(sa.types.TypeDecorator[int]):
    """An unsigned 256-bit integer: NUMERIC(78, 0) on PostgreSQL, decimal text elsewhere."""

    impl = sa.Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(78, 0))
        return dialect.type_descriptor(sa.String(78))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return Decimal(value) if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


#: JSONB on PostgreSQL (queryable, indexable), JSON text elsewhere.
_JSON_ARGS = sa.JSON().with_variant(JSONB(), "postgresql")


def _u256(**kwargs: Any) -> Any:
    return Field(default=0, sa_type=Uint256, **kwargs)


def _big(**kwargs: Any) -> Any:
    return Field(default=0, sa_type=sa.BigInteger, **kwargs)


class Provenance(SQLModel):
    """Where the row's last change happened on chain."""

    tx_hash: str = Field(default="", max_length=66)
    block_number: int = _big(index=True)
    block_hash: str = Field(default="", max_length=66)
    log_index: int = 0


# --- raw events, digests, checkpoint, lock ---------------------------------------------------------


class EventBase(SQLModel):
    chain_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    block_number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    log_index: int = Field(primary_key=True)
    block_hash: str = Field(max_length=66)
    block_timestamp: int = _big()
    tx_hash: str = Field(max_length=66, index=True)
    tx_index: int = 0
    address: str = Field(max_length=42)
    event_name: str = Field(max_length=64)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=_JSON_ARGS)


class Event(EventBase, table=True):
    """One log of a tracked contract, decoded; its topics and data kept verbatim for the digest."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_address_name", "address", "event_name"),)
    topics: list[str] = Field(default_factory=list, sa_type=JSON)
    data: str = Field(default="0x", sa_type=sa.Text)


class Block(SQLModel, table=True):
    """A block that holds tracked events: its hash, time and the integrity digest after it."""

    __tablename__ = "block"
    number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    hash: str = Field(max_length=66)
    parent_hash: str = Field(max_length=66)
    timestamp: int = _big()
    event_count: int = 0
    digest: str = Field(max_length=66)


class RecentBlock(SQLModel, table=True):
    """Hashes of recently indexed batch ends, for finding the fork point of a reorg."""

    __tablename__ = "recent_block"
    number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    hash: str = Field(max_length=66)


class ProjectionUndo(SQLModel, table=True):
    """How to undo a recent batch's projection changes (a reorg then rolls back only what it must).

    Batches within the reorg window (the recent_block window) record, for every current-state row
    they changed, the row as it was before the batch (`image`; null: the batch created it), plus one
    marker row (seq 0, empty table) so a batch that changed nothing still shows it was recorded.
    Rows of append-only tables (payments, claims, evaluations, token transfers) are not recorded:
    their keys hold the block number. Pruned with recent_block.
    """

    __tablename__ = "projection_undo"
    batch_first: int = Field(sa_type=sa.BigInteger, primary_key=True)
    seq: int = Field(primary_key=True)
    batch_end: int = Field(sa_type=sa.BigInteger, index=True)
    table_name: str = Field(default="", max_length=64)
    key: list[Any] = Field(default_factory=list, sa_type=JSON)
    image: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Checkpoint(SQLModel, table=True):
    """The one row saying what this database mirrors and how far (committed with each batch)."""

    __tablename__ = "checkpoint"
    id: int = Field(default=1, primary_key=True)
    chain_id: int = Field(sa_type=sa.BigInteger)
    factory: str = Field(max_length=42)
    start_block: int = _big()
    block_number: int = _big()
    block_hash: str = Field(default="", max_length=66)
    digest: str = Field(max_length=66)
    event_count: int = _big()
    updated_at: float = 0.0


class IndexerLock(SQLModel, table=True):
    """The writer's lock: one row, refreshed by a heartbeat; a stale one may be taken over."""

    __tablename__ = "indexer_lock"
    id: int = Field(default=1, primary_key=True)
    owner: str = Field(max_length=200)
    acquired_at: float
    heartbeat_at: float


# --- projections: current state ---------------------------------------------------------------------


class PoolBase(SQLModel):
    address: str = Field(max_length=42, primary_key=True)
    pool_index: int = _big()
    name: str = ""
    kind: int = 0
    field: str = ""
    territory: str = ""
    lifecycle: int = 0
    paused: bool = False
    payment_token: str = Field(default="", max_length=42)
    operator: str = Field(default="", max_length=42)
    treasury: str = Field(default="", max_length=42)
    asset_registry: str = Field(default="", max_length=42)
    operator_share_bps: int = 0
    withdrawal_notice: int = _big()
    #: Fixed at creation (PoolBoundsSet): the operator-share ceiling and the delay of announced changes.
    max_operator_share_bps: int = 0
    change_delay: int = _big()
    max_licence_length: int = _big()
    #: What opening a dispute costs (DisputeBondSet), and the bonds of open disputes held apart
    #: from revenue (posted less released).
    dispute_bond: int = _u256()
    bonds_held: int = _u256()
    #: The account the default admin offered its role to (DefaultAdminTransferBegun; "" when none).
    pending_admin: str = Field(default="", max_length=42)
    required_jurisdictions: list[str] = Field(default_factory=list, sa_type=JSON)
    min_granted: int = 0
    min_score_bps: int = 0
    total_weight: int = _big()
    member_count: int = 0
    founder_count: int = 0
    asset_count: int = 0
    offer_count: int = 0
    licence_count: int = 0
    dispute_count: int = 0
    total_revenue: int = _u256()
    total_claimed: int = _u256()
    acc_revenue_per_weight: int = _u256()
    created_block: int = _big()
    created_tx: str = Field(default="", max_length=66)


class Pool(PoolBase, Provenance, table=True):
    """A pool created by the factory, with its profile, rule and running totals."""

    __tablename__ = "pool"


class TierFee(Provenance, table=True):
    """The annual fee of one member tier of a pool (0: closed to joins and renewals)."""

    __tablename__ = "tier_fee"
    pool: str = Field(max_length=42, primary_key=True)
    tier: int = Field(primary_key=True)
    annual_fee: int = _u256()


class Founder(Provenance, table=True):
    """An admitted founder (licensor) of a pool, or the holder of an asset bought from one
    (`admitted_block` 0: not admitted, so it cannot contribute), and its current revenue weight."""

    __tablename__ = "founder"
    pool: str = Field(max_length=42, primary_key=True)
    founder: str = Field(max_length=42, primary_key=True)
    weight: int = _big()
    asset_count: int = 0
    admitted_block: int = _big()


class Member(Provenance, table=True):
    """A member (licensee by membership) of a pool and its latest term."""

    __tablename__ = "member"
    pool: str = Field(max_length=42, primary_key=True)
    member: str = Field(max_length=42, primary_key=True)
    tier: int = 0
    valid_from: int = _big()
    valid_until: int = _big()
    renewals: int = 0
    total_paid: int = _u256()
    joined_block: int = _big()


class AssetBase(SQLModel):
    asset_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    owner: str = Field(default="", max_length=42, index=True)
    family_id: str = Field(default="", index=True)
    title: str = ""
    dossier_hash: str = Field(default="", max_length=66)
    dossier_uri: str = ""
    patent_count: int = 0
    score_bps: int = 0
    evaluator: str = Field(default="", max_length=42)
    model_version: str = ""
    evaluated_at: int = _big()
    registered_block: int = _big()


class Asset(AssetBase, Provenance, table=True):
    """A patent family (a PatentAsset token): owner, dossier and its latest evaluation."""

    __tablename__ = "asset"
    #: A verifier rejected its claim to its family id (FamilyRejected): the id is free again, for
    #: `family_id_claimant` only when set, and the token lists and has verified no more patents.
    rejected: bool = False
    family_id_claimant: str = Field(default="", max_length=42)


class Patent(Provenance, table=True):
    """One patent of a family and its attested status."""

    __tablename__ = "patent"
    asset_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    patent_index: int = Field(primary_key=True)
    jurisdiction: str = Field(default="", max_length=2, index=True)
    publication_number: str = Field(default="", index=True)
    status: int = 0
    grant_date: int = _big()
    expiry_date: int = _big()
    verifier: str = Field(default="", max_length=42)


class Evaluation(Provenance, table=True):
    """Every stability evaluation recorded for a family (the asset row holds the latest)."""

    __tablename__ = "evaluation"
    block_number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    log_index: int = Field(primary_key=True)
    asset_id: int = Field(sa_type=sa.BigInteger, index=True)
    evaluator: str = Field(max_length=42)
    score_bps: int = 0
    report_hash: str = Field(max_length=66)
    model_version: str = ""
    evaluated_at: int = _big()


class Contribution(Provenance, table=True):
    """An asset a founder contributed to a pool, and its standing there."""

    __tablename__ = "contribution"
    pool: str = Field(max_length=42, primary_key=True)
    asset_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    founder: str = Field(default="", max_length=42, index=True)
    weight: int = _big()
    initial_weight: int = _big()
    granted_in_required: int = _big()
    score_bps: int = 0
    status: str = Field(default="active", max_length=16)
    suspended: bool = False
    withdrawal_effective_at: int = _big()
    #: When the withdrawal was announced: terms and licences paid from then on cover the asset only
    #: until `withdrawal_effective_at`.
    withdrawal_announced_at: int = _big()
    withdrawn_at: int = _big()
    suspended_by_dispute: int = _big()
    #: When the latest suspension took effect (0: never suspended); `isLicensed` for earlier times is
    #: unchanged. `suspended` says whether it is still in force.
    suspended_at: int = _big()
    #: When the latest suspension was lifted on appeal (SuspensionLifted; 0: never lifted).
    lifted_at: int = _big()
    contributed_at: int = _big()


class Offer(Provenance, table=True):
    """A unified-licence offer: open, cancelled or accepted."""

    __tablename__ = "offer"
    pool: str = Field(max_length=42, primary_key=True)
    offer_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    licensee: str = Field(default="", max_length=42, index=True)
    asset_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    start: int = _big()
    end: int = _big()
    price: int = _u256()
    terms_hash: str = Field(default="", max_length=66)
    status: str = Field(default="open", max_length=16)
    licence_id: int = _big()
    #: The last second the offer can be accepted (LicenceOfferDeadline).
    accept_by: int = _big()


class Licence(Provenance, table=True):
    """A unified licence granted from an offer: active or revoked."""

    __tablename__ = "licence"
    pool: str = Field(max_length=42, primary_key=True)
    licence_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    offer_id: int = _big()
    licensee: str = Field(default="", max_length=42, index=True)
    asset_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    whole_pool: bool = False
    start: int = _big()
    end: int = _big()
    price: int = _u256()
    granted_at: int = _big()
    status: str = Field(default="active", max_length=16)
    reason_hash: str = Field(default="", max_length=66)
    #: When the revocation took effect (0: not revoked); the licence still covers the times before.
    revoked_at: int = _big()


class ParameterChange(Provenance, table=True):
    """The latest announced change of a pool parameter: announced (pending) or applied.

    `parameter` is IPatentPool.Parameter: 0 operator share, 1 withdrawal notice, 2 maximum licence
    length, 3 qualification (jurisdictions, min_granted, min_score_bps), 4..6 tier 0..2 fee.
    """

    __tablename__ = "parameter_change"
    pool: str = Field(max_length=42, primary_key=True)
    parameter: int = Field(primary_key=True)
    value: int = _u256()
    jurisdictions: list[str] = Field(default_factory=list, sa_type=JSON)
    min_granted: int = 0
    min_score_bps: int = 0
    announced_at: int = _big()
    effective_at: int = _big()
    status: str = Field(default="announced", max_length=16)
    applied_at: int = _big()


class Payment(Provenance, table=True):
    """A payment a pool received and how it was split (RevenueReceived)."""

    __tablename__ = "payment"
    block_number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    log_index: int = Field(primary_key=True)
    pool: str = Field(max_length=42, index=True)
    payer: str = Field(max_length=42, index=True)
    amount: int = _u256()
    operator_amount: int = _u256()
    founder_amount: int = _u256()
    unallocated_amount: int = _u256()
    acc_revenue_per_weight: int = _u256()
    paid_at: int = _big()


class Claim(Provenance, table=True):
    """A claim paid out by a pool (RevenueClaimed)."""

    __tablename__ = "claim"
    block_number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    log_index: int = Field(primary_key=True)
    pool: str = Field(max_length=42, index=True)
    account: str = Field(max_length=42, index=True)
    amount: int = _u256()
    claimed_at: int = _big()


class Dispute(Provenance, table=True):
    """A challenge against a pool's asset: open, upheld or dismissed."""

    __tablename__ = "dispute"
    pool: str = Field(max_length=42, primary_key=True)
    dispute_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    asset_id: int = _big()
    challenger: str = Field(default="", max_length=42)
    evidence_hash: str = Field(default="", max_length=66)
    status: str = Field(default="open", max_length=16)
    arbiter: str = Field(default="", max_length=42)
    ruling_hash: str = Field(default="", max_length=66)
    #: The bond the challenger paid (DisputeBondPosted; 0: none), and who the ruling credited it
    #: to (DisputeBondReleased: the challenger if upheld, the asset's founder if dismissed).
    bond: int = _u256()
    bond_released_to: str = Field(default="", max_length=42)


class TokenTransfer(Provenance, table=True):
    """A payment-token transfer to or from a pool."""

    __tablename__ = "token_transfer"
    block_number: int = Field(sa_type=sa.BigInteger, primary_key=True)
    log_index: int = Field(primary_key=True)
    token: str = Field(max_length=42)
    from_address: str = Field(max_length=42, index=True)
    to_address: str = Field(max_length=42, index=True)
    value: int = _u256()


class Role(Provenance, table=True):
    """An AccessControl role held (or once held) by an account on a tracked contract."""

    __tablename__ = "role"
    contract: str = Field(max_length=42, primary_key=True)
    role: str = Field(max_length=66, primary_key=True)
    account: str = Field(max_length=42, primary_key=True)
    active: bool = True
    granted_by: str = Field(default="", max_length=42)


#: The current-state tables, rebuilt from the raw events by `indexer.projections.rebuild`.
PROJECTION_TABLES: tuple[type[SQLModel], ...] = (
    Pool,
    TierFee,
    Founder,
    Member,
    Asset,
    Patent,
    Evaluation,
    Contribution,
    Offer,
    Licence,
    ParameterChange,
    Payment,
    Claim,
    Dispute,
    TokenTransfer,
    Role,
)

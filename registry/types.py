"""Domain scalars and enums shared by the chain client and its callers."""

from __future__ import annotations

from enum import IntEnum
from typing import NewType

__all__ = [
    "AssetId",
    "DisputeId",
    "LicenceId",
    "Lifecycle",
    "OfferId",
    "Parameter",
    "PatentStatus",
    "PoolKind",
    "Tier",
]

AssetId = NewType("AssetId", int)
LicenceId = NewType("LicenceId", int)
OfferId = NewType("OfferId", int)
DisputeId = NewType("DisputeId", int)


class PatentStatus(IntEnum):
    PENDING = 0
    GRANTED = 1
    LAPSED = 2
    REVOKED = 3
    REJECTED = 4  # the verifier found the listing false (PatentAsset.rejectPatent)


class PoolKind(IntEnum):
    COMPANY = 0
    INDUSTRY = 1
    TECHNOLOGY = 2
    GEOGRAPHY = 3


class Lifecycle(IntEnum):
    INCUBATING = 0
    ACTIVE = 1
    CLOSED = 2


class Tier(IntEnum):
    STARTUP = 0
    SME = 1
    ENTERPRISE = 2


class Parameter(IntEnum):
    """A pool parameter the operator changes by announcement (IPatentPool.Parameter)."""

    OPERATOR_SHARE = 0
    WITHDRAWAL_NOTICE = 1
    MAX_LICENCE_LENGTH = 2
    QUALIFICATION = 3
    TIER_FEE_0 = 4
    TIER_FEE_1 = 5
    TIER_FEE_2 = 6
    DISPUTE_BOND = 7

"""The stability scorecard: a documented, versioned points table that scores a patent family.

This is NOT an AI model and nothing in it is trained or learned. It is a fixed table of seven
factors read from the family's dossier, each with a published weight and cap, added up in integer
basis points and clamped to 0..10000. Anyone can recompute a score by hand from the dossier and
docs/stability-model.md; the same dossier and evaluation date always give the same report, byte
for byte. `PatentAsset.recordEvaluation` stores the score, the keccak-256 of the report's
canonical JSON and MODEL_VERSION. Changing any number below means a new MODEL_VERSION.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from eth_utils.crypto import keccak

from registry.dossier import Dossier, canonical_json, dossier_hash

__all__ = [
    "AMENDED_BPS",
    "CITATIONS_CAP_BPS",
    "CITATIONS_PER_DOUBLING_BPS",
    "MAINTAINED_BPS",
    "MAX_SCORE_BPS",
    "MODEL_VERSION",
    "OFFICES_CAP_BPS",
    "OFFICE_WEIGHTS_BPS",
    "OTHER_OFFICE_WEIGHT_BPS",
    "PATENTS_CAP_BPS",
    "PATENT_BPS",
    "PENDING_CHALLENGES_FLOOR_BPS",
    "PENDING_CHALLENGE_BPS",
    "REVOKED_BPS",
    "REVOKED_FLOOR_BPS",
    "SURVIVED_CAP_BPS",
    "TERM_CAP_BPS",
    "TERM_CAP_DAYS",
    "Factor",
    "StabilityInputs",
    "StabilityReport",
    "evaluate",
    "report_hash",
    "report_json",
]

MODEL_VERSION = "scorecard-1.0"
MAX_SCORE_BPS = 10_000

# 1. Granted offices: each distinct office with a granted patent in force adds its weight. The
#    big examining offices weigh most: a grant there has passed the most-litigated examination and
#    covers the largest markets. EP is an office of its own (it is not counted as DE).
OFFICE_WEIGHTS_BPS: Mapping[str, int] = MappingProxyType(
    {"US": 1000, "CN": 1000, "JP": 900, "DE": 800, "EP": 800, "KR": 600}
)
OTHER_OFFICE_WEIGHT_BPS = 300
OFFICES_CAP_BPS = 3000
# 2. Family breadth: every listed patent, whatever its status, shows the owner's investment.
PATENT_BPS = 250
PATENTS_CAP_BPS = 1000
# 3. Remaining term: linear in the days until the latest expiry of a granted patent, full
#    credit from 15 years (of 365 days) on.
TERM_CAP_DAYS = 15 * 365
TERM_CAP_BPS = 2500
# 4. Forward citations (summed over the family): a fixed step per doubling, i.e.
#    PER_DOUBLING * floor(log2(1 + citations)), so the first citations count most.
CITATIONS_PER_DOUBLING_BPS = 250
CITATIONS_CAP_BPS = 2000
# 5. Survived challenges: a patent maintained as granted is proven; amended claims survived but
#    narrower, so half the credit.
MAINTAINED_BPS = 500
AMENDED_BPS = 250
SURVIVED_CAP_BPS = 1500
# 6. Pending challenges (oppositions and invalidations still undecided): the patent may fall.
PENDING_CHALLENGE_BPS = -1500
PENDING_CHALLENGES_FLOOR_BPS = -4500
# 7. Revoked patents: an office already found a family member invalid.
REVOKED_BPS = -1000
REVOKED_FLOOR_BPS = -3000

# The positive caps add up to MAX_SCORE_BPS: a family at every cap with no penalty scores exactly
# 10000, so the upper clamp is a safeguard and the lower clamp is where penalties bite.


@dataclass(frozen=True)
class StabilityInputs:
    """The facts the scorecard reads from the dossier on the evaluation date."""

    grantedOffices: tuple[str, ...]
    patents: int
    latestGrantedExpiry: date | None
    remainingTermDays: int
    forwardCitations: int
    maintained: int
    amended: int
    pendingChallenges: int
    revokedPatents: int

    def to_json(self) -> dict[str, Any]:
        """The inputs as they appear in the report's JSON."""
        return {
            "grantedOffices": list(self.grantedOffices),
            "patents": self.patents,
            "latestGrantedExpiry": self.latestGrantedExpiry,
            "remainingTermDays": self.remainingTermDays,
            "forwardCitations": self.forwardCitations,
            "maintained": self.maintained,
            "amended": self.amended,
            "pendingChallenges": self.pendingChallenges,
            "revokedPatents": self.revokedPatents,
        }


@dataclass(frozen=True)
class Factor:
    """One line of the scorecard: its raw value and what it adds to the score (negative for penalties)."""

    name: str
    raw: int
    contributionBps: int

    def to_json(self) -> dict[str, Any]:
        """The factor as it appears in the report's JSON."""
        return {"name": self.name, "raw": self.raw, "contributionBps": self.contributionBps}


@dataclass(frozen=True)
class StabilityReport:
    """The evaluation of one dossier on one date: the report whose hash goes on-chain.

    Attributes here and in StabilityInputs and Factor are named as in the report's JSON, as the
    Dossier's fields are named as in the dossier's.
    """

    modelVersion: str
    asOf: date
    familyId: str
    dossierHash: bytes
    inputs: StabilityInputs
    factors: tuple[Factor, ...]
    scoreBps: int

    def factor(self, name: str) -> Factor:
        """The factor of this name (KeyError when the model has none)."""
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object (dates stay `date`; canonical_json writes them as ISO)."""
        return {
            "modelVersion": self.modelVersion,
            "asOf": self.asOf,
            "familyId": self.familyId,
            "dossierHash": "0x" + self.dossierHash.hex(),
            "inputs": self.inputs.to_json(),
            "factors": [f.to_json() for f in self.factors],
            "scoreBps": self.scoreBps,
        }


def evaluate(dossier: Dossier, as_of: date) -> StabilityReport:
    """Scores a dossier on a date with scorecard-1.0; a pure function of its two arguments."""
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        # A datetime would put a time of day into the hashed report; the model works in days.
        raise TypeError(f"as_of is a date, not {type(as_of).__name__}")
    inputs = _inputs(dossier, as_of)
    offices_bps = sum(OFFICE_WEIGHTS_BPS.get(office, OTHER_OFFICE_WEIGHT_BPS) for office in inputs.grantedOffices)
    survived_bps = inputs.maintained * MAINTAINED_BPS + inputs.amended * AMENDED_BPS
    factors = (
        Factor("grantedOffices", len(inputs.grantedOffices), min(offices_bps, OFFICES_CAP_BPS)),
        Factor("familyBreadth", inputs.patents, min(inputs.patents * PATENT_BPS, PATENTS_CAP_BPS)),
        Factor(
            "remainingTerm",
            inputs.remainingTermDays,
            # Integer arithmetic, rounded down: no float ever reaches the hashed report.
            min(inputs.remainingTermDays, TERM_CAP_DAYS) * TERM_CAP_BPS // TERM_CAP_DAYS,
        ),
        Factor(
            "forwardCitations",
            inputs.forwardCitations,
            # floor(log2(1 + n)) is bit_length - 1, exactly, with no floating point.
            min(((1 + inputs.forwardCitations).bit_length() - 1) * CITATIONS_PER_DOUBLING_BPS, CITATIONS_CAP_BPS),
        ),
        Factor("survivedOppositions", inputs.maintained + inputs.amended, min(survived_bps, SURVIVED_CAP_BPS)),
        Factor(
            "pendingInvalidations",
            inputs.pendingChallenges,
            max(inputs.pendingChallenges * PENDING_CHALLENGE_BPS, PENDING_CHALLENGES_FLOOR_BPS),
        ),
        Factor("revokedPatents", inputs.revokedPatents, max(inputs.revokedPatents * REVOKED_BPS, REVOKED_FLOOR_BPS)),
    )
    total = sum(f.contributionBps for f in factors)
    return StabilityReport(
        modelVersion=MODEL_VERSION,
        asOf=as_of,
        familyId=dossier.familyId,
        dossierHash=dossier_hash(dossier),
        inputs=inputs,
        factors=factors,
        scoreBps=max(0, min(MAX_SCORE_BPS, total)),
    )


def report_json(report: StabilityReport) -> bytes:
    """The canonical JSON bytes of a report (the bytes whose keccak-256 is the reportHash)."""
    return canonical_json(report.to_json())


def report_hash(report: StabilityReport) -> bytes:
    """The 32-byte `reportHash` for recordEvaluation: keccak-256 of `report_json(report)`."""
    return bytes(keccak(report_json(report)))


def _inputs(dossier: Dossier, as_of: date) -> StabilityInputs:
    granted = [p for p in dossier.patents if p.status == "granted"]
    # A grant protects nothing once it has expired, even if the dossier still says "granted".
    in_force = {p.office for p in granted if p.expiryDate is None or p.expiryDate > as_of}
    expiries = [p.expiryDate for p in granted if p.expiryDate is not None]
    latest = max(expiries) if expiries else None
    challenges = [o for p in dossier.patents for o in p.oppositions]
    return StabilityInputs(
        grantedOffices=tuple(sorted(in_force)),
        patents=len(dossier.patents),
        latestGrantedExpiry=latest,
        # No known expiry earns no term credit: the model does not guess one.
        remainingTermDays=max(0, (latest - as_of).days) if latest is not None else 0,
        forwardCitations=sum(p.forwardCitations for p in dossier.patents),
        maintained=sum(1 for o in challenges if o.outcome == "maintained"),
        amended=sum(1 for o in challenges if o.outcome == "amended"),
        pendingChallenges=sum(1 for o in challenges if o.outcome == "pending"),
        revokedPatents=sum(1 for p in dossier.patents if p.status == "revoked"),
    )

"""Why an address is, or is not, licensed for an asset at a moment: `PatentPool.isLicensed` in Python.

The rule, as `contracts/PatentPool.sol` applies it (and `explain` re-applies it over the mirror):

1. The asset must be in the pool: contributed (`AssetContributed`), not suspended by an upheld
   dispute (`AssetSuspended`), and contributed at or before `at`. Suspension and withdrawal are
   read as they stand now, whatever `at` is: a suspended asset is licensed to nobody, ever.
2. Membership: each `join` and `renew` adds a term (`MemberJoined` / `MembershipRenewed`: validFrom,
   validUntil, and the block time it was paid). The term that counts is the latest one starting at
   or before `at`; it covers when `at < validUntil` and, if the asset was withdrawn since, the term
   was paid before the withdrawal.
3. Unified licences: the whole-pool licences of the licensee, then its licences naming the asset.
   In each, the licences are walked from the latest granted back: revoked ones are skipped, and the
   first unrevoked one starting at or before `at` decides: it covers when `at < end` and, if the
   asset was withdrawn, it was granted before the withdrawal.

`explain` is pure (rows in, a `Verdict` out) so it can be checked against the chain for any input;
`read_evidence` gathers the rows it needs from the mirror.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from indexer.schema import Block, Contribution, Dispute, Event, Licence
from registry.licensing import COVERED, REASONS, ReasonCode

__all__ = [
    "COVERED",
    "REASONS",
    "Evidence",
    "ReasonCode",
    "Term",
    "Verdict",
    "explain",
    "read_evidence",
]

_TERM_EVENTS = ("MemberJoined", "MembershipRenewed")


@dataclass(frozen=True)
class Term:
    """One membership term, as its `MemberJoined` or `MembershipRenewed` log recorded it."""

    event_name: str
    tier: int
    fee: int
    valid_from: int
    valid_until: int
    paid_at: int
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int

    @classmethod
    def from_event(cls, event: Event) -> Term:
        args = event.args
        return cls(
            event_name=event.event_name,
            tier=int(args["tier"]),
            fee=int(args["fee"]),
            valid_from=int(args["validFrom"]),
            valid_until=int(args["validUntil"]),
            paid_at=event.block_timestamp,
            tx_hash=event.tx_hash,
            block_number=event.block_number,
            block_hash=event.block_hash,
            log_index=event.log_index,
        )


@dataclass(frozen=True)
class Evidence:
    """The mirror's rows that decide one (pool, licensee, asset) question."""

    contribution: Contribution | None
    dispute: Dispute | None
    terms: list[Term]
    licences: list[Licence]
    #: Block number -> timestamp of the blocks the licences were last changed in (their revocation).
    block_times: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The indexed answer and why: a reason code, a sentence, and the rows behind it."""

    licensed: bool
    code: ReasonCode
    explanation: str
    #: The term that covers (or the latest one begun by then, when it ended or was paid too late).
    term: Term | None = None
    #: The licence that covers (or the one that decided against, when it ended or was paid too late).
    licence: Licence | None = None
    #: Revoked licences that would otherwise have covered the moment.
    revoked: tuple[Licence, ...] = ()
    contribution: Contribution | None = None
    dispute: Dispute | None = None


def _latest_term(terms: Iterable[Term], at: int) -> Term | None:
    """The term the contract's Checkpoints.upperLookupRecent finds: the latest starting at or before `at`."""
    found: Term | None = None
    for term in sorted(terms, key=lambda t: (t.block_number, t.log_index)):
        # Term starts never decrease; a later push with the same start replaces the earlier one.
        if term.valid_from <= at and (found is None or term.valid_from >= found.valid_from):
            found = term
    return found


@dataclass(frozen=True)
class _Walk:
    """What walking one scope's licences found: the deciding licence and the revoked ones passed."""

    decider: Licence | None
    revoked: tuple[Licence, ...]


def _walk(licences: Sequence[Licence], at: int) -> _Walk:
    """`_licenceCovers`: from the latest granted back, skip revoked ones, stop at the first begun by `at`."""
    revoked: list[Licence] = []
    for licence in sorted(licences, key=lambda row: row.licence_id, reverse=True):
        if licence.status == "revoked":
            if licence.start <= at < licence.end:
                revoked.append(licence)
            continue
        if at >= licence.start:
            return _Walk(licence, tuple(revoked))
    return _Walk(None, tuple(revoked))


def _iso(ts: int) -> str:
    """A unix time in ISO 8601 UTC, for the sentences."""
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix {ts}"


def _revoked_when(licence: Licence, evidence: Evidence) -> str:
    """When a revoked licence was revoked (its row's last change is the LicenceRevoked log)."""
    ts = evidence.block_times.get(licence.block_number)
    return f"at {_iso(ts)}" if ts else f"in block {licence.block_number}"


def _paid_in_time(paid_at: int, withdrawn_at: int) -> bool:
    return withdrawn_at == 0 or paid_at < withdrawn_at


def _scope(licence: Licence) -> str:
    return "the whole pool" if licence.whole_pool else "assets " + ", ".join(str(a) for a in licence.asset_ids)


def explain(licensee: str, asset_id: int, at: int, evidence: Evidence) -> Verdict:
    """Whether `licensee` is licensed for `asset_id` at unix time `at` by the mirror's rows, and why."""
    c = evidence.contribution
    if c is None or c.contributed_at == 0:
        return Verdict(False, "asset_not_in_pool", f"asset {asset_id} was never contributed to this pool")
    if c.suspended:
        dispute = evidence.dispute
        by = f"dispute {c.suspended_by_dispute}"
        return Verdict(
            False,
            "asset_suspended",
            f"asset {asset_id} is suspended in this pool by the upheld {by}; nobody is licensed for it",
            contribution=c,
            dispute=dispute,
        )
    if at < c.contributed_at:
        return Verdict(
            False,
            "asset_not_yet_in_pool",
            f"asset {asset_id} was contributed to this pool at {_iso(c.contributed_at)}, after {_iso(at)}",
            contribution=c,
        )
    withdrawn_at = c.withdrawn_at

    term = _latest_term(evidence.terms, at)
    if term is not None and at < term.valid_until and _paid_in_time(term.paid_at, withdrawn_at):
        return Verdict(
            True,
            "membership",
            f"{licensee} is a member: its term from {_iso(term.valid_from)} until {_iso(term.valid_until)} "
            f"({'joined' if term.event_name == 'MemberJoined' else 'renewed'} at {_iso(term.paid_at)}) "
            f"covers {_iso(at)}",
            term=term,
            contribution=c,
        )

    whole = _walk([row for row in evidence.licences if row.whole_pool], at)
    named = _walk([row for row in evidence.licences if not row.whole_pool and asset_id in row.asset_ids], at)
    revoked = whole.revoked + named.revoked
    for decider in (whole.decider, named.decider):
        if decider is not None and at < decider.end and _paid_in_time(decider.granted_at, withdrawn_at):
            return Verdict(
                True,
                "licence",
                f"{licensee} holds unified licence {decider.licence_id} for {_scope(decider)}, "
                f"from {_iso(decider.start)} until {_iso(decider.end)}, which covers {_iso(at)}",
                licence=decider,
                revoked=revoked,
                contribution=c,
            )

    # Not licensed: the most specific reason first.
    if term is not None and at < term.valid_until:
        return Verdict(
            False,
            "asset_withdrawn",
            f"asset {asset_id} was withdrawn from this pool at {_iso(withdrawn_at)}; the membership term "
            f"covering {_iso(at)} was paid at {_iso(term.paid_at)}, not before the withdrawal",
            term=term,
            revoked=revoked,
            contribution=c,
        )
    for decider in (whole.decider, named.decider):
        if decider is not None and at < decider.end:
            return Verdict(
                False,
                "asset_withdrawn",
                f"asset {asset_id} was withdrawn from this pool at {_iso(withdrawn_at)}; licence {decider.licence_id} "
                f"covering {_iso(at)} was granted at {_iso(decider.granted_at)}, not before the withdrawal",
                licence=decider,
                revoked=revoked,
                contribution=c,
            )
    if revoked:
        said = "; ".join(
            f"licence {row.licence_id} (from {_iso(row.start)} until {_iso(row.end)}) was revoked by the pool's "
            f"operator {_revoked_when(row, evidence)}"
            for row in revoked
        )
        return Verdict(
            False,
            "licence_revoked",
            f"{licensee} is not a member at {_iso(at)}, and {said}",
            revoked=revoked,
            contribution=c,
        )
    if term is not None:
        return Verdict(
            False,
            "membership_ended",
            f"{licensee} was a member, but its latest term ended at {_iso(term.valid_until)}, before {_iso(at)}",
            term=term,
            contribution=c,
        )
    ended = whole.decider or named.decider
    if ended is not None:
        return Verdict(
            False,
            "licence_ended",
            f"licence {ended.licence_id} of {licensee} ended at {_iso(ended.end)}, before {_iso(at)}",
            licence=ended,
            contribution=c,
        )
    later = [t.valid_from for t in evidence.terms] + [
        row.start for row in evidence.licences if row.whole_pool or asset_id in row.asset_ids
    ]
    if later:
        return Verdict(
            False,
            "not_member",
            f"{licensee} had no membership or licence here by {_iso(at)}; its first began at {_iso(min(later))}",
            contribution=c,
        )
    return Verdict(
        False,
        "not_member",
        f"{licensee} has never been a member of this pool nor held a licence for asset {asset_id} in it",
        contribution=c,
    )


def read_evidence(session: Session, chain_id: int, pool: str, licensee: str, asset_id: int) -> Evidence:
    """The rows `explain` needs for one question, read from the mirror (addresses checksummed)."""
    contribution = session.get(Contribution, (pool, asset_id))
    dispute = None
    if contribution is not None and contribution.suspended and contribution.suspended_by_dispute:
        dispute = session.get(Dispute, (pool, contribution.suspended_by_dispute))
    events = session.exec(
        select(Event)
        .where(
            Event.chain_id == chain_id,
            Event.address == pool,
            col(Event.event_name).in_(_TERM_EVENTS),
            col(Event.args)["member"].as_string() == licensee,
        )
        .order_by(col(Event.block_number), col(Event.log_index))
    ).all()
    licences = list(session.exec(select(Licence).where(Licence.pool == pool, Licence.licensee == licensee)).all())
    numbers = {row.block_number for row in licences if row.status == "revoked"}
    times: dict[int, int] = {}
    if numbers:
        rows = session.exec(select(Block).where(col(Block.number).in_(sorted(numbers)))).all()
        times = {row.number: row.timestamp for row in rows}
    return Evidence(contribution, dispute, [Term.from_event(e) for e in events], licences, times)

"""Why an address is, or is not, licensed for an asset at a moment: `PatentPool.isLicensed` in Python.

The rule, as `contracts/PatentPool.sol` (contracts v2) applies it and `explain` re-applies it over
the mirror (docs/contracts.md):

1. The asset must be in the pool at `at`: contributed (`AssetContributed`) at or before `at`, and
   not under a suspension at `at` (`AssetSuspended`: a suspension counts from its block's time on;
   `SuspensionLifted`, an appeal, ends it from its block's time on; the latest of these at or
   before `at` decides, so earlier moments keep their answer).
2. Membership: each `join` and `renew` adds a term (`MemberJoined` / `MembershipRenewed`: validFrom,
   validUntil, and the block time it was paid). The term that counts is the latest one starting at
   or before `at`; it covers when `at < validUntil` and the term binds the asset (below).
3. Unified licences, per scope: the whole-pool licences of the licensee, then its licences naming
   the asset. In each scope the licence with the greatest start at or before `at` decides (a later
   grant with the same start replaces it, as the contract's checkpoints do). It covers when
   `at < end`, it was not revoked at or before `at` (`revoked_at`), a whole-pool licence was
   accepted at or after the asset was contributed, and it binds the asset.
4. Binding (`_binds`): paid after the asset was withdrawn: no; no withdrawal announced, or `at`
   before its effective date: yes; otherwise only if paid at or before the announcement.

`explain` is pure (rows in, a `Verdict` out) so it can be checked against the chain for any input;
`read_evidence` gathers the rows it needs from the mirror.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from indexer.schema import Block, Contribution, Dispute, Event, Licence
from registry.licensing import COVERED, REASONS, ReasonCode, binds, licence_fault, withdrawal_said

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
_SUSPENSION_EVENTS = ("AssetSuspended", "SuspensionLifted")


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
    #: The asset's suspensions and their liftings in this pool, in chain order: (block time, True
    #: for `AssetSuspended` / False for `SuspensionLifted`, the suspending dispute or 0). Empty:
    #: only the contribution row's current `suspended` / `suspended_at` are known.
    suspensions: list[tuple[int, bool, int]] = field(default_factory=list)


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
    #: Revoked licences that would otherwise have covered the moment (revoked at or before it).
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


def _checkpoint(licences: Sequence[Licence], at: int) -> Licence | None:
    """The licence a scope's checkpoints name at `at`: the greatest start at or before it, the later
    grant when two start together (a push with the same key replaces the earlier one)."""
    found: Licence | None = None
    for licence in sorted(licences, key=lambda row: row.licence_id):
        if licence.start <= at and (found is None or licence.start >= found.start):
            found = licence
    return found


def _iso(ts: int) -> str:
    """A unix time in ISO 8601 UTC, for the sentences."""
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix {ts}"


def _revoked_time(licence: Licence, evidence: Evidence) -> int:
    """When a revoked licence was revoked: its row's `revoked_at`, or (rows indexed before the
    column existed) the time of the block of its last change, the LicenceRevoked log."""
    return licence.revoked_at or evidence.block_times.get(licence.block_number, 0)


def _revoked_when(licence: Licence, evidence: Evidence) -> str:
    ts = _revoked_time(licence, evidence)
    return f"at {_iso(ts)}" if ts else f"in block {licence.block_number}"


def _scope(licence: Licence) -> str:
    return "the whole pool" if licence.whole_pool else "assets " + ", ".join(str(a) for a in licence.asset_ids)


def _suspension_at(c: Contribution, history: Sequence[tuple[int, bool, int]], at: int) -> tuple[int, int] | None:
    """(since, dispute id) of the suspension in force at `at`, or None: the latest suspension or
    lifting at or before `at` decides (in one second the later log wins, as the contract's
    checkpoints keep the last value of a second)."""
    if not history:
        return (c.suspended_at, c.suspended_by_dispute) if c.suspended and at >= c.suspended_at else None
    state: tuple[int, int] | None = None
    for time, suspends, dispute_id in history:
        if time > at:
            break
        state = (time, dispute_id) if suspends else None
    return state


def _lifted_after(history: Sequence[tuple[int, bool, int]], since: int) -> int | None:
    """When the suspension that took effect at `since` was lifted on appeal, or None while it holds.
    (Without a history, only a suspension in force is ever named: `_suspension_at`.)"""
    seen = False
    for time, suspends, _ in history:
        if time < since:
            continue
        if suspends and time == since:
            seen = True
        elif seen and not suspends and time > since:
            return time
    return None


def explain(licensee: str, asset_id: int, at: int, evidence: Evidence) -> Verdict:
    """Whether `licensee` is licensed for `asset_id` at unix time `at` by the mirror's rows, and why."""
    c = evidence.contribution
    if c is None or c.contributed_at == 0:
        return Verdict(False, "asset_not_in_pool", f"asset {asset_id} was never contributed to this pool")
    if at < c.contributed_at:
        return Verdict(
            False,
            "asset_not_yet_in_pool",
            f"asset {asset_id} was contributed to this pool at {_iso(c.contributed_at)}, after {_iso(at)}",
            contribution=c,
        )
    suspension = _suspension_at(c, evidence.suspensions, at)
    if suspension is not None:
        since, dispute_id = suspension
        by = f"dispute {dispute_id}" if dispute_id else "dispute"
        dispute = (
            evidence.dispute if evidence.dispute is not None and evidence.dispute.dispute_id == dispute_id else None
        )
        lifted_at = _lifted_after(evidence.suspensions, since)
        lifted = f" until it was lifted on appeal at {_iso(lifted_at)}" if lifted_at is not None else ""
        return Verdict(
            False,
            "asset_suspended",
            f"asset {asset_id} was suspended in this pool by the upheld {by} at {_iso(since)}; "
            f"nobody is licensed for it from then on{lifted}",
            contribution=c,
            dispute=dispute,
        )
    withdrawn_at, effective_at, announced_at = c.withdrawn_at, c.withdrawal_effective_at, c.withdrawal_announced_at

    def bound(paid_at: int) -> bool:
        return binds(paid_at, at, withdrawn_at, effective_at, announced_at)

    def unbound_said(paid_what: str, paid_at: int) -> str:
        return f"asset {asset_id}: " + withdrawal_said(paid_what, paid_at, withdrawn_at, effective_at, announced_at)

    term = _latest_term(evidence.terms, at)
    term_in_time = term is not None and at < term.valid_until
    if term is not None and term_in_time and bound(term.paid_at):
        return Verdict(
            True,
            "membership",
            f"{licensee} is a member: its term from {_iso(term.valid_from)} until {_iso(term.valid_until)} "
            f"({'joined' if term.event_name == 'MemberJoined' else 'renewed'} at {_iso(term.paid_at)}) "
            f"covers {_iso(at)}",
            term=term,
            contribution=c,
        )

    whole = _checkpoint([row for row in evidence.licences if row.whole_pool], at)
    named = _checkpoint([row for row in evidence.licences if not row.whole_pool and asset_id in row.asset_ids], at)
    faults = [
        (
            decider,
            licence_fault(
                at=at,
                end=decider.end,
                revoked=decider.status == "revoked",
                revoked_at=_revoked_time(decider, evidence),
                whole_pool=decider.whole_pool,
                granted_at=decider.granted_at,
                contributed_at=c.contributed_at,
                withdrawn_at=withdrawn_at,
                effective_at=effective_at,
                announced_at=announced_at,
            ),
        )
        for decider in (whole, named)
        if decider is not None
    ]
    revoked = tuple(decider for decider, fault in faults if fault == "revoked")
    covering = next((decider for decider, fault in faults if fault is None), None)
    if covering is not None:
        return Verdict(
            True,
            "licence",
            f"{licensee} holds unified licence {covering.licence_id} for {_scope(covering)}, "
            f"from {_iso(covering.start)} until {_iso(covering.end)}, which covers {_iso(at)}",
            licence=covering,
            revoked=revoked,
            contribution=c,
        )

    # Not licensed: the most specific reason first.
    if term is not None and term_in_time:
        return Verdict(
            False,
            "asset_withdrawn",
            unbound_said(f"the membership term covering {_iso(at)}", term.paid_at),
            term=term,
            revoked=revoked,
            contribution=c,
        )
    late = next((decider for decider, fault in faults if fault == "withdrawn"), None)
    if late is not None:
        return Verdict(
            False,
            "asset_withdrawn",
            unbound_said(f"licence {late.licence_id} covering {_iso(at)}", late.granted_at),
            licence=late,
            revoked=revoked,
            contribution=c,
        )
    before = next((decider for decider, fault in faults if fault == "joined_after"), None)
    if before is not None:
        return Verdict(
            False,
            "asset_joined_after_licence",
            f"{licensee} holds whole-pool licence {before.licence_id}, from {_iso(before.start)} until "
            f"{_iso(before.end)}, accepted at {_iso(before.granted_at)}; asset {asset_id} was contributed at "
            f"{_iso(c.contributed_at)}, after it, and a whole-pool licence covers only the assets in the pool "
            "when it was accepted",
            licence=before,
            revoked=revoked,
            contribution=c,
        )
    if revoked:
        said = "; ".join(
            f"licence {row.licence_id} (from {_iso(row.start)} until {_iso(row.end)}) was revoked by the pool's "
            f"operator {_revoked_when(row, evidence)}, at or before that moment"
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
    ended = whole or named
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


def read_evidence(session: Session, pool: str, licensee: str, asset_id: int) -> Evidence:
    """The rows `explain` needs for one question, read from the mirror (addresses checksummed).

    The term events are found by the (address, event name) index; the mirror holds one chain, so
    the query names no chain id: with it, SQLite without statistics walks the primary key's
    `chain_id` prefix instead, that is every event of the chain (docs/benchmarks.md, "Public API").
    """
    contribution = session.get(Contribution, (pool, asset_id))
    dispute = None
    suspensions: list[tuple[int, bool, int]] = []
    if contribution is not None and contribution.suspended_at:
        if contribution.suspended_by_dispute:
            dispute = session.get(Dispute, (pool, contribution.suspended_by_dispute))
        # A few rows per pool at most (one per upheld dispute or appeal).
        for e in session.exec(
            select(Event)
            .where(
                Event.address == pool,
                col(Event.event_name).in_(_SUSPENSION_EVENTS),
            )
            .order_by(col(Event.block_number), col(Event.log_index))
        ).all():
            if int(e.args["assetId"]) == asset_id:
                suspends = e.event_name == "AssetSuspended"
                suspensions.append((e.block_timestamp, suspends, int(e.args["disputeId"]) if suspends else 0))
    events = session.exec(
        select(Event)
        .where(
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
    return Evidence(contribution, dispute, [Term.from_event(e) for e in events], licences, times, suspensions)

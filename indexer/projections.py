"""Current-state tables from events: `apply` one event, `rebuild` every table from the raw events.

Rows a batch touches are read once into memory (`Store`, the unit of work in indexer/store.py),
changed there by the handlers below and written back in bulk before the batch commits.
Projections are a pure function of the ordered raw events, so rebuilding from them gives exactly
what incremental indexing gave.

Events with no state of their own (`RAW_ONLY_EVENTS`) live in the raw table only.

Longer than 400 lines on purpose: every event's rule is a handler here, and `_HANDLERS` maps each
event to its handler, so a rule is found in one place; with it, `READS` (what each handler reads
first, which the store fetches in bulk) and the undo log's replay, which restores what the
handlers changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from indexer.bulk import by_key, insert_rows
from indexer.schema import (
    PROJECTION_TABLES,
    Asset,
    Claim,
    Contribution,
    Dispute,
    Evaluation,
    Event,
    Founder,
    Licence,
    Member,
    Offer,
    ParameterChange,
    Patent,
    Payment,
    Pool,
    ProjectionUndo,
    Role,
    TierFee,
    TokenTransfer,
)
from indexer.store import Ev, Reads, Row, RowCache, Store, table_of, touch

__all__ = [
    "APPEND_ONLY_TABLES",
    "HANDLED_EVENTS",
    "RAW_ONLY_EVENTS",
    "RowCache",
    "Store",
    "apply",
    "rebuild",
    "undo_to",
]

_MAX_BIGINT = 2**63 - 1
#: Events kept in the raw table only: they change nothing the registry shows.
RAW_ONLY_EVENTS = frozenset(
    {
        "Initialized",
        "Approval",
        "ApprovalForAll",
        "RoleAdminChanged",
        "Unknown",
        # PatentAsset's record of the pools a family is in: the pools' own events (AssetContributed,
        # AssetWithdrawn) already project it into `contribution`.
        "PoolRegistered",
        "AssetEnteredPool",
        "AssetLeftPool",
    }
)

# --- event handlers ---------------------------------------------------------------------------------


def _int(value: Any) -> int:
    return int(value)


def _u64(value: Any) -> int:
    return min(int(value), _MAX_BIGINT)


def _ascii(hex_code: str) -> str:
    return bytes.fromhex(hex_code[2:]).decode("ascii", "replace")


def _pool(store: Store, ev: Ev, address: str | None = None) -> Row:
    row = store.get(Pool, address=address or ev.address)
    if row is None:
        row = store.add(Pool, address=address or ev.address, created_block=ev.block_number, created_tx=ev.tx_hash)
    return touch(row, ev)


Handler = Callable[[Store, Ev, Mapping[str, Any]], None]


def _pool_created(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = _pool(s, ev, a["pool"])
    row.update(
        pool_index=_int(a["index"]),
        operator=a["operator"],
        name=a["name"],
        kind=a["kind"],
        field=a["field"],
        payment_token=a["paymentToken"],
    )


def _pool_initialized(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    _pool(s, ev).update(
        name=a["name"],
        kind=a["kind"],
        field=a["field"],
        payment_token=a["paymentToken"],
        operator=a["operator"],
        asset_registry=a["assetRegistry"],
    )


def _tier_fee(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    touch(s.get_or_create(TierFee, pool=ev.address, tier=a["tier"]), ev)["annual_fee"] = _int(a["annualFee"])
    _pool(s, ev)
    _change_applied(s, ev, _TIER_FEE_0 + a["tier"])


def _qualification(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    _pool(s, ev).update(
        required_jurisdictions=[_ascii(j) for j in a["jurisdictions"]],
        min_granted=a["minGranted"],
        min_score_bps=a["minScoreBps"],
    )
    _change_applied(s, ev, _QUALIFICATION)


def _setter(
    column: str, arg: str, convert: Callable[[Any], Any] = lambda v: v, parameter: int | None = None
) -> Handler:
    """A handler setting one pool column; with `parameter`, also marking that parameter's
    announced change applied (the contract clears it when it puts a value in force)."""

    def handle(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
        _pool(s, ev)[column] = convert(a[arg])
        if parameter is not None:
            _change_applied(s, ev, parameter)

    return handle


#: IPatentPool.Parameter ids.
_OPERATOR_SHARE, _WITHDRAWAL_NOTICE, _MAX_LICENCE_LENGTH, _QUALIFICATION, _TIER_FEE_0 = range(5)
_DISPUTE_BOND = 7


def _change_applied(s: Store, ev: Ev, parameter: int) -> None:
    row = s.get(ParameterChange, pool=ev.address, parameter=parameter)
    if row is not None and row["status"] == "announced":
        touch(row, ev).update(status="applied", applied_at=ev.block_timestamp)


def _change_announced(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(ParameterChange, pool=ev.address, parameter=a["parameter"])
    touch(row, ev).update(
        value=_int(a["value"]),
        announced_at=ev.block_timestamp,
        effective_at=_u64(a["effectiveAt"]),
        status="announced",
        applied_at=0,
    )
    _pool(s, ev)


def _qualification_announced(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(ParameterChange, pool=ev.address, parameter=_QUALIFICATION)
    touch(row, ev).update(
        jurisdictions=[_ascii(j) for j in a["jurisdictions"]],
        min_granted=a["minGranted"],
        min_score_bps=a["minScoreBps"],
        announced_at=ev.block_timestamp,
        effective_at=_u64(a["effectiveAt"]),
        status="announced",
        applied_at=0,
    )
    _pool(s, ev)


def _bounds(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    _pool(s, ev).update(max_operator_share_bps=a["maxOperatorShareBps"], change_delay=_u64(a["changeDelay"]))


def _admin_transfer_begun(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    pending = a["newAdmin"]
    _pool(s, ev)["pending_admin"] = "" if int(pending, 16) == 0 else pending


def _paused(value: bool) -> Handler:
    def handle(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
        _pool(s, ev)["paused"] = value

    return handle


def _founder_admitted(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get(Founder, pool=ev.address, founder=a["founder"])
    if row is None:
        row = s.add(Founder, pool=ev.address, founder=a["founder"], admitted_block=ev.block_number)
        _pool(s, ev)["founder_count"] += 1
    touch(row, ev)


def _founder_weight(s: Store, ev: Ev, founder: str, delta: int, assets: int = 0) -> None:
    row = s.get_or_create(Founder, pool=ev.address, founder=founder)
    row["weight"] += delta
    row["asset_count"] += assets
    touch(row, ev)
    _pool(s, ev)["total_weight"] += delta


def _status(row: Row) -> str:
    if row["withdrawn_at"]:
        return "withdrawn"
    if row["suspended"]:
        return "suspended"
    if row["withdrawal_effective_at"]:
        return "withdrawing"
    return "active"


def _contributed(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    weight = _int(a["weight"])
    # New for sure: the pool refuses an asset that is, or was, in it (PatentPoolAssetAlreadyContributed).
    row = s.add(Contribution, pool=ev.address, asset_id=_int(a["assetId"]))
    row.update(
        founder=a["founder"],
        weight=weight,
        initial_weight=weight,
        granted_in_required=_int(a["grantedInRequired"]),
        score_bps=a["scoreBps"],
        contributed_at=ev.block_timestamp,
    )
    row["status"] = _status(touch(row, ev))
    _founder_weight(s, ev, a["founder"], weight, assets=1)
    _pool(s, ev)["asset_count"] += 1


def _contribution(s: Store, ev: Ev, asset_id: Any) -> Row:
    return touch(s.get_or_create(Contribution, pool=ev.address, asset_id=_int(asset_id)), ev)


def _withdrawal_announced(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = _contribution(s, ev, a["assetId"])
    row["withdrawal_effective_at"] = _u64(a["effectiveAt"])
    row["withdrawal_announced_at"] = ev.block_timestamp
    row["status"] = _status(row)


def _withdrawn(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = _contribution(s, ev, a["assetId"])
    weight = _int(a["weight"])
    row.update(weight=row["weight"] - weight, withdrawn_at=ev.block_timestamp)
    row["status"] = _status(row)
    _founder_weight(s, ev, a["founder"], -weight, assets=-1)


def _suspended(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = _contribution(s, ev, a["assetId"])
    weight = _int(a["weight"])
    row.update(
        weight=row["weight"] - weight,
        suspended=True,
        suspended_by_dispute=_int(a["disputeId"]),
        suspended_at=ev.block_timestamp,
    )
    row["status"] = _status(row)
    _founder_weight(s, ev, row["founder"], -weight)


def _suspension_lifted(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = _contribution(s, ev, a["assetId"])
    weight = _int(a["weight"])
    row.update(weight=row["weight"] + weight, suspended=False, lifted_at=ev.block_timestamp)
    row["status"] = _status(row)
    _founder_weight(s, ev, row["founder"], weight)


def _member_joined(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get(Member, pool=ev.address, member=a["member"])
    if row is None:
        row = s.add(Member, pool=ev.address, member=a["member"], joined_block=ev.block_number)
        _pool(s, ev)["member_count"] += 1
    row.update(
        tier=a["tier"],
        valid_from=_u64(a["validFrom"]),
        valid_until=_u64(a["validUntil"]),
        total_paid=row["total_paid"] + _int(a["fee"]),
    )
    touch(row, ev)


def _member_renewed(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Member, pool=ev.address, member=a["member"])
    row.update(
        tier=a["tier"],
        valid_from=_u64(a["validFrom"]),
        valid_until=_u64(a["validUntil"]),
        total_paid=row["total_paid"] + _int(a["fee"]),
        renewals=row["renewals"] + 1,
    )
    touch(row, ev)


def _offered(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.add(Offer, pool=ev.address, offer_id=_int(a["offerId"]))  # ids are a counter: new
    row.update(
        licensee=a["licensee"],
        asset_ids=[_int(x) for x in a["assetIds"]],
        start=_u64(a["start"]),
        end=_u64(a["end"]),
        price=_int(a["price"]),
        terms_hash=a["termsHash"],
        status="open",
    )
    touch(row, ev)
    _pool(s, ev)["offer_count"] += 1


def _offer_deadline(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Offer, pool=ev.address, offer_id=_int(a["offerId"]))
    touch(row, ev)["accept_by"] = _u64(a["acceptBy"])


def _offer_cancelled(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Offer, pool=ev.address, offer_id=_int(a["offerId"]))
    touch(row, ev)["status"] = "cancelled"


def _licence_granted(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    licence_id = _int(a["licenceId"])
    offer = s.get_or_create(Offer, pool=ev.address, offer_id=_int(a["offerId"]))
    touch(offer, ev).update(status="accepted", licence_id=licence_id)
    row = s.add(Licence, pool=ev.address, licence_id=licence_id)  # ids are a counter: new
    row.update(
        offer_id=_int(a["offerId"]),
        licensee=a["licensee"],
        asset_ids=list(offer["asset_ids"]),
        whole_pool=not offer["asset_ids"],
        start=_u64(a["start"]),
        end=_u64(a["end"]),
        price=_int(a["price"]),
        granted_at=ev.block_timestamp,
        status="active",
    )
    touch(row, ev)
    _pool(s, ev)["licence_count"] += 1


def _licence_revoked(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Licence, pool=ev.address, licence_id=_int(a["licenceId"]))
    touch(row, ev).update(status="revoked", reason_hash=a["reasonHash"], revoked_at=ev.block_timestamp)


def _revenue(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    s.append(
        Payment,
        ev,
        pool=ev.address,
        payer=a["payer"],
        amount=_int(a["amount"]),
        operator_amount=_int(a["operatorAmount"]),
        founder_amount=_int(a["founderAmount"]),
        unallocated_amount=_int(a["unallocatedAmount"]),
        acc_revenue_per_weight=_int(a["accRevenuePerWeight"]),
        paid_at=ev.block_timestamp,
    )
    pool = _pool(s, ev)
    pool["total_revenue"] += _int(a["amount"])
    pool["acc_revenue_per_weight"] = _int(a["accRevenuePerWeight"])


def _claimed(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    s.append(
        Claim,
        ev,
        pool=ev.address,
        account=a["account"],
        amount=_int(a["amount"]),
        claimed_at=ev.block_timestamp,
    )
    _pool(s, ev)["total_claimed"] += _int(a["amount"])


def _dispute_opened(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.add(Dispute, pool=ev.address, dispute_id=_int(a["disputeId"]))  # ids are a counter: new
    row.update(asset_id=_int(a["assetId"]), challenger=a["challenger"], evidence_hash=a["evidenceHash"], status="open")
    touch(row, ev)
    _pool(s, ev)["dispute_count"] += 1


def _dispute_resolved(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Dispute, pool=ev.address, dispute_id=_int(a["disputeId"]))
    row.update(
        asset_id=_int(a["assetId"]),
        status="upheld" if a["upheld"] else "dismissed",
        arbiter=a["arbiter"],
        ruling_hash=a["rulingHash"],
    )
    touch(row, ev)


def _bond_posted(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    amount = _int(a["amount"])
    touch(s.get_or_create(Dispute, pool=ev.address, dispute_id=_int(a["disputeId"])), ev)["bond"] = amount
    _pool(s, ev)["bonds_held"] += amount


def _bond_released(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    amount = _int(a["amount"])
    touch(s.get_or_create(Dispute, pool=ev.address, dispute_id=_int(a["disputeId"])), ev)["bond_released_to"] = a["to"]
    _pool(s, ev)["bonds_held"] -= amount


def _asset(s: Store, ev: Ev, asset_id: Any) -> Row:
    return touch(s.get_or_create(Asset, asset_id=_int(asset_id)), ev)


def _family_registered(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    _asset(s, ev, a["assetId"]).update(
        owner=a["owner"],
        family_id=a["familyId"],
        title=a["title"],
        dossier_hash=a["dossierHash"],
        dossier_uri=a["dossierURI"],
        registered_block=ev.block_number,
    )


def _family_rejected(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    claimant = a["claimant"] if int(a["claimant"], 16) else ""  # zero: anyone may register the id
    _asset(s, ev, a["assetId"]).update(rejected=True, family_id_claimant=claimant)


def _dossier_updated(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    _asset(s, ev, a["assetId"]).update(dossier_hash=a["dossierHash"], dossier_uri=a["dossierURI"])


def _patent_added(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    # New for sure: a family's patent indexes only grow.
    row = s.add(Patent, asset_id=_int(a["assetId"]), patent_index=_int(a["index"]))
    row.update(jurisdiction=_ascii(a["jurisdiction"]), publication_number=a["publicationNumber"], status=0)
    touch(row, ev)
    _asset(s, ev, a["assetId"])["patent_count"] += 1


def _patent_verified(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Patent, asset_id=_int(a["assetId"]), patent_index=_int(a["index"]))
    row.update(
        jurisdiction=_ascii(a["jurisdiction"]),
        status=a["status"],
        grant_date=_u64(a["grantDate"]),
        expiry_date=_u64(a["expiryDate"]),
        verifier=a["verifier"],
    )
    touch(row, ev)


def _patent_rejected(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Patent, asset_id=_int(a["assetId"]), patent_index=_int(a["index"]))
    row.update(status=_REJECTED, grant_date=0, expiry_date=0, verifier=a["verifier"])
    touch(row, ev)


def _patent_expired(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = s.get_or_create(Patent, asset_id=_int(a["assetId"]), patent_index=_int(a["index"]))
    row["status"] = _LAPSED  # its dates and verifier stay as the verifier attested them
    touch(row, ev)


def _reweighed(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    row = _contribution(s, ev, a["assetId"])
    old, new = _int(a["oldWeight"]), _int(a["newWeight"])
    row["weight"] = new
    _founder_weight(s, ev, a["founder"], new - old)


def _founder_changed(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    """The asset followed its token to a new holder: its weight (0 while suspended) and its place in
    the founders' asset counts move from the seller to the buyer, from this event on."""
    row = _contribution(s, ev, a["assetId"])
    row["founder"] = a["to"]
    weight = _int(a["weight"])
    _founder_weight(s, ev, a["from"], -weight, assets=-1)
    _founder_weight(s, ev, a["to"], weight, assets=1)


def _evaluation(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    s.append(
        Evaluation,
        ev,
        asset_id=_int(a["assetId"]),
        evaluator=a["evaluator"],
        score_bps=a["scoreBps"],
        report_hash=a["reportHash"],
        model_version=a["modelVersion"],
        evaluated_at=ev.block_timestamp,
    )
    _asset(s, ev, a["assetId"]).update(
        score_bps=a["scoreBps"],
        evaluator=a["evaluator"],
        model_version=a["modelVersion"],
        evaluated_at=ev.block_timestamp,
    )


def _transfer(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
    if "tokenId" in a:  # ERC-721: a PatentAsset family changed hands
        _asset(s, ev, a["tokenId"])["owner"] = a["to"]
        return
    s.append(
        TokenTransfer,
        ev,
        token=ev.address,
        from_address=a["from"],
        to_address=a["to"],
        value=_int(a["value"]),
    )


_DEFAULT_ADMIN_ROLE = "0x" + "00" * 32
#: IPatentAsset.PatentStatus.Lapsed and .Rejected.
_LAPSED, _REJECTED = 2, 4


def _role(active: bool) -> Handler:
    def handle(s: Store, ev: Ev, a: Mapping[str, Any]) -> None:
        row = s.get_or_create(Role, contract=ev.address, role=a["role"], account=a["account"])
        row.update(active=active, granted_by=a["sender"] if active else row["granted_by"])
        touch(row, ev)
        if active and a["role"] == _DEFAULT_ADMIN_ROLE:
            # A pool's default admin changes hands by acceptance: the offer is then used up.
            pool = s.get(Pool, address=ev.address)
            if pool is not None and pool["pending_admin"] == a["account"]:
                touch(pool, ev)["pending_admin"] = ""

    return handle


_HANDLERS: dict[str, Handler] = {
    "PoolCreated": _pool_created,
    "PoolInitialized": _pool_initialized,
    "TierFeeSet": _tier_fee,
    "QualificationSet": _qualification,
    "OperatorShareSet": _setter("operator_share_bps", "bps", parameter=_OPERATOR_SHARE),
    "TerritorySet": _setter("territory", "territory"),
    "TreasurySet": _setter("treasury", "treasury"),
    "WithdrawalNoticeSet": _setter("withdrawal_notice", "noticePeriod", _u64, parameter=_WITHDRAWAL_NOTICE),
    "MaxLicenceLengthSet": _setter("max_licence_length", "maxLength", _u64, parameter=_MAX_LICENCE_LENGTH),
    "DisputeBondSet": _setter("dispute_bond", "bond", _int, parameter=_DISPUTE_BOND),
    "PoolBoundsSet": _bounds,
    "ParameterChangeAnnounced": _change_announced,
    "QualificationChangeAnnounced": _qualification_announced,
    "DefaultAdminTransferBegun": _admin_transfer_begun,
    "LifecycleChanged": _setter("lifecycle", "to"),
    "Paused": _paused(True),
    "Unpaused": _paused(False),
    "FounderAdmitted": _founder_admitted,
    "AssetContributed": _contributed,
    "AssetWithdrawalAnnounced": _withdrawal_announced,
    "AssetWithdrawn": _withdrawn,
    "AssetSuspended": _suspended,
    "SuspensionLifted": _suspension_lifted,
    "AssetReweighed": _reweighed,
    "AssetFounderChanged": _founder_changed,
    "MemberJoined": _member_joined,
    "MembershipRenewed": _member_renewed,
    "LicenceOffered": _offered,
    "OfferCancelled": _offer_cancelled,
    "LicenceOfferDeadline": _offer_deadline,
    "LicenceGranted": _licence_granted,
    "LicenceRevoked": _licence_revoked,
    "RevenueReceived": _revenue,
    "RevenueClaimed": _claimed,
    "DisputeOpened": _dispute_opened,
    "DisputeResolved": _dispute_resolved,
    "DisputeBondPosted": _bond_posted,
    "DisputeBondReleased": _bond_released,
    "FamilyRegistered": _family_registered,
    "FamilyRejected": _family_rejected,
    "DossierUpdated": _dossier_updated,
    "PatentAdded": _patent_added,
    "PatentVerified": _patent_verified,
    "PatentRejected": _patent_rejected,
    "PatentExpired": _patent_expired,
    "EvaluationRecorded": _evaluation,
    "Transfer": _transfer,
    "RoleGranted": _role(True),
    "RoleRevoked": _role(False),
}

#: Events that change a current-state table.
HANDLED_EVENTS = frozenset(_HANDLERS)

#: The row a frequent event reads first, by table and primary key (in key order), for
#: `Store.prefetch`: a batch reads those rows in one query per table, not one SELECT each. Rows
#: not listed are still read when a handler asks for them.
READS: dict[str, Reads] = {
    "MemberJoined": lambda ev, a: (Member, (ev.address, a["member"])),
    "MembershipRenewed": lambda ev, a: (Member, (ev.address, a["member"])),
}


def apply(store: Store, event: Ev) -> None:
    """Apply one event (a row of the `event` table) to the projections."""
    handler = _HANDLERS.get(event.event_name)
    if handler is not None:
        handler(store, event, event.args)


#: Told (events replayed so far, events in all) after each chunk of a rebuild.
Progress = Callable[[int, int], None]


def rebuild(conn: Connection, on_progress: Progress | None = None) -> int:
    """Empty every projection table and replay the raw events in chain order; returns the count.
    `on_progress` hears how far the replay got after each chunk of events."""
    for model in PROJECTION_TABLES:
        conn.execute(sa.delete(table_of(model)))
    total = int(conn.execute(sa.select(sa.func.count()).select_from(table_of(Event))).scalar_one())
    if on_progress is not None:
        on_progress(0, total)
    return _replay(Store(conn, empty=True), conn, 0, 1 << 62, on_progress=on_progress, total=total)


_UNDO = table_of(ProjectionUndo)
#: Tables whose rows are one per event, keyed by (block number, log index): never updated.
APPEND_ONLY_TABLES: tuple[type[SQLModel], ...] = (Payment, Claim, Evaluation, TokenTransfer)
_BY_NAME = {table_of(model).name: model for model in PROJECTION_TABLES}


def _replay(
    store: Store,
    conn: Connection,
    first: int,
    last: int,
    chunk: int = 20_000,
    on_progress: Progress | None = None,
    total: int = 0,
) -> int:
    """Apply the raw events of blocks [first, last] in chain order; returns how many. After each
    chunk, `on_progress` hears (events so far, `total`)."""
    table = table_of(Event)
    count = 0
    after = (first - 1, 1 << 62)
    while True:
        position = sa.tuple_(table.c.block_number, table.c.log_index)
        query = (
            sa.select(table)
            .where(position > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])), table.c.block_number <= last)
            .order_by(table.c.block_number, table.c.log_index)
            .limit(chunk)
        )
        events = conn.execute(query).all()
        if not events:
            return count
        for event in events:
            apply(store, cast(Ev, event))
        store.flush()
        count += len(events)
        if on_progress is not None:
            on_progress(count, total)
        after = (events[-1].block_number, events[-1].log_index)


def undo_to(conn: Connection, ancestor: int, checkpoint: int) -> tuple[int, int] | None:
    """Bring the projections back to block `ancestor` with the undo log: restore every row recent
    batches changed to its state before the oldest batch above `ancestor`, then replay the raw
    events from that batch's first block to `ancestor`. Returns (rows restored, events replayed),
    or None when the log does not cover every batch above `ancestor` up to `checkpoint` (the
    caller then rebuilds everything). Raw events above `ancestor` must be gone already."""
    markers = conn.execute(
        sa.select(_UNDO.c.batch_first, _UNDO.c.batch_end)
        .where(_UNDO.c.seq == 0, _UNDO.c.batch_end > ancestor)
        .order_by(_UNDO.c.batch_first)
    ).all()
    if not markers or markers[0][0] > ancestor + 1 or markers[-1][1] != checkpoint:
        return None
    if any(later[0] != earlier[1] + 1 for earlier, later in pairwise(markers)):
        return None
    first = int(markers[0][0])
    oldest: dict[tuple[str, tuple[Any, ...]], Row | None] = {}
    records = conn.execute(
        sa.select(_UNDO.c.table_name, _UNDO.c.key, _UNDO.c.image)
        .where(_UNDO.c.batch_first >= first, _UNDO.c.seq > 0)
        .order_by(_UNDO.c.batch_first.desc())
    )
    for name, key, image in records:
        oldest[(name, tuple(key))] = image  # the oldest batch's image wins
    for model in APPEND_ONLY_TABLES:
        table = table_of(model)
        conn.execute(sa.delete(table).where(table.c.block_number >= first))
    keys: dict[type[SQLModel], list[dict[str, Any]]] = {}
    images: dict[type[SQLModel], list[Row]] = {}
    for (name, key), image in oldest.items():
        model = _BY_NAME[name]
        keys.setdefault(model, []).append({f"pk_{n}": v for n, v in zip(Store._pk(model), key, strict=True)})
        if image is not None:
            images.setdefault(model, []).append(image)
    for model, params in keys.items():  # one executemany DELETE per table, then the images back
        table = table_of(model)
        conn.execute(sa.delete(table).where(by_key(table)), params)
        insert_rows(conn, table, images.get(model, []))
    conn.execute(sa.delete(_UNDO).where(_UNDO.c.batch_first >= first))
    replayed = 0
    if first <= ancestor:
        store = Store(conn, record=True)
        replayed = _replay(store, conn, first, ancestor)
        insert_rows(conn, _UNDO, store.undo_rows(first, ancestor))
    return len(oldest), replayed

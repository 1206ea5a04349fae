"""`/v1/pools/{address}/offers`, `/v1/pools/{address}/licences` and `/v1/licences/verify`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlmodel import Session, col, select

from api.deps import IndexedDep, SessionDep, StateDep, indexed_block, read_checkpoint
from api.licensing import REASONS, ReasonCode, Term, Verdict, explain, read_evidence
from api.models import Amount, ApiModel, Item, Page, Provenance, Time, amount, provenance, time_of
from api.pagination import PageParamsDep, page
from api.problems import PROBLEM_RESPONSES, Problem, ProblemDetail
from api.queries import TIERS, AddressPath, indexed_time, name_of, parse_address, pool_or_404, pool_token
from api.responses import CSV_RESPONSE, FormatQuery, respond
from indexer.schema import Asset, Block, Licence, Offer

router = APIRouter(prefix="/v1", tags=["licences"], responses=PROBLEM_RESPONSES)

#: The latest `at` accepted: 9999-12-31T23:59:59Z. Beyond it a value is far more likely a
#: timestamp in milliseconds (1.7e12 is the year 55,000) than a moment anyone means.
MAX_AT = 253_402_300_799
_EXAMPLE_POOL = "0xa16E02E87b7454126E5E10d957A927A7F5B5d2be"
_EXAMPLE_LICENSEE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
_UNIX = re.compile(r"[0-9]+")


class OfferOut(ApiModel):
    """A unified licence the operator offered to one licensee, and what became of it."""

    pool: str
    offer_id: int
    licensee: str
    asset_ids: list[int] = Field(description="The assets it names; empty for a whole-pool offer.")
    whole_pool: bool
    start: Time | None
    end: Time | None
    price: Amount
    terms_hash: str
    status: str = Field(examples=["open", "cancelled", "accepted"])
    licence_id: int | None = Field(description="The licence its acceptance granted (null unless accepted).")
    provenance: Provenance


class LicenceOut(ApiModel):
    """A unified licence granted by accepting an offer (revoked ones included, with the reason hash)."""

    pool: str
    licence_id: int
    offer_id: int
    licensee: str
    asset_ids: list[int] = Field(description="The assets it covers; empty for a whole-pool licence.")
    whole_pool: bool
    start: Time | None
    end: Time | None
    price: Amount
    granted_at: Time | None
    status: str = Field(examples=["active", "revoked"])
    reason_hash: str | None = Field(description="The operator's reason for revoking it (null unless revoked).")
    revoked_at: Time | None = Field(
        description="When it was revoked (the time of its LicenceRevoked log's block): it covers nothing from then "
        "on, and still covers the times before."
    )
    current: bool = Field(description="Unrevoked and running at the latest indexed block's time.")
    provenance: Provenance = Field(description="The licence's last change: its grant, or its revocation.")


@router.get("/pools/{address}/offers", response_model=Page[OfferOut], responses=CSV_RESPONSE)
def list_offers(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    status: Annotated[
        Literal["open", "cancelled", "accepted"] | None, Query(description="Only offers in this state.")
    ] = None,
    licensee: Annotated[str | None, Query(max_length=64, description="Only offers to this address.")] = None,
    fmt: FormatQuery = None,
) -> Page[OfferOut] | StreamingResponse:
    """A pool's licence offers, by offer id."""
    pool = pool_or_404(session, address)
    token = pool_token(state.chain, pool)
    query = select(Offer).where(Offer.pool == pool.address)
    if status is not None:
        query = query.where(Offer.status == status)
    if licensee is not None:
        query = query.where(Offer.licensee == parse_address(licensee, "licensee"))
    rows, cursor = page(session, query, [Offer.offer_id], params, f"offers:{pool.address}")
    data = [
        OfferOut(
            pool=o.pool,
            offer_id=o.offer_id,
            licensee=o.licensee,
            asset_ids=list(o.asset_ids),
            whole_pool=not o.asset_ids,
            start=time_of(o.start),
            end=time_of(o.end),
            price=amount(o.price, token),
            terms_hash=o.terms_hash,
            status=o.status,
            licence_id=o.licence_id or None,
            provenance=provenance(o, indexed.chain_id),
        )
        for o in rows
    ]
    return respond(request, Page[OfferOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


def _revoked_at(session: Session, licences: list[Licence]) -> dict[int, int]:
    """Block number -> timestamp of the blocks the revoked licences were revoked in."""
    numbers = sorted({row.block_number for row in licences if row.status == "revoked"})
    if not numbers:
        return {}
    rows = session.exec(select(Block).where(col(Block.number).in_(numbers))).all()
    return {row.number: row.timestamp for row in rows}


def licence_out(
    row: Licence, chain_id: int, token: tuple[int, str] | None, now: int, block_times: dict[int, int]
) -> LicenceOut:
    revoked = row.status == "revoked"
    return LicenceOut(
        pool=row.pool,
        licence_id=row.licence_id,
        offer_id=row.offer_id,
        licensee=row.licensee,
        asset_ids=list(row.asset_ids),
        whole_pool=row.whole_pool,
        start=time_of(row.start),
        end=time_of(row.end),
        price=amount(row.price, token),
        granted_at=time_of(row.granted_at),
        status=row.status,
        reason_hash=(row.reason_hash or None) if revoked else None,
        current=not revoked and row.start <= now < row.end,
        revoked_at=time_of(row.revoked_at or block_times.get(row.block_number, 0)) if revoked else None,
        provenance=provenance(row, chain_id),
    )


@router.get("/pools/{address}/licences", response_model=Page[LicenceOut], responses=CSV_RESPONSE)
def list_licences(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    status: Annotated[Literal["active", "revoked"] | None, Query(description="Only licences in this state.")] = None,
    licensee: Annotated[str | None, Query(max_length=64, description="Only licences held by this address.")] = None,
    fmt: FormatQuery = None,
) -> Page[LicenceOut] | StreamingResponse:
    """A pool's unified licences, revoked ones included, by licence id."""
    pool = pool_or_404(session, address)
    token = pool_token(state.chain, pool)
    query = select(Licence).where(Licence.pool == pool.address)
    if status is not None:
        query = query.where(Licence.status == status)
    if licensee is not None:
        query = query.where(Licence.licensee == parse_address(licensee, "licensee"))
    rows, cursor = page(session, query, [Licence.licence_id], params, f"licences:{pool.address}")
    now = indexed_time(session, indexed.block_number)
    times = _revoked_at(session, rows)
    data = [licence_out(row, indexed.chain_id, token, now, times) for row in rows]
    return respond(request, Page[LicenceOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


# ------------------------------------------------------------------ verify


class TermOut(ApiModel):
    """A membership term, as its MemberJoined or MembershipRenewed log recorded it."""

    event: str = Field(examples=["MemberJoined", "MembershipRenewed"])
    tier: str = Field(examples=["sme"])
    fee: Amount
    valid_from: Time | None
    valid_until: Time | None
    paid_at: Time | None = Field(description="When it was paid: the time of the block of its log.")
    provenance: Provenance


class AssetStanding(ApiModel):
    """The asset's standing in the pool, as the mirror holds it."""

    asset_id: int
    status: str = Field(examples=["active", "withdrawing", "withdrawn", "suspended"])
    contributed_at: Time | None
    withdrawal_announced_at: Time | None = Field(
        description="When its withdrawal was announced: terms and licences paid later cover it only until "
        "withdrawalEffectiveAt."
    )
    withdrawal_effective_at: Time | None
    withdrawn_at: Time | None
    suspended: bool
    suspended_by_dispute: int | None
    suspended_at: Time | None = Field(
        description="When the upheld dispute suspended it: it is licensed to nobody from then on; earlier moments "
        "keep their answer."
    )
    provenance: Provenance


class DisputeOut(ApiModel):
    """The dispute whose upheld ruling suspended the asset."""

    dispute_id: int
    challenger: str
    evidence_hash: str
    status: str = Field(examples=["upheld"])
    arbiter: str
    ruling_hash: str
    provenance: Provenance


class Reason(ApiModel):
    """Why, by the mirror: `isLicensed`'s rule re-applied to the indexed rows, and the rows it used."""

    code: ReasonCode
    explanation: str = Field(description="The reason in one sentence.")
    membership: TermOut | None = Field(description="The covering term (or the one that ended or was paid too late).")
    licence: LicenceOut | None = Field(description="The covering licence (or the one that ended or was paid too late).")
    revoked_licences: list[LicenceOut] = Field(description="Revoked licences that would otherwise cover the moment.")
    asset: AssetStanding | None = Field(description="Null when the asset was never contributed to this pool.")
    dispute: DisputeOut | None = Field(description="The upheld dispute that suspended the asset, if any.")


class Verification(ApiModel):
    """The chain's answer to isLicensed(licensee, asset, at), the mirror's answer beside it, and why."""

    pool: str
    licensee: str
    asset_id: int
    at: Time = Field(description="The moment asked about (default: the time of the block read).")
    licensed: bool = Field(description="The chain's own answer: isLicensed by eth_call at blockNumber.")
    block_number: int = Field(description="The block the chain was asked at (its latest).")
    block_hash: str
    block_time: Time
    indexed_licensed: bool = Field(description="The answer by the mirror's rows (the rule re-applied in Python).")
    indexed_block_number: int = Field(description="The indexed block the mirror's answer reflects.")
    indexed_block_hash: str
    agree: bool = Field(description="Whether the chain's and the mirror's answers are the same.")
    agreement: str = Field(description="The comparison in words; says so, and the likely cause, when they differ.")
    reason: Reason


def parse_at(text: str | None) -> int | None:
    """`at` as unix seconds (None when absent); a 422 problem when malformed or out of range."""
    value = (text or "").strip()
    if not value:
        return None
    if _UNIX.fullmatch(value.removeprefix("-")):
        seconds = int(value)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Problem(
                422,
                f"at must be unix seconds or an ISO 8601 date or date-time (2026-01-31, 2026-01-31T12:00:00Z), "
                f"not {value[:64]!r}",
                kind="invalid-parameter",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = int(moment.timestamp())
    if seconds < 0:
        raise Problem(422, f"at must not be before 1970-01-01T00:00:00Z (unix 0), not {value[:64]!r}", kind="at-range")
    if seconds > MAX_AT:
        raise Problem(
            422,
            f"at={value[:64]} is after 9999-12-31T23:59:59Z (unix {MAX_AT}), the latest accepted; "
            "give unix seconds (a value like 1700000000000 is in milliseconds: divide it by 1000)",
            kind="at-range",
        )
    return seconds


def _moment(ts: int) -> Time:
    return Time(unix=ts, iso=datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _agreement(chain: bool, mirror: bool, head: int, indexed: int) -> str:
    said = {True: "licensed", False: "not licensed"}
    if chain == mirror:
        text = f"The mirror agrees with the chain: {said[chain]}."
        if indexed < head:
            text += f" The mirror is {head - indexed} blocks behind the chain (indexed block {indexed})."
        return text
    text = (
        f"MISMATCH: the chain says {said[chain]} at block {head}, but the mirror says {said[mirror]} "
        f"as of indexed block {indexed}. "
    )
    if indexed < head:
        return text + (
            f"The mirror is {head - indexed} blocks behind the chain: a change in those blocks is not indexed yet. "
            "The chain's answer is the one that holds."
        )
    return text + (
        "The mirror is not behind the chain, so this is a fault to report (a reorganisation the indexer has not "
        "followed yet, or an error in the mirror). The chain's answer is the one that holds."
    )


def _term_out(term: Term, chain_id: int, token: tuple[int, str] | None) -> TermOut:
    return TermOut(
        event=term.event_name,
        tier=name_of(TIERS, term.tier),
        fee=amount(term.fee, token),
        valid_from=time_of(term.valid_from),
        valid_until=time_of(term.valid_until),
        paid_at=time_of(term.paid_at),
        provenance=Provenance(
            chain_id=chain_id,
            tx_hash=term.tx_hash,
            block_number=term.block_number,
            block_hash=term.block_hash,
            log_index=term.log_index,
        ),
    )


def _reason(
    verdict: Verdict, chain_id: int, token: tuple[int, str] | None, now: int, block_times: dict[int, int]
) -> Reason:
    c = verdict.contribution
    d = verdict.dispute
    return Reason(
        code=verdict.code,
        explanation=verdict.explanation,
        membership=_term_out(verdict.term, chain_id, token) if verdict.term else None,
        licence=licence_out(verdict.licence, chain_id, token, now, block_times) if verdict.licence else None,
        revoked_licences=[licence_out(row, chain_id, token, now, block_times) for row in verdict.revoked],
        asset=AssetStanding(
            asset_id=c.asset_id,
            status=c.status,
            contributed_at=time_of(c.contributed_at),
            withdrawal_announced_at=time_of(c.withdrawal_announced_at),
            withdrawal_effective_at=time_of(c.withdrawal_effective_at),
            withdrawn_at=time_of(c.withdrawn_at),
            suspended=c.suspended,
            suspended_by_dispute=c.suspended_by_dispute or None,
            suspended_at=time_of(c.suspended_at) if c.suspended else None,
            provenance=provenance(c, chain_id),
        )
        if c is not None
        else None,
        dispute=DisputeOut(
            dispute_id=d.dispute_id,
            challenger=d.challenger,
            evidence_hash=d.evidence_hash,
            status=d.status,
            arbiter=d.arbiter,
            ruling_hash=d.ruling_hash,
            provenance=provenance(d, chain_id),
        )
        if d is not None
        else None,
    )


_REASON_LIST = "\n".join(f"* `{code}`: {text}" for code, text in REASONS.items())

VERIFY_DESCRIPTION = f"""\
Asks the chain itself: reads the latest block (number and hash), then calls
`PatentPool.isLicensed(licensee, asset, at)` by `eth_call` at that block number; `licensed`,
`blockNumber` and `blockHash` are that answer, the same `cast call` gives at that block.

Beside it, the mirror's answer: the contract's rule re-applied in Python to the indexed rows
(membership terms from the raw MemberJoined / MembershipRenewed logs, unified licences, the asset's
standing), with the indexed block it reflects, `agree`, and `agreement` in words. A mismatch is
never hidden (typically the mirror is behind the chain).

`reason.code` says why, by the mirror:

{_REASON_LIST}

`at` is unix seconds or an ISO 8601 date or date-time (UTC unless it says otherwise); absent, it is
the time of the block read. It must lie between 1970 and the end of 9999: a larger number is
refused (422) rather than read as milliseconds. An unknown pool or asset is a 404, not
"not licensed". The answer is read live: `Cache-Control: no-store`, no ETag.
"""

_DOC_502 = {
    "model": ProblemDetail,
    "description": "The node did not answer the eth_call.",
    "content": {"application/problem+json": {}},
}


@router.get(
    "/licences/verify",
    response_model=Item[Verification],
    summary="Is this address licensed for this asset? The chain's answer, and why",
    description=VERIFY_DESCRIPTION,
    responses={502: _DOC_502},
)
def verify_licence(
    response: Response,
    session: SessionDep,
    state: StateDep,
    pool: Annotated[
        str,
        Query(min_length=1, max_length=64, description="The pool's address.", examples=[_EXAMPLE_POOL]),
    ],
    licensee: Annotated[
        str,
        Query(min_length=1, max_length=64, description="The address asked about.", examples=[_EXAMPLE_LICENSEE]),
    ],
    asset: Annotated[int, Query(ge=0, le=2**63 - 1, description="The asset id (a patent family).", examples=[3])],
    at: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The moment: unix seconds or ISO 8601 (default: the time of the block read).",
            examples=["2026-06-30", "1782777600"],
        ),
    ] = None,
) -> Item[Verification]:
    """The chain's answer to isLicensed, read live, with the mirror's answer and the reason."""
    when = parse_at(at)
    checkpoint = read_checkpoint(session)
    pool_row = pool_or_404(session, pool)
    who = parse_address(licensee, "licensee")
    if session.get(Asset, asset) is None:
        raise Problem(404, f"no asset {asset} in this registry", kind="unknown-asset")
    evidence = read_evidence(session, pool_row.address, who, asset)
    now = indexed_time(session, checkpoint.block_number)

    head = state.chain.head()
    moment = head.timestamp if when is None else when
    licensed = bool(
        state.chain.call("PatentPool", pool_row.address, "isLicensed", who, asset, moment, block=head.number)
    )

    verdict = explain(who, asset, moment, evidence)
    token = pool_token(state.chain, pool_row)
    response.headers.update(
        {
            "Cache-Control": "no-store",
            "X-Indexed-Block": str(checkpoint.block_number),
            "X-Indexed-Block-Hash": checkpoint.block_hash,
        }
    )
    indexed = indexed_block(checkpoint)
    data = Verification(
        pool=pool_row.address,
        licensee=who,
        asset_id=asset,
        at=_moment(moment),
        licensed=licensed,
        block_number=head.number,
        block_hash=head.hash,
        block_time=_moment(head.timestamp),
        indexed_licensed=verdict.licensed,
        indexed_block_number=checkpoint.block_number,
        indexed_block_hash=checkpoint.block_hash,
        agree=licensed == verdict.licensed,
        agreement=_agreement(licensed, verdict.licensed, head.number, checkpoint.block_number),
        reason=_reason(verdict, checkpoint.chain_id, token, now, evidence.block_times),
    )
    return Item[Verification](data=data, indexed=indexed)

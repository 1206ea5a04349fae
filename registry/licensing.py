"""Whether an account is licensed for an asset of a pool, and why: the chain's answer with its reason.

The verdict is the contract's own (`PatentPool.isLicensed` at one block); the reason is the
contract's rule (contracts v2, docs/contracts.md) re-applied to what the chain holds at that same
block, with the reason codes of the API's mirror-based explanation (`api/licensing.py`):

- `poolAsset`: never contributed (`asset_not_in_pool`), contributed after the moment
  (`asset_not_yet_in_pool`), under a suspension at the moment (`asset_suspended`: `isSuspended`,
  from an upheld dispute's time until the suspension is lifted on appeal; the latest suspension's
  dispute found by walking the `dispute` views back from the latest),
  withdrawn, or its announced withdrawal in effect, for what was paid too late (`asset_withdrawn`);
- the licensee's membership terms, from its `MemberJoined` / `MembershipRenewed` logs up to the
  block (the contract keeps them in a checkpoint list it does not expose; `membership` gives the
  latest term's end): the term starting last at or before the moment decides (`membership`,
  `membership_ended`, `not_member`);
- `licence` and `offerAssets`: the licensee's unified licences per scope (whole pool, or the
  asset), where the licence starting last at or before the moment decides, as the contract's
  checkpoints do: `licence`, `licence_ended`, `licence_revoked` (covers until `revokedAt`),
  `asset_joined_after_licence` (a whole-pool licence covers only the assets contributed by its
  grant).

The chain keeps no per-licensee list of licences in a view, so the licences are read one by one
(`counts().licences` calls, batched): fine for one question from a terminal; the API answers in bulk
from its mirror.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import BlockNotFound

from registry.client import contract_at
from registry.errors import RegistryError

__all__ = [
    "COVERED",
    "REASONS",
    "LicenceCheck",
    "LicenceFault",
    "NotAPool",
    "ReasonCode",
    "UnknownAsset",
    "UnknownBlock",
    "binds",
    "check_licence",
    "licence_fault",
    "withdrawal_said",
]

#: Why an address is or is not licensed: the codes of this chain-side check and of the API's
#: mirror-side one (api/licensing.py), kept in this one place.
ReasonCode = Literal[
    "membership",
    "licence",
    "not_member",
    "membership_ended",
    "licence_ended",
    "licence_revoked",
    "asset_not_in_pool",
    "asset_not_yet_in_pool",
    "asset_withdrawn",
    "asset_suspended",
    "asset_joined_after_licence",
]

#: Each reason code and what it means, for the OpenAPI description.
REASONS: dict[str, str] = {
    "membership": "licensed: a membership term (join or renewal) covers the moment",
    "licence": "licensed: an unrevoked unified licence (whole pool, or naming the asset) covers the moment",
    "not_member": "not licensed: no membership term or licence of this address had begun by then",
    "membership_ended": "not licensed: the address was a member, but its latest term had ended by then",
    "licence_ended": "not licensed: the address held a licence, but it had ended by then",
    "licence_revoked": "not licensed: a licence that would cover the moment was revoked by the operator at or "
    "before that moment (it still covers the times before its revocation)",
    "asset_not_in_pool": "not licensed: the asset was never contributed to this pool",
    "asset_not_yet_in_pool": "not licensed: the asset was contributed to the pool after that moment",
    "asset_withdrawn": "not licensed: the covering term or licence was paid after the asset was withdrawn, or after "
    "its withdrawal was announced and the moment is on or after the withdrawal's effective date",
    "asset_suspended": "not licensed: an upheld dispute's suspension of the asset was in force at that moment "
    "(from the ruling until a lifting on appeal, if any; other moments keep their answer)",
    "asset_joined_after_licence": "not licensed: the covering licence is a whole-pool licence accepted before the "
    "asset was contributed (it covers only the assets in the pool when it was accepted)",
}

#: The codes under which the address is licensed.
COVERED: frozenset[str] = frozenset({"membership", "licence"})

_UPHELD = 2


class NotAPool(RegistryError):
    """The address holds no PatentPool (no code, or a contract that does not answer the pool's views)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"{address} is not a PatentPool: {reason}")
        self.address = address


class UnknownAsset(RegistryError):
    """The asset id was never minted by the pool's PatentAsset registry."""

    def __init__(self, asset_id: int, registry: str, total: int) -> None:
        super().__init__(f"asset {asset_id} does not exist: the PatentAsset registry {registry} has {total} asset(s)")
        self.asset_id = asset_id
        self.total = total


class UnknownBlock(RegistryError):
    """The block asked about is not on the chain (yet)."""

    def __init__(self, block: int, latest: int) -> None:
        super().__init__(f"block {block} does not exist: the chain's latest block is {latest}")
        self.block = block
        self.latest = latest


@dataclass(frozen=True)
class LicenceCheck:
    """The contract's answer for (pool, licensee, asset, moment) at one block, and the reason for it."""

    pool: ChecksumAddress
    licensee: ChecksumAddress
    asset_id: int
    at: int
    licensed: bool
    code: ReasonCode
    explanation: str
    chain_id: int
    block_number: int
    block_hash: str
    #: End of the licensee's latest membership term (0: never a member).
    member_until: int = 0
    #: The licence that covers, ended, was revoked or was granted too late, when one decided.
    licence_id: int | None = None
    #: When the revoked licence was revoked (block time of its LicenceRevoked log).
    revoked_at: int | None = None
    #: The upheld dispute that suspended the asset.
    dispute_id: int | None = None
    contributed_at: int = 0
    withdrawn_at: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "pool": data["pool"],
            "licensee": data["licensee"],
            "assetId": data["asset_id"],
            "at": data["at"],
            "licensed": data["licensed"],
            "reason": data["code"],
            "explanation": data["explanation"],
            "memberUntil": data["member_until"],
            "licenceId": data["licence_id"],
            "revokedAt": data["revoked_at"],
            "disputeId": data["dispute_id"],
            "contributedAt": data["contributed_at"],
            "withdrawnAt": data["withdrawn_at"],
            "chainId": data["chain_id"],
            "blockNumber": data["block_number"],
            "blockHash": data["block_hash"],
        }


# ------------------------------------------------------------------ the rule, shared with api/licensing.py


def binds(paid_at: int, at: int, withdrawn_at: int, effective_at: int, announced_at: int) -> bool:
    """`PatentPool._binds`: whether a term or licence paid at `paid_at` covers the asset at `at`.

    Paid after the asset left the pool: no (paid in that very second: yes). No withdrawal
    announced, or `at` before it takes effect: yes. Otherwise only if paid at or before the second
    the withdrawal was announced."""
    if withdrawn_at != 0 and paid_at > withdrawn_at:
        return False
    if effective_at == 0 or at < effective_at:
        return True
    return paid_at <= announced_at


def withdrawal_said(paid_what: str, paid_at: int, withdrawn_at: int, effective_at: int, announced_at: int) -> str:
    """Why a payment (`paid_what`, e.g. "licence 3") does not bind the asset, in words."""
    if withdrawn_at != 0 and paid_at > withdrawn_at:
        return (
            f"the asset was withdrawn from this pool at {_iso(withdrawn_at)}; {paid_what} was paid at "
            f"{_iso(paid_at)}, after the withdrawal"
        )
    return (
        f"the asset's withdrawal was announced at {_iso(announced_at)} and takes effect at {_iso(effective_at)}; "
        f"{paid_what} was paid at {_iso(paid_at)}, after the announcement, so it covers the asset only until "
        f"{_iso(effective_at)}"
    )


#: Why the licence a scope's checkpoints name for a moment does not cover it (None: it covers).
LicenceFault = Literal["ended", "revoked", "joined_after", "withdrawn"] | None


def licence_fault(
    *,
    at: int,
    end: int,
    revoked: bool,
    revoked_at: int,
    whole_pool: bool,
    granted_at: int,
    contributed_at: int,
    withdrawn_at: int,
    effective_at: int,
    announced_at: int,
) -> LicenceFault:
    """`PatentPool._licenceCovers` for the licence its scope's checkpoints name at `at`."""
    if at >= end:
        return "ended"
    if revoked and at >= revoked_at:
        return "revoked"
    if whole_pool and contributed_at > granted_at:
        return "joined_after"
    if not binds(granted_at, at, withdrawn_at, effective_at, announced_at):
        return "withdrawn"
    return None


@dataclass(frozen=True)
class _Licence:
    licence_id: int
    start: int
    end: int
    granted_at: int
    whole_pool: bool
    revoked: bool
    revoked_at: int


@dataclass(frozen=True)
class _Term:
    valid_from: int
    valid_until: int
    paid_at: int
    renewed: bool


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix {ts}"


def _checkpoint(licences: list[_Licence], at: int) -> _Licence | None:
    """The licence the scope's checkpoints name at `at`: the greatest start at or before it, the
    later grant when two start together (a push with the same key replaces)."""
    found: _Licence | None = None
    for row in sorted(licences, key=lambda r: r.licence_id):
        if row.start <= at and (found is None or row.start >= found.start):
            found = row
    return found


def _latest_term(terms: list[_Term], at: int) -> _Term | None:
    """The term the contract's checkpoints name at `at` (terms in the order they were paid)."""
    found: _Term | None = None
    for term in terms:
        if term.valid_from <= at and (found is None or term.valid_from >= found.valid_from):
            found = term
    return found


def check_licence(
    w3: Web3, pool: str, licensee: str, asset_id: int, at: int | None = None, block: int | None = None
) -> LicenceCheck:
    """Ask `pool` whether `licensee` is licensed for `asset_id` at unix time `at` (default: the
    block's time), reading everything at `block` (default: the latest), and say why.

    Raises NotAPool, UnknownAsset or UnknownBlock for a question that has no answer."""
    address = Web3.to_checksum_address(pool)
    who = Web3.to_checksum_address(licensee)
    latest = int(w3.eth.block_number)
    if block is not None and block > latest:
        raise UnknownBlock(block, latest)
    try:
        header = w3.eth.get_block(block if block is not None else latest)
    except BlockNotFound:
        raise UnknownBlock(block if block is not None else latest, latest) from None
    number = int(header["number"])
    moment = int(header["timestamp"]) if at is None else at
    if len(w3.eth.get_code(address, number)) == 0:
        raise NotAPool(address, f"there is no contract at that address at block {number}")
    contract = contract_at(w3, "PatentPool", address)

    def view(name: str, *args: Any) -> Any:
        return contract.functions[name](*args).call(block_identifier=number)

    try:
        registry = Web3.to_checksum_address(view("assetRegistry"))
        counts = view("counts")
    except RegistryError:
        raise
    except Exception:
        raise NotAPool(address, "the contract there does not answer the pool's views") from None
    total = int(contract_at(w3, "PatentAsset", registry).functions.totalAssets().call(block_identifier=number))
    if not 1 <= asset_id <= total:
        raise UnknownAsset(asset_id, registry, total)
    licensed = bool(view("isLicensed", who, asset_id, moment))
    base = LicenceCheck(
        pool=address,
        licensee=who,
        asset_id=asset_id,
        at=moment,
        licensed=licensed,
        code="not_member",
        explanation="",
        chain_id=int(w3.eth.chain_id),
        block_number=number,
        block_hash="0x" + bytes(header["hash"]).hex(),
    )

    asset = view("poolAsset", asset_id)
    contributed_at, effective_at, withdrawn_at = int(asset[2]), int(asset[3]), int(asset[4])
    suspended_at, announced_at = int(asset[6]), int(asset[7])
    base = replace(base, contributed_at=contributed_at, withdrawn_at=withdrawn_at)
    if contributed_at == 0:
        return replace(
            base, code="asset_not_in_pool", explanation=f"asset {asset_id} was never contributed to this pool"
        )
    if moment < contributed_at:
        return replace(
            base,
            code="asset_not_yet_in_pool",
            explanation=f"asset {asset_id} was contributed to this pool at {_iso(contributed_at)}, "
            f"after {_iso(moment)}",
        )
    # A suspension, and its lifting on appeal, count from their block's time on (`isSuspended`
    # answers for any moment); only an asset ever suspended has any.
    if suspended_at and view("isSuspended", asset_id, moment):
        latest = moment >= suspended_at
        dispute_id = _suspending_dispute(view, asset_id, int(counts[4])) if latest else None
        by = f"by the upheld dispute {dispute_id}" if dispute_id else "by an upheld dispute"
        when = f"at {_iso(suspended_at)}" if latest else "before that moment (since lifted on appeal)"
        return replace(
            base,
            code="asset_suspended",
            explanation=f"asset {asset_id} was suspended in this pool {by} {when}; nobody is "
            f"licensed for it from then on",
            dispute_id=dispute_id,
        )

    def bound(paid_at: int) -> bool:
        return binds(paid_at, moment, withdrawn_at, effective_at, announced_at)

    def unbound_said(paid_what: str, paid_at: int) -> str:
        return f"asset {asset_id}: " + withdrawal_said(paid_what, paid_at, withdrawn_at, effective_at, announced_at)

    _tier, member_until = view("membership", who)
    member_until = int(member_until)
    base = replace(base, member_until=member_until)
    terms = _terms(w3, contract, who, number)
    term = _latest_term(terms, moment)
    term_in_time = term is not None and moment < term.valid_until
    # The reason agrees with the verdict, whatever the views say: the chain's answer is the one
    # that holds (a node that lost old logs could hide a term).
    if licensed and term is not None and term_in_time and bound(term.paid_at):
        return replace(
            base,
            code="membership",
            explanation=f"{who} is a member: its term from {_iso(term.valid_from)} until {_iso(term.valid_until)} "
            f"({'renewed' if term.renewed else 'joined'} at {_iso(term.paid_at)}) covers {_iso(moment)}",
        )

    whole: list[_Licence] = []
    named: list[_Licence] = []
    for licence_id, record in enumerate(_licences(w3, contract, int(counts[3]), number), start=1):
        holder, offer_id, start, end, granted_at, _price, whole_pool, revoked, revoked_at = record
        if Web3.to_checksum_address(holder) != who:
            continue
        row = _Licence(
            licence_id, int(start), int(end), int(granted_at), bool(whole_pool), bool(revoked), int(revoked_at)
        )
        if whole_pool:
            whole.append(row)
        elif asset_id in [int(a) for a in view("offerAssets", offer_id)]:
            named.append(row)
    deciders = [d for d in (_checkpoint(whole, moment), _checkpoint(named, moment)) if d is not None]
    faults = [
        (
            d,
            licence_fault(
                at=moment,
                end=d.end,
                revoked=d.revoked,
                revoked_at=d.revoked_at,
                whole_pool=d.whole_pool,
                granted_at=d.granted_at,
                contributed_at=contributed_at,
                withdrawn_at=withdrawn_at,
                effective_at=effective_at,
                announced_at=announced_at,
            ),
        )
        for d in deciders
    ]
    covering = next((d for d, fault in faults if fault is None), None)
    if licensed and covering is not None:
        return replace(
            base,
            code="licence",
            explanation=f"{who} holds unified licence {covering.licence_id} for "
            f"{'the whole pool' if covering.whole_pool else f'asset {asset_id}'}, from {_iso(covering.start)} "
            f"until {_iso(covering.end)}, which covers {_iso(moment)}",
            licence_id=covering.licence_id,
        )

    if licensed:
        return replace(
            base,
            code="membership",
            explanation=f"{who} is licensed at {_iso(moment)} by the pool's answer, and no licence of it covers "
            f"that moment, so a membership term does (its latest term ends at {_iso(member_until)}; the node did "
            "not give the log of the covering one)",
        )

    # Not licensed: the most specific reason first.
    if term is not None and term_in_time:
        return replace(
            base,
            code="asset_withdrawn",
            explanation=unbound_said(f"the membership term covering {_iso(moment)}", term.paid_at),
        )
    late = next((d for d, fault in faults if fault == "withdrawn"), None)
    if late is not None:
        return replace(
            base,
            code="asset_withdrawn",
            explanation=unbound_said(f"licence {late.licence_id} covering {_iso(moment)}", late.granted_at),
            licence_id=late.licence_id,
        )
    before = next((d for d, fault in faults if fault == "joined_after"), None)
    if before is not None:
        return replace(
            base,
            code="asset_joined_after_licence",
            explanation=f"{who} holds whole-pool licence {before.licence_id}, from {_iso(before.start)} until "
            f"{_iso(before.end)}, accepted at {_iso(before.granted_at)}; asset {asset_id} was contributed at "
            f"{_iso(contributed_at)}, after it, and a whole-pool licence covers only the assets in the pool when "
            "it was accepted",
            licence_id=before.licence_id,
        )
    revoked_row = next((d for d, fault in faults if fault == "revoked"), None)
    if revoked_row is not None:
        return replace(
            base,
            code="licence_revoked",
            explanation=f"{who} is not a member at {_iso(moment)}, and licence {revoked_row.licence_id} (from "
            f"{_iso(revoked_row.start)} until {_iso(revoked_row.end)}) was revoked by the pool's operator at "
            f"{_iso(revoked_row.revoked_at)}, at or before that moment",
            licence_id=revoked_row.licence_id,
            revoked_at=revoked_row.revoked_at,
        )
    if term is not None:
        return replace(
            base,
            code="membership_ended",
            explanation=f"{who} was a member, but its latest term ended at {_iso(term.valid_until)}, "
            f"at or before {_iso(moment)}",
        )
    if deciders:
        ended = deciders[0]
        return replace(
            base,
            code="licence_ended",
            explanation=f"licence {ended.licence_id} of {who} ended at {_iso(ended.end)}, at or before {_iso(moment)}",
            licence_id=ended.licence_id,
        )
    if member_until > moment:
        return replace(
            base,
            code="not_member",
            explanation=f"{who} is a member until {_iso(member_until)}, but no term of its membership covered "
            f"{_iso(moment)} (before it joined)",
        )
    if terms or whole or named:
        return replace(
            base,
            code="not_member",
            explanation=f"{who} had no membership term or licence here that had begun by {_iso(moment)}",
        )
    return replace(
        base,
        code="not_member",
        explanation=f"{who} has never been a member of this pool nor held a licence for asset {asset_id} in it",
    )


_BATCH = 500


def _licences(w3: Web3, contract: Any, count: int, block: int) -> list[Any]:
    """Every licence record of the pool at `block`, read in JSON-RPC batches of views (one by one
    where the node takes no batches)."""
    records: list[Any] = []
    for first in range(1, count + 1, _BATCH):
        ids = range(first, min(first + _BATCH, count + 1))
        try:
            with w3.batch_requests() as batch:
                for licence_id in ids:
                    batch.add(contract.functions.licence(licence_id).call(block_identifier=block))
                answers = batch.execute()
        except Exception:
            answers = [contract.functions.licence(i).call(block_identifier=block) for i in ids]
        records.extend(answers)
    return records


def _terms(w3: Web3, contract: Any, member: str, block: int) -> list[_Term]:
    """The member's terms up to `block`, in the order they were paid, from its MemberJoined and
    MembershipRenewed logs (paid at: the time of the log's block)."""
    logs = [
        log
        for event in (contract.events.MemberJoined, contract.events.MembershipRenewed)
        for log in event.get_logs(argument_filters={"member": member}, from_block=0, to_block=block)
    ]
    logs.sort(key=lambda log: (log["blockNumber"], log["logIndex"]))
    times: dict[int, int] = {}
    terms: list[_Term] = []
    for log in logs:
        number = int(log["blockNumber"])
        if number not in times:
            times[number] = int(w3.eth.get_block(number)["timestamp"])
        args = log["args"]
        terms.append(
            _Term(int(args["validFrom"]), int(args["validUntil"]), times[number], log["event"] == "MembershipRenewed")
        )
    return terms


def _suspending_dispute(view: Any, asset_id: int, count: int) -> int | None:
    """The latest upheld dispute against the asset (the one that suspended it)."""
    for dispute_id in range(count, 0, -1):
        disputed, _challenger, _evidence, status, _ruling = view("dispute", dispute_id)
        if int(disputed) == asset_id and int(status) == _UPHELD:
            return dispute_id
    return None

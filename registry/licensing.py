"""Whether an account is licensed for an asset of a pool, and why: the chain's answer with its reason.

The verdict is the contract's own (`PatentPool.isLicensed` at one block); the reason is read from
the pool's views at that same block and uses the reason codes of the API's mirror-based
explanation (`api/licensing.py`) where the chain can tell them apart:

- `poolAsset`: never contributed (`asset_not_in_pool`), contributed after the moment
  (`asset_not_yet_in_pool`), suspended (`asset_suspended`, with the upheld dispute found by
  walking the `dispute` views back from the latest), withdrawn (`asset_withdrawn`);
- `licence` and `offerAssets`: the licensee's unified licences, walked as `_licenceCovers` walks
  them (latest granted first, revoked ones skipped, the first begun by then decides), which gives
  `licence`, `licence_ended` and `licence_revoked` (its time from the `LicenceRevoked` log);
- `membership`: the end of the latest term only (the contract keeps earlier terms in a checkpoint
  list it does not expose), which gives `membership`, `membership_ended` and `not_member`.

The chain keeps no per-licensee list of licences in a view, so the licences are read one by one
(`counts().licences` calls): fine for one question from a terminal; the API answers in bulk from
its mirror.
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
    "NotAPool",
    "ReasonCode",
    "UnknownAsset",
    "UnknownBlock",
    "check_licence",
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
]

#: Each reason code and what it means, for the OpenAPI description.
REASONS: dict[str, str] = {
    "membership": "licensed: a membership term (join or renewal) covers the moment",
    "licence": "licensed: an unrevoked unified licence (whole pool, or naming the asset) covers the moment",
    "not_member": "not licensed: no membership term or licence of this address had begun by then",
    "membership_ended": "not licensed: the address was a member, but its latest term had ended by then",
    "licence_ended": "not licensed: the address held a licence, but it had ended by then",
    "licence_revoked": "not licensed: a licence that would cover the moment was revoked by the operator",
    "asset_not_in_pool": "not licensed: the asset was never contributed to this pool",
    "asset_not_yet_in_pool": "not licensed: the asset was contributed to the pool after that moment",
    "asset_withdrawn": "not licensed: the asset was withdrawn, and the covering term or licence was paid no earlier",
    "asset_suspended": "not licensed: the asset is suspended by an upheld dispute (for every moment)",
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


@dataclass(frozen=True)
class _Licence:
    licence_id: int
    start: int
    end: int
    granted_at: int
    revoked: bool


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix {ts}"


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

    _founder, _weight, contributed_at, _effective, withdrawn_at, suspended = view("poolAsset", asset_id)
    base = replace(base, contributed_at=int(contributed_at), withdrawn_at=int(withdrawn_at))
    if contributed_at == 0:
        return replace(
            base, code="asset_not_in_pool", explanation=f"asset {asset_id} was never contributed to this pool"
        )
    if suspended:
        dispute_id = _suspending_dispute(view, asset_id, int(counts[4]))
        by = f"by the upheld dispute {dispute_id}" if dispute_id else "by an upheld dispute"
        return replace(
            base,
            code="asset_suspended",
            explanation=f"asset {asset_id} is suspended in this pool {by}; nobody is licensed for it",
            dispute_id=dispute_id,
        )
    if moment < contributed_at:
        return replace(
            base,
            code="asset_not_yet_in_pool",
            explanation=f"asset {asset_id} was contributed to this pool at {_iso(contributed_at)}, "
            f"after {_iso(moment)}",
        )

    _tier, member_until = view("membership", who)
    member_until = int(member_until)
    base = replace(base, member_until=member_until)
    whole: list[_Licence] = []
    named: list[_Licence] = []
    for licence_id, record in enumerate(_licences(w3, contract, int(counts[3]), number), start=1):
        holder, offer_id, start, end, granted_at, _price, whole_pool, revoked = record
        if Web3.to_checksum_address(holder) != who:
            continue
        row = _Licence(licence_id, int(start), int(end), int(granted_at), bool(revoked))
        if whole_pool:
            whole.append(row)
        elif asset_id in [int(a) for a in view("offerAssets", offer_id)]:
            named.append(row)
    deciders = [d for d in (_decider(whole, moment), _decider(named, moment)) if d is not None]
    in_time = [d for d in deciders if moment < d.end]

    if licensed:
        covering = next((d for d in in_time if withdrawn_at == 0 or d.granted_at < withdrawn_at), None)
        if covering is not None and not (member_until > moment):
            return replace(
                base,
                code="licence",
                explanation=f"{who} holds unified licence {covering.licence_id}, from {_iso(covering.start)} "
                f"until {_iso(covering.end)}, which covers {_iso(moment)}",
                licence_id=covering.licence_id,
            )
        return replace(
            base,
            code="membership",
            explanation=f"{who} is a member whose term covers {_iso(moment)} (its latest term ends at "
            f"{_iso(member_until)})",
        )

    if withdrawn_at and (member_until > moment or in_time):
        late = in_time[0] if in_time and not member_until > moment else None
        paid = (
            f"licence {late.licence_id} was granted at {_iso(late.granted_at)}"
            if late
            else "the membership term covering it was paid"
        )
        return replace(
            base,
            code="asset_withdrawn",
            explanation=f"asset {asset_id} was withdrawn from this pool at {_iso(withdrawn_at)}; {paid} "
            "at or after the withdrawal",
            licence_id=late.licence_id if late else None,
        )
    revoked = [r for r in sorted(whole + named, key=lambda r: -r.licence_id) if r.revoked and r.start <= moment < r.end]
    if revoked:
        row = revoked[0]
        when = _revoked_at(w3, contract, row.licence_id, number)
        said = f" at {_iso(when)}" if when else ""
        return replace(
            base,
            code="licence_revoked",
            explanation=f"{who} is not a member at {_iso(moment)}, and licence {row.licence_id} (from "
            f"{_iso(row.start)} until {_iso(row.end)}) was revoked by the pool's operator{said}",
            licence_id=row.licence_id,
            revoked_at=when,
        )
    if member_until and member_until <= moment:
        return replace(
            base,
            code="membership_ended",
            explanation=f"{who} was a member, but its latest term ended at {_iso(member_until)}, "
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
        # The views keep only the latest term's end: a term covering the moment would have
        # licensed, so the moment falls before the first term or between two.
        return replace(
            base,
            code="not_member",
            explanation=f"{who} is a member until {_iso(member_until)}, but no term of its membership covered "
            f"{_iso(moment)} (before it joined, or between two terms)",
        )
    if whole or named:
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


def _decider(licences: list[_Licence], at: int) -> _Licence | None:
    """`_licenceCovers`: from the latest granted back, skip revoked ones, stop at the first begun by `at`."""
    for row in sorted(licences, key=lambda r: r.licence_id, reverse=True):
        if not row.revoked and at >= row.start:
            return row
    return None


def _suspending_dispute(view: Any, asset_id: int, count: int) -> int | None:
    """The latest upheld dispute against the asset (the one that suspended it)."""
    for dispute_id in range(count, 0, -1):
        disputed, _challenger, _evidence, status, _ruling = view("dispute", dispute_id)
        if int(disputed) == asset_id and int(status) == _UPHELD:
            return dispute_id
    return None


def _revoked_at(w3: Web3, contract: Any, licence_id: int, block: int) -> int | None:
    """The block time of the licence's LicenceRevoked log, up to `block`."""
    logs = contract.events.LicenceRevoked.get_logs(
        argument_filters={"licenceId": licence_id}, from_block=0, to_block=block
    )
    if not logs:
        return None
    return int(w3.eth.get_block(logs[-1]["blockNumber"])["timestamp"])

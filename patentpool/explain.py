"""Plain-words explanations of the contracts' custom errors, for people at a terminal."""

from __future__ import annotations

from typing import Any

from registry.errors import ContractRevert

__all__ = ["explain_revert"]

_LIFECYCLE = {0: "incubating", 1: "active", 2: "closed"}
_DISPUTE = {0: "none", 1: "open", 2: "upheld", 3: "dismissed"}


def _office(code: Any) -> str:
    return bytes(code).decode("ascii", "replace") if isinstance(code, bytes) else str(code)


# One template per error a person is likely to meet; the others print as Name(arg=value, ...).
_TEMPLATES: dict[str, str] = {
    "PatentPoolNotQualified": "asset {assetId} has {grantedInRequired} verified grant(s) in the pool's required jurisdictions; this pool needs {minGranted}",
    "PatentPoolScoreTooLow": "asset {assetId} has a stability score of {scoreBps} bps; this pool needs at least {minScoreBps}",
    "PatentPoolInvalidLifecycle": "the pool is {lifecycle}, which does not allow this",
    "PatentPoolFeeAboveMax": "the fee is {fee}, above the most you agreed to pay ({maxFee})",
    "PatentPoolTierNotOffered": "tier {tier} has no fee set, so nobody can join at it",
    "PatentPoolInvalidTier": "tier {tier} does not exist (0 startup, 1 SME, 2 enterprise)",
    "PatentPoolNotFounder": "{account} is not an admitted founder of this pool",
    "PatentPoolAlreadyFounder": "{account} is already a founder of this pool",
    "PatentPoolNotAssetOwner": "asset {assetId} belongs to {owner}, not to {caller}",
    "PatentPoolAssetAlreadyContributed": "asset {assetId} is, or was, already in this pool",
    "PatentPoolAssetNotInPool": "asset {assetId} is not in this pool (never contributed, withdrawn or suspended)",
    "PatentPoolAlreadyMember": "{account} is already a member until {validUntil}",
    "PatentPoolNotMember": "{account} has never been a member of this pool",
    "PatentPoolNothingToClaim": "{account} has nothing to claim",
    "PatentPoolNotOfferee": "offer {offerId} is for {licensee}, not for {caller}",
    "PatentPoolOfferNotOpen": "offer {offerId} does not exist or was already accepted or cancelled",
    "PatentPoolOfferExpired": "offer {offerId} ended at {end}",
    "PatentPoolLicenceOverlaps": "an unrevoked licence ({licenceId}) of the same scope already covers that period",
    "PatentPoolLicenceNotRevocable": "licence {licenceId} does not exist or is already revoked",
    "PatentPoolNotParticipant": "{account} is neither a current member nor a founder of this pool",
    "PatentPoolDisputeNotOpen": "dispute {disputeId} does not exist or was already resolved",
    "PatentPoolInvalidPeriod": "the period {start}..{end} is empty or already over",
    "PatentPoolInvalidShare": "{bps} bps is above 100 % (10000 bps)",
    "PatentAssetNotOwner": "asset {assetId} belongs to {owner}, not to {caller}",
    "PatentAssetFamilyAlreadyRegistered": "family {familyId!r} is already registered as asset {assetId}",
    "PatentAssetPatentAlreadyListed": "{jurisdiction} {publicationNumber} is already listed in asset {assetId}",
    "PatentAssetInvalidJurisdiction": "{jurisdiction!r} is not a two-letter office code",
    "PatentAssetPatentIndexOutOfRange": "asset {assetId} has {count} patent(s); there is no index {index}",
    "PatentAssetInvalidScore": "a score of {scoreBps} bps is above 10000",
    "ERC721NonexistentToken": "asset {tokenId} does not exist",
    "AccessControlUnauthorizedAccount": "{account} lacks the role this needs ({neededRole})",
    "ERC20InsufficientBalance": "{sender} holds {balance} of the payment token; {needed} is needed",
    "ERC20InsufficientAllowance": "the pool may spend {allowance} of your payment token; {needed} is needed (approve it first)",
    "EnforcedPause": "the pool is paused",
    "PatentPoolInvalidQualification": "a rule needs 1 to 16 distinct two-letter offices, "
    "at least 1 grant and at most 10000 bps (given {jurisdictionCount} office(s), {minGranted} grant(s), "
    "{minScoreBps} bps)",
    "PatentPoolNotContributor": "asset {assetId} was contributed by {founder}, not by {caller}",
    "PatentPoolTooManyAssets": "an offer may name at most 256 assets; {count} were given",
    "PatentPoolAssetsNotAscending": "an offer's asset ids must be distinct and ascending (see position {index})",
    "PatentPoolWithdrawalAlreadyAnnounced": "the withdrawal of asset {assetId} is already announced, "
    "effective at {effectiveAt}",
    "PatentPoolWithdrawalNotDue": "the withdrawal of asset {assetId} is not due yet (effective at {effectiveAt}; "
    "0: never announced)",
    "PatentPoolZeroAddress": "the zero address is not allowed here",
    "PoolFactoryEmptyName": "a pool needs a name",
    "PoolFactoryInvalidKind": "pool kind {kind} does not exist (0 company, 1 industry, 2 technology, 3 geography)",
    "PoolFactoryInvalidPaymentToken": "{paymentToken} is not a contract that can be the payment token",
    "PatentAssetEmptyFamilyId": "a family needs a family id",
    "PatentAssetEmptyPublicationNumber": "a patent needs a publication number",
    "PatentAssetInvalidDates": "status {status} does not fit grant date {grantDate} and expiry date {expiryDate}",
    "ERC721IncorrectOwner": "asset {tokenId} belongs to {owner}, not to {sender}",
}


#: The AccessControl roles of the contracts, by name (DEFAULT_ADMIN_ROLE is zero).
ROLE_NAMES = (
    "DEFAULT_ADMIN_ROLE",
    "OPERATOR_ROLE",
    "ARBITER_ROLE",
    "VERIFIER_ROLE",
    "EVALUATOR_ROLE",
    "POOL_CREATOR_ROLE",
)


def role_name(role: bytes) -> str:
    """A role id by its name (an unknown one as hex: no contract of ours has it)."""
    from registry.client import role_id

    for name in ROLE_NAMES:
        if role_id(name) == bytes(role):
            return name
    return "0x" + bytes(role).hex()


def explain_revert(exc: ContractRevert) -> str:
    """One line: the error's name, then what it means with its arguments filled in."""
    args = dict(exc.error_args)
    if "current" in args:
        args["lifecycle"] = _LIFECYCLE.get(int(args["current"]), args["current"])
    for key in ("jurisdiction",):
        if key in args:
            args[key] = _office(args[key])
    if isinstance(args.get("neededRole"), bytes):
        args["neededRole"] = role_name(args["neededRole"])
    for key, value in list(args.items()):
        if isinstance(value, bytes):
            args[key] = "0x" + value.hex()
    template = _TEMPLATES.get(exc.error_name)
    if template is None:
        return str(exc)
    try:
        return f"{exc.error_name}: {template.format(**args)}"
    except (KeyError, IndexError, ValueError):
        return str(exc)

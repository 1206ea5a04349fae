"""Typed clients for every contract function: one class per contract, over a signing `Chain`.

Writes return a `TxResult` whose `value` is what the function returns (read from the event it
emits, so it is exactly what the chain recorded); a revert raises the ContractRevert subclass named
after the Solidity custom error (see `registry.reverts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier

from registry.artifacts import load_artifact
from registry.chain import Chain, TxResult, decode_events
from registry.types import AssetId, DisputeId, LicenceId, OfferId

__all__ = [
    "PatentAssetClient",
    "PatentPoolClient",
    "PoolFactoryClient",
    "StablecoinClient",
    "contract_at",
    "jurisdiction",
    "role_id",
]


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for a committed artifact at an address."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"])


def jurisdiction(code: str | bytes) -> bytes:
    """A two-letter office code as the contracts' bytes2 ("us" and b"US" both give b"US")."""
    raw = code.upper().encode("ascii") if isinstance(code, str) else bytes(code)
    if len(raw) != 2:
        raise ValueError(f"a jurisdiction is a two-letter office code, not {code!r}")
    return raw


def role_id(name: str) -> bytes:
    """The bytes32 id of an AccessControl role ("DEFAULT_ADMIN_ROLE" is zero)."""
    return b"\x00" * 32 if name == "DEFAULT_ADMIN_ROLE" else bytes(Web3.keccak(text=name))


class _Client:
    contract_name: str = ""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract = contract_at(chain.w3, self.contract_name, address)

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    def with_signer(self, chain: Chain) -> Any:
        """The same contract, transacting as another signer."""
        return type(self)(chain, self.address)

    def _tx(self, fn_name: str, *args: Any) -> TxResult[None]:
        return self.chain.transact(self.contract.functions[fn_name](*args))

    def _call(self, fn_name: str, *args: Any) -> Any:
        return self.chain.call(self.contract.functions[fn_name](*args))

    def _with(self, result: TxResult[Any], value: Any) -> TxResult[Any]:
        return TxResult(value, result.tx_hash, result.block_number, result.block_hash, result.gas_used, result.receipt)

    def _event_arg(self, result: TxResult[Any], event: str, arg: str) -> Any:
        logs = decode_events(self.contract, result.receipt, event)
        return logs[0]["args"][arg]

    def events(self, result: TxResult[Any], event: str) -> list[dict[str, Any]]:
        """The `event` logs this contract emitted in a transaction, as argument dicts."""
        return [dict(e["args"]) for e in decode_events(self.contract, result.receipt, event)]

    def has_role(self, role: str, account: str) -> bool:
        return bool(self._call("hasRole", role_id(role), Web3.to_checksum_address(account)))

    def grant_role(self, role: str, account: str) -> TxResult[None]:
        return self._tx("grantRole", role_id(role), Web3.to_checksum_address(account))

    def revoke_role(self, role: str, account: str) -> TxResult[None]:
        return self._tx("revokeRole", role_id(role), Web3.to_checksum_address(account))


class PatentAssetClient(_Client):
    """The PatentAsset registry: families, patents, verification and evaluations."""

    contract_name = "PatentAsset"

    def register_family(self, family_id: str, title: str, dossier_hash: bytes, dossier_uri: str) -> TxResult[AssetId]:
        r = self._tx("registerFamily", family_id, title, dossier_hash, dossier_uri)
        return self._with(r, AssetId(self._event_arg(r, "FamilyRegistered", "assetId")))

    def update_dossier(self, asset_id: int, dossier_hash: bytes, dossier_uri: str) -> TxResult[None]:
        return self._tx("updateDossier", asset_id, dossier_hash, dossier_uri)

    def add_patent(self, asset_id: int, office: str | bytes, publication_number: str) -> TxResult[int]:
        r = self._tx("addPatent", asset_id, jurisdiction(office), publication_number)
        return self._with(r, int(self._event_arg(r, "PatentAdded", "index")))

    def verify_patent(
        self, asset_id: int, index: int, status: int, grant_date: int = 0, expiry_date: int = 0
    ) -> TxResult[None]:
        return self._tx("verifyPatent", asset_id, index, int(status), grant_date, expiry_date)

    def reject_patent(self, asset_id: int, index: int, reason_hash: bytes) -> TxResult[None]:
        """Mark a listing false (VERIFIER_ROLE): it counts for nothing and frees its number."""
        return self._tx("rejectPatent", asset_id, index, reason_hash)

    def reject_family(self, asset_id: int, reason_hash: bytes, claimant: str | None = None) -> TxResult[None]:
        """Free a squatted family id (VERIFIER_ROLE), for `claimant` only when given."""
        who = Web3.to_checksum_address(claimant) if claimant else "0x" + "00" * 20
        return self._tx("rejectFamily", asset_id, reason_hash, who)

    def family_rejected(self, asset_id: int) -> bool:
        return bool(self._call("familyRejected", asset_id))

    def family_id_claimant(self, family_id: str) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("familyIdClaimant", family_id))

    def expire_patent(self, asset_id: int, index: int) -> TxResult[None]:
        """Mark a granted patent past its expiry date as lapsed (anyone may)."""
        return self._tx("expirePatent", asset_id, index)

    def record_evaluation(
        self, asset_id: int, score_bps: int, report_hash: bytes, model_version: str
    ) -> TxResult[None]:
        return self._tx("recordEvaluation", asset_id, score_bps, report_hash, model_version)

    def stability_score(self, asset_id: int) -> int:
        return int(self._call("stabilityScore", asset_id))

    def granted_in(self, asset_id: int, office: str | bytes) -> int:
        return int(self._call("grantedIn", asset_id, jurisdiction(office)))

    def family(self, asset_id: int) -> dict[str, Any]:
        family_id, title, dossier_hash, dossier_uri = self._call("family", asset_id)
        return {"familyId": family_id, "title": title, "dossierHash": dossier_hash, "dossierURI": dossier_uri}

    def patent_count(self, asset_id: int) -> int:
        return int(self._call("patentCount", asset_id))

    def patent_at(self, asset_id: int, index: int) -> dict[str, Any]:
        office, status, grant, expiry, number = self._call("patentAt", asset_id, index)
        return {
            "jurisdiction": bytes(office).decode("ascii"),
            "status": int(status),
            "grantDate": int(grant),
            "expiryDate": int(expiry),
            "publicationNumber": number,
        }

    def evaluation(self, asset_id: int) -> dict[str, Any]:
        score, evaluator, at, report_hash, model = self._call("evaluation", asset_id)
        return {
            "scoreBps": int(score),
            "evaluator": evaluator,
            "evaluatedAt": int(at),
            "reportHash": report_hash,
            "modelVersion": model,
        }

    def asset_of_family(self, family_id: str) -> int:
        return int(self._call("assetOfFamily", family_id))

    def owner_of(self, asset_id: int) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("ownerOf", asset_id))

    def total_assets(self) -> int:
        return int(self._call("totalAssets"))

    def transfer(self, asset_id: int, to: str) -> TxResult[None]:
        """Hand the family's token to `to`; every pool it is in moves the asset with it (from now on
        it earns for, and is controlled by, `to`; what it earned until now stays with the seller)."""
        return self._tx("transferFrom", self.chain.address, Web3.to_checksum_address(to), asset_id)

    def pools_of(self, asset_id: int) -> list[ChecksumAddress]:
        """The pools the family is in now (contributed, not withdrawn)."""
        return [Web3.to_checksum_address(p) for p in self._call("poolsOf", asset_id)]

    def is_pool(self, pool: str) -> bool:
        return bool(self._call("isPool", Web3.to_checksum_address(pool)))

    def register_pool(self, pool: str) -> TxResult[None]:
        """Let a pool record families and follow their tokens (POOL_FACTORY_ROLE: the factory)."""
        return self._tx("registerPool", Web3.to_checksum_address(pool))


class PoolFactoryClient(_Client):
    """The PoolFactory: creates pools and lists them."""

    contract_name = "PoolFactory"

    def create_pool(
        self, name: str, kind: int, field: str, payment_token: str, operator: str
    ) -> TxResult[ChecksumAddress]:
        r = self._tx(
            "createPool",
            name,
            int(kind),
            field,
            Web3.to_checksum_address(payment_token),
            Web3.to_checksum_address(operator),
        )
        return self._with(r, Web3.to_checksum_address(self._event_arg(r, "PoolCreated", "pool")))

    def pool_count(self) -> int:
        return int(self._call("poolCount"))

    def pool_at(self, index: int) -> ChecksumAddress:
        return Web3.to_checksum_address(self._call("poolAt", index))

    def pools(self) -> list[ChecksumAddress]:
        return [self.pool_at(i) for i in range(self.pool_count())]

    def create_pool_with_bounds(
        self,
        name: str,
        kind: int,
        field: str,
        payment_token: str,
        operator: str,
        max_operator_share_bps: int,
        change_delay: int,
    ) -> TxResult[ChecksumAddress]:
        """A pool whose operator-share ceiling and change delay (both fixed for its life) are given."""
        r = self._tx(
            "createPoolWithBounds",
            name,
            int(kind),
            field,
            Web3.to_checksum_address(payment_token),
            Web3.to_checksum_address(operator),
            max_operator_share_bps,
            change_delay,
        )
        return self._with(r, Web3.to_checksum_address(self._event_arg(r, "PoolCreated", "pool")))

    def is_pool(self, address: str) -> bool:
        return bool(self._call("isPool", Web3.to_checksum_address(address)))


class PatentPoolClient(_Client):
    """One PatentPool: configuration, founders, members, licences, revenue and disputes."""

    contract_name = "PatentPool"

    # operator configuration
    def set_tier_fee(self, tier: int, annual_fee: int) -> TxResult[None]:
        return self._tx("setTierFee", int(tier), annual_fee)

    def set_qualification(
        self, jurisdictions: Sequence[str | bytes], min_granted: int, min_score_bps: int
    ) -> TxResult[None]:
        return self._tx("setQualification", [jurisdiction(j) for j in jurisdictions], min_granted, min_score_bps)

    def set_operator_share(self, bps: int) -> TxResult[None]:
        return self._tx("setOperatorShare", bps)

    def set_territory(self, territory: str) -> TxResult[None]:
        return self._tx("setTerritory", territory)

    def set_treasury(self, treasury: str) -> TxResult[None]:
        return self._tx("setTreasury", Web3.to_checksum_address(treasury))

    def set_withdrawal_notice(self, seconds: int) -> TxResult[None]:
        return self._tx("setWithdrawalNotice", seconds)

    def set_max_licence_length(self, seconds: int) -> TxResult[None]:
        return self._tx("setMaxLicenceLength", seconds)

    def apply_parameter_change(self, parameter: int) -> TxResult[None]:
        """Put an announced change in force once its time has come (anyone may)."""
        return self._tx("applyParameterChange", int(parameter))

    def begin_default_admin_transfer(self, new_admin: str) -> TxResult[None]:
        return self._tx("beginDefaultAdminTransfer", Web3.to_checksum_address(new_admin))

    def accept_default_admin_transfer(self) -> TxResult[None]:
        return self._tx("acceptDefaultAdminTransfer")

    def activate(self) -> TxResult[None]:
        return self._tx("activate")

    def close(self) -> TxResult[None]:
        return self._tx("close")

    def pause(self) -> TxResult[None]:
        return self._tx("pause")

    def unpause(self) -> TxResult[None]:
        return self._tx("unpause")

    def admit_founder(self, founder: str) -> TxResult[None]:
        return self._tx("admitFounder", Web3.to_checksum_address(founder))

    # founders
    def contribute(self, asset_id: int) -> TxResult[int]:
        r = self._tx("contribute", asset_id)
        return self._with(r, int(self._event_arg(r, "AssetContributed", "weight")))

    def announce_withdrawal(self, asset_id: int) -> TxResult[int]:
        r = self._tx("announceWithdrawal", asset_id)
        return self._with(r, int(self._event_arg(r, "AssetWithdrawalAnnounced", "effectiveAt")))

    def complete_withdrawal(self, asset_id: int) -> TxResult[None]:
        return self._tx("completeWithdrawal", asset_id)

    # members
    def reweigh(self, asset_id: int) -> TxResult[int]:
        """Re-read the asset's verified grants in force (anyone may); the value is its new weight."""
        r = self._tx("reweigh", asset_id)
        return self._with(r, int(self.contract.functions.poolAsset(asset_id).call(block_identifier=r.block_number)[1]))

    def join(self, tier: int, max_fee: int) -> TxResult[int]:
        r = self._tx("join", int(tier), max_fee)
        return self._with(r, int(self._event_arg(r, "MemberJoined", "validUntil")))

    def renew(self, max_fee: int) -> TxResult[int]:
        r = self._tx("renew", max_fee)
        return self._with(r, int(self._event_arg(r, "MembershipRenewed", "validUntil")))

    # unified licences
    def offer_licence(
        self,
        licensee: str,
        asset_ids: Sequence[int],
        start: int,
        end: int,
        price: int,
        terms_hash: bytes,
    ) -> TxResult[OfferId]:
        r = self._tx("offerLicence", Web3.to_checksum_address(licensee), list(asset_ids), start, end, price, terms_hash)
        return self._with(r, OfferId(self._event_arg(r, "LicenceOffered", "offerId")))

    def cancel_offer(self, offer_id: int) -> TxResult[None]:
        return self._tx("cancelOffer", offer_id)

    def accept_offer(self, offer_id: int) -> TxResult[LicenceId]:
        r = self._tx("acceptOffer", offer_id)
        return self._with(r, LicenceId(self._event_arg(r, "LicenceGranted", "licenceId")))

    def revoke_licence(self, licence_id: int, reason_hash: bytes) -> TxResult[None]:
        return self._tx("revokeLicence", licence_id, reason_hash)

    def is_licensed(self, licensee: str, asset_id: int, at: int, block: BlockIdentifier = "latest") -> bool:
        fn = self.contract.functions.isLicensed(Web3.to_checksum_address(licensee), asset_id, at)
        return bool(fn.call(block_identifier=block))

    # revenue
    def claimable(self, account: str) -> int:
        return int(self._call("claimable", Web3.to_checksum_address(account)))

    def claim(self) -> TxResult[int]:
        r = self._tx("claim")
        return self._with(r, int(self._event_arg(r, "RevenueClaimed", "amount")))

    # disputes
    def open_dispute(self, asset_id: int, evidence_hash: bytes) -> TxResult[DisputeId]:
        r = self._tx("openDispute", asset_id, evidence_hash)
        return self._with(r, DisputeId(self._event_arg(r, "DisputeOpened", "disputeId")))

    def resolve_dispute(self, dispute_id: int, upheld: bool, ruling_hash: bytes) -> TxResult[None]:
        return self._tx("resolveDispute", dispute_id, upheld, ruling_hash)

    def set_dispute_bond(self, bond: int) -> TxResult[None]:
        return self._tx("setDisputeBond", bond)

    def lift_suspension(self, asset_id: int, ruling_hash: bytes) -> TxResult[int]:
        """Lift an asset's suspension on appeal; the value is the asset's new weight."""
        r = self._tx("liftSuspension", asset_id, ruling_hash)
        return self._with(r, int(self._event_arg(r, "SuspensionLifted", "weight")))

    def dispute_bond(self) -> int:
        return int(self._call("disputeBond"))

    def dispute_bond_of(self, dispute_id: int) -> int:
        return int(self._call("disputeBondOf", dispute_id))

    def bonds_held(self) -> int:
        return int(self._call("bondsHeld"))

    def is_suspended(self, asset_id: int, at: int, block: BlockIdentifier = "latest") -> bool:
        return bool(self.contract.functions.isSuspended(asset_id, at).call(block_identifier=block))

    # views
    def profile(self) -> dict[str, Any]:
        name, kind, field, territory, lifecycle, token, share, treasury = self._call("profile")
        return {
            "name": name,
            "kind": int(kind),
            "field": field,
            "territory": territory,
            "lifecycle": int(lifecycle),
            "paymentToken": token,
            "operatorShareBps": int(share),
            "treasury": treasury,
        }

    def qualification(self) -> dict[str, Any]:
        codes, min_granted, min_score = self._call("qualification")
        return {
            "jurisdictions": [bytes(c).decode("ascii") for c in codes],
            "minGranted": int(min_granted),
            "minScoreBps": int(min_score),
        }

    def bounds(self) -> dict[str, int]:
        max_share, delay, max_length = self._call("bounds")
        return {"maxOperatorShareBps": int(max_share), "changeDelay": int(delay), "maxLicenceLength": int(max_length)}

    def pending_change(self, parameter: int) -> dict[str, int]:
        """The announced value of a parameter and when it may be applied (effectiveAt 0: none)."""
        value, effective_at = self._call("pendingChange", int(parameter))
        return {"value": int(value), "effectiveAt": int(effective_at)}

    def pending_qualification(self) -> dict[str, Any]:
        codes, min_granted, min_score, effective_at = self._call("pendingQualification")
        return {
            "jurisdictions": [bytes(c).decode("ascii") for c in codes],
            "minGranted": int(min_granted),
            "minScoreBps": int(min_score),
            "effectiveAt": int(effective_at),
        }

    def default_admin(self) -> dict[str, ChecksumAddress]:
        admin, pending = self._call("defaultAdmin")
        return {"admin": Web3.to_checksum_address(admin), "pendingAdmin": Web3.to_checksum_address(pending)}

    def withdrawal_notice(self) -> int:
        return int(self._call("withdrawalNotice"))

    def tier_fee(self, tier: int) -> int:
        return int(self._call("tierFee", int(tier)))

    def is_founder(self, account: str) -> bool:
        return bool(self._call("isFounder", Web3.to_checksum_address(account)))

    def founder_weight(self, founder: str) -> int:
        return int(self._call("founderWeight", Web3.to_checksum_address(founder)))

    def total_weight(self) -> int:
        return int(self._call("totalWeight"))

    def pool_asset(self, asset_id: int) -> dict[str, Any]:
        founder, weight, contributed, effective, withdrawn, suspended, suspended_at, announced = self._call(
            "poolAsset", asset_id
        )
        return {
            "founder": founder,
            "weight": int(weight),
            "contributedAt": int(contributed),
            "withdrawalEffectiveAt": int(effective),
            "withdrawnAt": int(withdrawn),
            "suspended": bool(suspended),
            "suspendedAt": int(suspended_at),
            "withdrawalAnnouncedAt": int(announced),
        }

    def membership(self, member: str) -> dict[str, int]:
        tier, valid_until = self._call("membership", Web3.to_checksum_address(member))
        return {"tier": int(tier), "validUntil": int(valid_until)}

    def offer(self, offer_id: int) -> dict[str, Any]:
        licensee, start, end, price, terms, is_open, licence_id, accept_by = self._call("offer", offer_id)
        return {
            "licensee": licensee,
            "start": int(start),
            "end": int(end),
            "price": int(price),
            "termsHash": terms,
            "open": bool(is_open),
            "licenceId": int(licence_id),
            "acceptBy": int(accept_by),
            "assetIds": [int(a) for a in self._call("offerAssets", offer_id)],
        }

    def licence(self, licence_id: int) -> dict[str, Any]:
        licensee, offer_id, start, end, granted_at, price, whole, revoked, revoked_at = self._call(
            "licence", licence_id
        )
        return {
            "licensee": licensee,
            "offerId": int(offer_id),
            "start": int(start),
            "end": int(end),
            "grantedAt": int(granted_at),
            "price": int(price),
            "wholePool": bool(whole),
            "revoked": bool(revoked),
            "revokedAt": int(revoked_at),
        }

    def dispute(self, dispute_id: int) -> dict[str, Any]:
        asset_id, challenger, evidence, status, ruling = self._call("dispute", dispute_id)
        return {
            "assetId": int(asset_id),
            "challenger": challenger,
            "evidenceHash": evidence,
            "status": int(status),
            "rulingHash": ruling,
        }

    def counts(self) -> dict[str, int]:
        members, assets, offers, licences, disputes = self._call("counts")
        return {
            "members": int(members),
            "assets": int(assets),
            "offers": int(offers),
            "licences": int(licences),
            "disputes": int(disputes),
        }

    def paused(self) -> bool:
        return bool(self._call("paused"))


class StablecoinClient(_Client):
    """An ERC-20 payment token (the local TestStablecoin, or any ERC-20 for reads and approvals)."""

    contract_name = "TestStablecoin"

    def mint(self, to: str, amount: int) -> TxResult[None]:
        return self._tx("mint", Web3.to_checksum_address(to), amount)

    def approve(self, spender: str, amount: int) -> TxResult[None]:
        return self._tx("approve", Web3.to_checksum_address(spender), amount)

    def transfer(self, to: str, amount: int) -> TxResult[None]:
        return self._tx("transfer", Web3.to_checksum_address(to), amount)

    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", Web3.to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call("allowance", Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)))

    def decimals(self) -> int:
        return int(self._call("decimals"))

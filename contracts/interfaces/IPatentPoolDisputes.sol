// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPatentPoolTypes} from "./IPatentPool.sol";

/// @title IPatentPoolDisputes
/// @notice The dispute functions of a patent pool. A pool answers them at its own address (its
/// `PatentPool` code forwards them by delegatecall to `PatentPoolDisputes`); the types, events and
/// errors are those of `IPatentPoolTypes`.
interface IPatentPoolDisputes is IPatentPoolTypes {
    /// @notice Challenges an asset; current members and admitted founders only. Takes the pool's
    /// dispute bond (`disputeBond`) from the caller in the payment token (approve it first): the
    /// pool holds it apart from revenue until the ruling, which returns it to the challenger if
    /// upheld and pays it to the asset's founder if dismissed.
    /// @param assetId the asset
    /// @param evidenceHash keccak-256 of the evidence
    /// @return disputeId the dispute
    function openDispute(uint256 assetId, bytes32 evidenceHash) external returns (uint256 disputeId);

    /// @notice Rules on a dispute; ARBITER_ROLE only. An upheld dispute suspends the asset (from
    /// this block's time on) and credits the bond back to the challenger; a dismissed one credits
    /// it to the asset's founder.
    /// @param disputeId the dispute
    /// @param upheld whether the challenge is upheld
    /// @param rulingHash keccak-256 of the ruling
    function resolveDispute(uint256 disputeId, bool upheld, bytes32 rulingHash) external;

    /// @notice A dispute.
    /// @param disputeId the dispute
    /// @return the dispute
    function dispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice Sets the bond that opening a dispute takes (payment-token units; 0, the default,
    /// makes disputes free); OPERATOR_ROLE only. At once while the pool is Incubating, afterwards
    /// announced (`ParameterChangeAnnounced` with `Parameter.DisputeBond`) and applied with
    /// `applyParameterChange` after the change delay. A dispute keeps the bond it was opened with.
    /// @param bond the new bond
    function setDisputeBond(uint256 bond) external;

    /// @notice Lifts an asset's suspension on appeal; ARBITER_ROLE only. From this block's time on
    /// the asset is licensable again and earns with its weight re-read from the registry (its
    /// verified grants in the required jurisdictions now); for the suspended times `isLicensed`
    /// keeps answering false. A later upheld dispute can suspend it again.
    /// @param assetId the suspended asset
    /// @param rulingHash keccak-256 of the ruling on the appeal
    function liftSuspension(uint256 assetId, bytes32 rulingHash) external;

    /// @notice The asset registry tells the pool that an asset's token changed hands; the registry
    /// only (it calls every pool the family is in, from the token's transfer). The seller is
    /// credited with everything the asset earned until now; from now on the buyer holds the asset
    /// in the pool: its weight earns for the buyer, and only the buyer can withdraw it. An announced
    /// withdrawal stays announced. Emits `AssetFounderChanged`.
    /// @param assetId the asset
    /// @param from the seller
    /// @param to the buyer
    function onAssetTransfer(uint256 assetId, address from, address to) external;

    /// @notice The bond a new dispute takes.
    /// @return the bond in payment-token units
    function disputeBond() external view returns (uint256);

    /// @notice The bond a dispute was opened with (held while it is open, released by its ruling).
    /// @param disputeId the dispute
    /// @return the bond in payment-token units
    function disputeBondOf(uint256 disputeId) external view returns (uint256);

    /// @notice The bonds of open disputes: tokens the pool holds apart from revenue, so
    /// `sum(claimable) + bondsHeld() <= balance`.
    /// @return the total in payment-token units
    function bondsHeld() external view returns (uint256);

    /// @notice Whether the asset was suspended in this pool at a moment (what `isLicensed` reads).
    /// @param assetId the asset
    /// @param at the moment (unix time)
    /// @return whether a suspension was in force at `at`
    function isSuspended(uint256 assetId, uint64 at) external view returns (bool);
}

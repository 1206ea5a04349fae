// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IPatentPoolDisputes} from "./interfaces/IPatentPoolDisputes.sol";
import {PatentPoolBase} from "./PatentPoolBase.sol";

/// @title PatentPoolDisputes
/// @notice The second half of a pool's code: disputes, their bonds and appeals. Deployed once,
/// beside the `PatentPool` implementation, which forwards every call it does not implement here
/// by delegatecall, so these functions run on the calling pool's storage (the shared
/// `PatentPoolBase` layout) and emit the pool's events. Called directly, it is an empty pool
/// nobody holds a role in.
contract PatentPoolDisputes is PatentPoolBase, IPatentPoolDisputes {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Nothing to initialise: this contract is only ever run by pools' delegatecalls.
    constructor() {
        _disableInitializers();
    }

    /// @inheritdoc IPatentPoolDisputes
    function openDispute(uint256 assetId, bytes32 evidenceHash)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 disputeId)
    {
        (, uint64 validUntil) = _latestTerm(_members[msg.sender]);
        if (!_founders[msg.sender].admitted && validUntil <= block.timestamp) {
            revert PatentPoolNotParticipant(msg.sender);
        }
        _requireInPool(assetId);
        disputeId = ++_disputeCount;
        _disputes[disputeId] = Dispute(assetId, msg.sender, evidenceHash, DisputeStatus.Open, bytes32(0));
        emit DisputeOpened(disputeId, assetId, msg.sender, evidenceHash);
        uint256 bond = _disputeBond;
        if (bond == 0) return disputeId;
        // The pool books what arrived (a fee-on-transfer token delivers less), and holds it apart
        // from revenue: no credit is booked from it until the ruling.
        IERC20 token = _paymentToken;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), bond);
        uint256 received = token.balanceOf(address(this)) - before;
        _disputeBonds[disputeId] = received;
        _bondsHeld += received;
        emit DisputeBondPosted(disputeId, msg.sender, received);
    }

    /// @inheritdoc IPatentPoolDisputes
    function resolveDispute(uint256 disputeId, bool upheld, bytes32 rulingHash) external onlyRole(ARBITER_ROLE) {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert PatentPoolDisputeNotOpen(disputeId);
        d.status = upheld ? DisputeStatus.Upheld : DisputeStatus.Dismissed;
        d.rulingHash = rulingHash;
        uint256 assetId = d.assetId;
        emit DisputeResolved(disputeId, assetId, msg.sender, upheld, rulingHash);
        PoolAsset storage a = _poolAssets[assetId];
        uint256 bond = _disputeBonds[disputeId];
        if (bond != 0) {
            // Credited, not sent: a ruling never depends on a token transfer to anyone.
            address to = upheld ? d.challenger : a.founder;
            _bondsHeld -= bond;
            _credits[to] += bond;
            emit DisputeBondReleased(disputeId, to, bond);
        }
        if (upheld && !a.suspended) {
            uint64 weight = a.weight;
            _removeWeight(a);
            a.suspended = true;
            a.suspendedAt = uint64(block.timestamp);
            // Timestamps fit 48 bits for millions of years; the trace's keys never decrease.
            // slither-disable-next-line unused-return -- Checkpoints.push returns the previous and new values, which are not needed
            _suspensions[assetId].push(uint48(block.timestamp), 1);
            emit AssetSuspended(assetId, disputeId, weight);
        }
    }

    /// @inheritdoc IPatentPoolDisputes
    function liftSuspension(uint256 assetId, bytes32 rulingHash) external onlyRole(ARBITER_ROLE) {
        PoolAsset storage a = _poolAssets[assetId];
        if (!a.suspended || a.withdrawnAt != 0) revert PatentPoolNotSuspended(assetId);
        a.suspended = false;
        // slither-disable-next-line unused-return -- Checkpoints.push returns the previous and new values, which are not needed
        _suspensions[assetId].push(uint48(block.timestamp), 0);
        // A family lists at most a few hundred patents, far below 2**64.
        uint64 weight = uint64(_grantedInRequired(assetId));
        _addWeight(_founders[a.founder], a, weight);
        emit SuspensionLifted(assetId, msg.sender, rulingHash, weight);
    }

    /// @inheritdoc IPatentPoolDisputes
    function onAssetTransfer(uint256 assetId, address from, address to) external {
        if (msg.sender != address(_assetRegistry)) revert PatentPoolNotAssetRegistry(msg.sender);
        PoolAsset storage a = _poolAssets[assetId];
        // The registry calls only the pools the family is in, whose holder is the seller; a
        // withdrawn asset left the registry's list.
        if (a.founder != from || a.withdrawnAt != 0) return;
        uint64 weight = a.weight;
        _removeWeight(a);
        a.founder = to;
        _addWeight(_founders[to], a, weight);
        emit AssetFounderChanged(assetId, from, to, weight);
    }

    /// @inheritdoc IPatentPoolDisputes
    function setDisputeBond(uint256 bond) external onlyRole(OPERATOR_ROLE) {
        _change(uint8(Parameter.DisputeBond), bond);
    }

    /// @inheritdoc IPatentPoolDisputes
    function dispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IPatentPoolDisputes
    function disputeBond() external view returns (uint256) {
        return _disputeBond;
    }

    /// @inheritdoc IPatentPoolDisputes
    function disputeBondOf(uint256 disputeId) external view returns (uint256) {
        return _disputeBonds[disputeId];
    }

    /// @inheritdoc IPatentPoolDisputes
    function bondsHeld() external view returns (uint256) {
        return _bondsHeld;
    }

    /// @inheritdoc IPatentPoolDisputes
    function isSuspended(uint256 assetId, uint64 at) external view returns (bool) {
        uint48 key = at > type(uint48).max ? type(uint48).max : uint48(at);
        return _suspensions[assetId].upperLookupRecent(key) != 0;
    }
}

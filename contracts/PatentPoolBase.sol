// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IPatentAsset} from "./interfaces/IPatentAsset.sol";
import {IPatentPoolTypes} from "./interfaces/IPatentPool.sol";

/// @title PatentPoolBase
/// @notice The storage of a pool and the few internals both halves of its code use. A pool's code
/// is split in two contracts that share this layout: `PatentPool` (the clones' implementation) and
/// `PatentPoolDisputes`, to which `PatentPool` forwards by delegatecall every call it does not
/// implement itself, so both read and write the clone's storage. Only these two inherit it, in
/// the same order, so their layouts cannot drift apart.
abstract contract PatentPoolBase is IPatentPoolTypes, AccessControl, Pausable, ReentrancyGuardTransient, Initializable {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Role that configures the pool, admits founders and offers or revokes licences.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Role that rules on disputes.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    /// @notice Length of one membership term.
    uint64 public constant MEMBERSHIP_TERM = 365 days;
    /// @notice How long after it is made an offer can be accepted.
    uint64 public constant OFFER_ACCEPTANCE_WINDOW = 30 days;

    uint256 internal constant _PRECISION = 1e18;
    uint256 internal constant _BPS = 10_000;
    uint8 internal constant _TIER_COUNT = 3;
    uint256 internal constant _MAX_JURISDICTIONS = 16;
    uint256 internal constant _MAX_OFFER_ASSETS = 256;
    /// Licence scope key of whole-pool licences; asset ids start at 1, so 0 is free.
    uint256 internal constant _WHOLE_POOL = 0;
    uint16 internal constant _DEFAULT_OPERATOR_SHARE_BPS = 1_000;
    uint64 internal constant _DEFAULT_WITHDRAWAL_NOTICE = 90 days;
    uint64 internal constant _DEFAULT_MAX_LICENCE_LENGTH = 5 * 365 days;
    uint64 internal constant _MIN_CHANGE_DELAY = 1 days;
    uint64 internal constant _MAX_CHANGE_DELAY = 365 days;
    uint64 internal constant _MAX_LICENCE_LENGTH_CAP = 100 * 365 days;

    // `admitted`, `weight` and `debt` share one slot: a settlement reads and writes that one slot,
    // which is non-zero from admission on, so a founder's first claim or contribution never pays
    // for a slot written from zero.
    struct Founder {
        bool admitted;
        // The sum of its assets' weights (each a count of patents, far below 2**64).
        uint64 weight;
        // weight * accumulator at the last settlement (scaled by _PRECISION, never rounded): what
        // the founder was already credited with. 184 bits hold 2.4e55: a weight of a million times
        // 1e31 wei paid per unit of weight (1e13 tokens of 18 decimals), scaled by 1e18, is 1e55;
        // beyond that the settlement reverts (SafeCast) rather than wrap.
        uint184 debt;
        // Credited and not yet claimed, scaled by _PRECISION; claims pay whole units and keep
        // the sub-unit rest, so rounding never credits a founder more than was paid in.
        uint256 credit;
    }

    struct Member {
        // Keyed by term start; value packs (tier << 128 | term end << 64 | time the term was paid).
        // The latest checkpoint is the member's tier and the end of its latest term: membership has
        // this one record, so a join or renewal writes one new slot and no other.
        Checkpoints.Trace208 terms;
    }

    string internal _name;
    uint8 internal _kind;
    string internal _field;
    string internal _territory;
    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    Lifecycle internal _lifecycle;
    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    IERC20 internal _paymentToken;
    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    IPatentAsset internal _assetRegistry;
    uint16 internal _operatorShareBps;
    address internal _treasury;
    uint64 internal _withdrawalNotice;

    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    bytes2[] internal _jurisdictions;
    uint8 internal _minGranted;
    uint16 internal _minScoreBps;

    // Fixed at creation.
    uint16 internal _maxOperatorShareBps;
    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    uint64 internal _changeDelay;
    uint64 internal _maxLicenceLength;

    mapping(uint8 parameter => PendingChange) internal _pending;
    bytes2[] internal _pendingJurisdictions;
    uint8 internal _pendingMinGranted;
    uint16 internal _pendingMinScoreBps;

    // The one holder of DEFAULT_ADMIN_ROLE, and the account it offered the role to.
    address internal _defaultAdmin;
    address internal _pendingDefaultAdmin;

    mapping(uint8 tier => uint256 annualFee) internal _tierFees;

    mapping(address founder => Founder) internal _founders;
    uint256 internal _totalWeight;
    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    uint256 internal _accRevenuePerWeight;
    // Scaled remainder of the last division into the accumulator, carried into the next payment
    // so that no whole wei is dropped by rounding the per-weight rate.
    uint256 internal _accRemainder;
    mapping(address account => uint256 amount) internal _credits;

    mapping(uint256 assetId => PoolAsset) internal _poolAssets;
    uint256 internal _assetCount;

    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    mapping(address member => Member) internal _members;
    uint256 internal _memberCount;

    mapping(uint256 offerId => Offer) internal _offers;
    mapping(uint256 offerId => uint256[] assetIds) internal _offerAssets;
    uint256 internal _offerCount;

    mapping(uint256 licenceId => Licence) internal _licences;
    // Per licensee and scope (an asset id, or _WHOLE_POOL): keyed by licence start, value the
    // licence id. Licences of a scope never overlap, so the checkpoint at or before `at` names
    // the only licence that can cover `at`.
    mapping(address licensee => mapping(uint256 scope => Checkpoints.Trace208)) internal _coverage;
    uint256 internal _licenceCount;

    mapping(uint256 disputeId => Dispute) internal _disputes;
    // slither-disable-next-line uninitialized-state -- written by the other half of the pool's code (PatentPool or PatentPoolDisputes), on the same storage
    uint256 internal _disputeCount;

    // Issue 14, point 8: what opening a dispute costs, and the bonds held for open disputes, apart
    // from revenue (no credit is ever booked from them until their dispute is ruled on).
    uint256 internal _disputeBond;
    uint256 internal _bondsHeld;
    mapping(uint256 disputeId => uint256 amount) internal _disputeBonds;
    // Per asset, keyed by time: 1 from a suspension on, 0 from the lifting of it on (an appeal), so
    // `isLicensed` answers for any past moment as it did then.
    mapping(uint256 assetId => Checkpoints.Trace208) internal _suspensions;

    modifier inLifecycle(Lifecycle required) {
        if (_lifecycle != required) revert PatentPoolInvalidLifecycle(uint8(_lifecycle));
        _;
    }

    modifier notClosed() {
        if (_lifecycle == Lifecycle.Closed) revert PatentPoolInvalidLifecycle(uint8(_lifecycle));
        _;
    }


    /// A member's tier and the end of its latest term (both 0 when never a member).
    function _latestTerm(Member storage m) internal view returns (uint8 tier, uint64 validUntil) {
        // No checkpoint: the value is 0, so never a member (tier 0, term end 0).
        uint208 term = m.terms.latest();
        return (uint8(term >> 128), uint64(term >> 64));
    }

    /// Credits a founder with everything the accumulator owes it so far.
    function _settle(Founder storage f) internal {
        uint256 owed = f.weight * _accRevenuePerWeight;
        f.credit += owed - f.debt;
        f.debt = SafeCast.toUint184(owed);
    }

    /// Takes an asset's weight out of its founder's and the pool's total, after settling.
    function _removeWeight(PoolAsset storage a) internal {
        uint64 weight = a.weight;
        if (weight == 0) return;
        Founder storage f = _founders[a.founder];
        _settle(f);
        f.weight -= weight;
        f.debt = SafeCast.toUint184(f.weight * _accRevenuePerWeight);
        _totalWeight -= weight;
        a.weight = 0;
    }

    function _requireInPool(uint256 assetId) internal view returns (PoolAsset storage a) {
        a = _poolAssets[assetId];
        if (a.contributedAt == 0 || a.withdrawnAt != 0 || a.suspended) revert PatentPoolAssetNotInPool(assetId);
    }

    /// Sets a parameter at once while the pool is Incubating (nobody has paid or been paid yet),
    /// and announces it, to take effect after the change delay, from then on.
    function _change(uint8 parameter, uint256 value) internal {
        if (_lifecycle == Lifecycle.Incubating) {
            _set(parameter, value);
            return;
        }
        uint64 effectiveAt = _announce(parameter, value);
        emit ParameterChangeAnnounced(parameter, value, effectiveAt);
    }

    /// Records a pending change (replacing any earlier one of the parameter).
    function _announce(uint8 parameter, uint256 value) internal returns (uint64 effectiveAt) {
        // The delay is at most 365 days: no overflow.
        effectiveAt = uint64(block.timestamp) + _changeDelay;
        _pending[parameter] = PendingChange(effectiveAt, value);
    }

    /// Puts a parameter's new value in force; the values were checked when they were given.
    function _set(uint8 parameter, uint256 value) internal {
        if (parameter == uint8(Parameter.OperatorShare)) {
            // Checked against the ceiling (at most 10000) when given.
            uint16 bps = uint16(value);
            _operatorShareBps = bps;
            emit OperatorShareSet(bps);
        } else if (parameter == uint8(Parameter.WithdrawalNotice)) {
            // Checked against the change delay (at most 365 days) when given.
            uint64 notice = uint64(value);
            _withdrawalNotice = notice;
            emit WithdrawalNoticeSet(notice);
        } else if (parameter == uint8(Parameter.MaxLicenceLength)) {
            // Checked against 100 years when given.
            uint64 maxLength = uint64(value);
            _maxLicenceLength = maxLength;
            emit MaxLicenceLengthSet(maxLength);
        } else if (parameter == uint8(Parameter.DisputeBond)) {
            _disputeBond = value;
            emit DisputeBondSet(value);
        } else {
            // TierFee0 .. TierFee2: the tier was checked when the fee was given.
            uint8 tier = parameter - uint8(Parameter.TierFee0);
            _tierFees[tier] = value;
            emit TierFeeSet(tier, value);
        }
    }

    /// The asset's verified grants in the pool's required jurisdictions, as the registry counts them
    /// now. Bounded by _MAX_JURISDICTIONS (16) registry reads; independent of the pool's size.
    function _grantedInRequired(uint256 assetId) internal view returns (uint256 granted) {
        uint256 n = _jurisdictions.length;
        for (uint256 i = 0; i < n; ++i) {
            granted += _assetRegistry.grantedIn(assetId, _jurisdictions[i]);
        }
    }

    /// Gives an asset `weight` (it has none) and adds it to its founder `f`'s and the pool's, after
    /// settling the founder.
    function _addWeight(Founder storage f, PoolAsset storage a, uint64 weight) internal {
        _settle(f);
        f.weight += weight;
        f.debt = SafeCast.toUint184(f.weight * _accRevenuePerWeight);
        _totalWeight += weight;
        a.weight = weight;
    }
}

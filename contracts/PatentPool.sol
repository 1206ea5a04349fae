// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IPatentAsset} from "./interfaces/IPatentAsset.sol";
import {OfficeCodes} from "./libraries/OfficeCodes.sol";
import {IPatentPool} from "./interfaces/IPatentPool.sol";
import {PatentPoolBase} from "./PatentPoolBase.sol";

/// @title PatentPool
/// @notice One patent pool, deployed as an EIP-1167 clone by PoolFactory. See IPatentPool for the
/// rules; every transaction here is O(1) in the number of members, founders, assets and licences.
///
/// The pool's code is split in two, for EIP-170's 24,576-byte limit: this contract, and
/// `PatentPoolDisputes` (`IPatentPoolDisputes`: disputes, their bonds and appeals), whose address
/// is fixed in this implementation's code. Every call this contract does not implement goes by
/// delegatecall to it (`fallback`), so it runs on the clone's storage, as the clone's code: one
/// address, one storage, one event stream, and the extra delegatecall costs only those calls.
contract PatentPool is PatentPoolBase, IPatentPool {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// The second half of the pool's code (see above).
    address private immutable _DISPUTES;

    /// @notice The implementation behind the clones is never initialised itself.
    /// @param disputes the `PatentPoolDisputes` contract every pool made from this one runs
    constructor(address disputes) {
        if (disputes.code.length == 0) revert PatentPoolZeroAddress();
        _DISPUTES = disputes;
        _disableInitializers();
    }

    /// @notice Runs the functions of `IPatentPoolDisputes` (and answers any other unknown call as
    /// they do, with a revert) by delegatecall to the `PatentPoolDisputes` contract.
    fallback() external {
        address target = _DISPUTES;
        // As OpenZeppelin's Proxy: the call returns or reverts at once, so memory is free to use.
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @inheritdoc IPatentPool
    function disputesModule() external view returns (address) {
        return _DISPUTES;
    }

    /// @inheritdoc IPatentPool
    function initialize(
        string memory name,
        uint8 kind,
        string memory field,
        address paymentToken,
        address operator,
        address assetRegistry_,
        uint16 maxOperatorShareBps,
        uint64 changeDelay
    ) external initializer {
        if (paymentToken == address(0) || operator == address(0) || assetRegistry_ == address(0)) {
            revert PatentPoolZeroAddress();
        }
        if (maxOperatorShareBps > _BPS || changeDelay < _MIN_CHANGE_DELAY || changeDelay > _MAX_CHANGE_DELAY) {
            revert PatentPoolInvalidBounds(maxOperatorShareBps, changeDelay);
        }
        _name = name;
        _kind = kind;
        _field = field;
        _paymentToken = IERC20(paymentToken);
        _assetRegistry = IPatentAsset(assetRegistry_);
        _defaultAdmin = operator;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(ARBITER_ROLE, operator);
        emit PoolInitialized(name, kind, field, paymentToken, operator, assetRegistry_);
        _initializeDefaults(operator, maxOperatorShareBps, changeDelay);
    }

    /// The bounds and the default parameters of a new pool (a function of its own: `initialize`
    /// has too many arguments to hold these on the stack too).
    function _initializeDefaults(address operator, uint16 maxOperatorShareBps, uint64 changeDelay) private {
        _maxOperatorShareBps = maxOperatorShareBps;
        _changeDelay = changeDelay;
        emit PoolBoundsSet(maxOperatorShareBps, changeDelay);

        _treasury = operator;
        emit TreasurySet(operator);
        uint16 share = maxOperatorShareBps < _DEFAULT_OPERATOR_SHARE_BPS ? maxOperatorShareBps : _DEFAULT_OPERATOR_SHARE_BPS;
        _operatorShareBps = share;
        emit OperatorShareSet(share);
        uint64 notice = changeDelay < _DEFAULT_WITHDRAWAL_NOTICE ? changeDelay : _DEFAULT_WITHDRAWAL_NOTICE;
        _withdrawalNotice = notice;
        emit WithdrawalNoticeSet(notice);
        _maxLicenceLength = _DEFAULT_MAX_LICENCE_LENGTH;
        emit MaxLicenceLengthSet(_DEFAULT_MAX_LICENCE_LENGTH);
        bytes2[] memory defaults = new bytes2[](4);
        defaults[0] = "US";
        defaults[1] = "CN";
        defaults[2] = "DE";
        defaults[3] = "JP";
        _jurisdictions = defaults;
        _minGranted = 2;
        _minScoreBps = 6_000;
        emit QualificationSet(defaults, 2, 6_000);
    }

    // ------------------------------------------------------------------ operator configuration

    /// @inheritdoc IPatentPool
    function setTierFee(uint8 tier, uint256 annualFee) external onlyRole(OPERATOR_ROLE) {
        if (tier >= _TIER_COUNT) revert PatentPoolInvalidTier(tier);
        _change(uint8(Parameter.TierFee0) + tier, annualFee);
    }

    /// @inheritdoc IPatentPool
    function setQualification(bytes2[] calldata jurisdictions, uint8 minGranted, uint16 minScoreBps)
        external
        onlyRole(OPERATOR_ROLE)
    {
        uint256 n = jurisdictions.length;
        bool ok = n != 0 && n <= _MAX_JURISDICTIONS && minGranted != 0 && minScoreBps <= _BPS;
        // Bounded by _MAX_JURISDICTIONS: at most 120 comparisons.
        for (uint256 i = 0; ok && i < n; ++i) {
            ok = OfficeCodes.isValid(jurisdictions[i]);
            for (uint256 j = 0; ok && j < i; ++j) {
                ok = jurisdictions[i] != jurisdictions[j];
            }
        }
        if (!ok) revert PatentPoolInvalidQualification(n, minGranted, minScoreBps);
        if (_lifecycle == Lifecycle.Incubating) {
            _setQualification(jurisdictions, minGranted, minScoreBps);
            return;
        }
        uint64 effectiveAt = _announce(uint8(Parameter.Qualification), 0);
        _pendingJurisdictions = jurisdictions;
        _pendingMinGranted = minGranted;
        _pendingMinScoreBps = minScoreBps;
        emit QualificationChangeAnnounced(jurisdictions, minGranted, minScoreBps, effectiveAt);
    }

    /// @inheritdoc IPatentPool
    function setOperatorShare(uint16 bps) external onlyRole(OPERATOR_ROLE) {
        if (bps > _BPS) revert PatentPoolInvalidShare(bps);
        if (bps > _maxOperatorShareBps) revert PatentPoolShareAboveCeiling(bps, _maxOperatorShareBps);
        _change(uint8(Parameter.OperatorShare), bps);
    }

    /// @inheritdoc IPatentPool
    function setTerritory(string calldata territory) external onlyRole(OPERATOR_ROLE) {
        if (bytes(territory).length > 200) revert PatentPoolTextTooLong(bytes(territory).length, 200);
        _territory = territory;
        emit TerritorySet(territory);
    }

    /// @inheritdoc IPatentPool
    function setTreasury(address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury == address(0)) revert PatentPoolZeroAddress();
        _treasury = treasury;
        emit TreasurySet(treasury);
    }

    /// @inheritdoc IPatentPool
    function setWithdrawalNotice(uint64 noticePeriod) external onlyRole(OPERATOR_ROLE) {
        if (noticePeriod > _changeDelay) revert PatentPoolInvalidNotice(noticePeriod, _changeDelay);
        _change(uint8(Parameter.WithdrawalNotice), noticePeriod);
    }

    /// @inheritdoc IPatentPool
    function setMaxLicenceLength(uint64 maxLength) external onlyRole(OPERATOR_ROLE) {
        if (maxLength == 0 || maxLength > _MAX_LICENCE_LENGTH_CAP) revert PatentPoolInvalidLicenceLength(maxLength);
        _change(uint8(Parameter.MaxLicenceLength), maxLength);
    }

    /// @inheritdoc IPatentPool
    function applyParameterChange(uint8 parameter) external {
        PendingChange storage p = _pending[parameter];
        uint64 effectiveAt = p.effectiveAt;
        if (effectiveAt == 0 || block.timestamp < effectiveAt) revert PatentPoolChangeNotDue(parameter, effectiveAt);
        uint256 value = p.value;
        delete _pending[parameter];
        if (parameter == uint8(Parameter.Qualification)) {
            _setQualification(_pendingJurisdictions, _pendingMinGranted, _pendingMinScoreBps);
            delete _pendingJurisdictions;
        } else {
            _set(parameter, value);
        }
    }

    /// @inheritdoc IPatentPool
    function activate() external onlyRole(OPERATOR_ROLE) inLifecycle(Lifecycle.Incubating) {
        _lifecycle = Lifecycle.Active;
        emit LifecycleChanged(uint8(Lifecycle.Incubating), uint8(Lifecycle.Active));
    }

    /// @inheritdoc IPatentPool
    function close() external onlyRole(OPERATOR_ROLE) notClosed {
        Lifecycle from = _lifecycle;
        _lifecycle = Lifecycle.Closed;
        emit LifecycleChanged(uint8(from), uint8(Lifecycle.Closed));
    }

    /// @inheritdoc IPatentPool
    function pause() external onlyRole(OPERATOR_ROLE) {
        _pause();
    }

    /// @inheritdoc IPatentPool
    function unpause() external onlyRole(OPERATOR_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ admin in two steps

    /// @notice DEFAULT_ADMIN_ROLE changes hands only by `beginDefaultAdminTransfer` and
    /// `acceptDefaultAdminTransfer`; every other role as in AccessControl.
    function grantRole(bytes32 role, address account) public override {
        if (role == DEFAULT_ADMIN_ROLE) revert PatentPoolAdminChangesInTwoSteps();
        super.grantRole(role, account);
    }

    /// @notice As `grantRole`: the default admin cannot be revoked, only replaced in two steps.
    function revokeRole(bytes32 role, address account) public override {
        if (role == DEFAULT_ADMIN_ROLE) revert PatentPoolAdminChangesInTwoSteps();
        super.revokeRole(role, account);
    }

    /// @notice As `grantRole`: the default admin cannot renounce, only hand over in two steps.
    function renounceRole(bytes32 role, address callerConfirmation) public override {
        if (role == DEFAULT_ADMIN_ROLE) revert PatentPoolAdminChangesInTwoSteps();
        super.renounceRole(role, callerConfirmation);
    }

    /// @inheritdoc IPatentPool
    function beginDefaultAdminTransfer(address newAdmin) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pendingDefaultAdmin = newAdmin;
        emit DefaultAdminTransferBegun(msg.sender, newAdmin);
    }

    /// @inheritdoc IPatentPool
    function acceptDefaultAdminTransfer() external {
        address pending = _pendingDefaultAdmin;
        if (msg.sender != pending || pending == address(0)) revert PatentPoolNotPendingAdmin(msg.sender, pending);
        address previous = _defaultAdmin;
        _pendingDefaultAdmin = address(0);
        _defaultAdmin = pending;
        _revokeRole(DEFAULT_ADMIN_ROLE, previous);
        _grantRole(DEFAULT_ADMIN_ROLE, pending);
    }

    /// @inheritdoc IPatentPool
    function defaultAdmin() external view returns (address admin, address pendingAdmin) {
        return (_defaultAdmin, _pendingDefaultAdmin);
    }

    // ------------------------------------------------------------------ founders and assets

    /// @inheritdoc IPatentPool
    function admitFounder(address founder) external onlyRole(OPERATOR_ROLE) notClosed {
        if (founder == address(0)) revert PatentPoolZeroAddress();
        Founder storage f = _founders[founder];
        if (f.admitted) revert PatentPoolAlreadyFounder(founder);
        f.admitted = true;
        emit FounderAdmitted(founder);
    }

    /// @inheritdoc IPatentPool
    function contribute(uint256 assetId) external whenNotPaused notClosed {
        Founder storage f = _founders[msg.sender];
        if (!f.admitted) revert PatentPoolNotFounder(msg.sender);
        address owner = IERC721(address(_assetRegistry)).ownerOf(assetId);
        if (owner != msg.sender) revert PatentPoolNotAssetOwner(assetId, msg.sender, owner);
        PoolAsset storage a = _poolAssets[assetId];
        if (a.contributedAt != 0) revert PatentPoolAssetAlreadyContributed(assetId);

        uint256 granted = _grantedInRequired(assetId);
        if (granted < _minGranted) revert PatentPoolNotQualified(assetId, granted, _minGranted);
        uint16 score = _assetRegistry.stabilityScore(assetId);
        if (score < _minScoreBps) revert PatentPoolScoreTooLow(assetId, score, _minScoreBps);

        // A family lists at most a few hundred patents, far below 2**64.
        uint64 weight = uint64(granted);
        a.founder = msg.sender;
        _addWeight(f, a, weight);
        a.contributedAt = uint64(block.timestamp);
        ++_assetCount;
        emit AssetContributed(assetId, msg.sender, weight, granted, score);
        // The registry tells the pool of the token's transfers from now on: the asset follows it.
        _assetRegistry.enterPool(assetId);
    }

    /// @inheritdoc IPatentPool
    function announceWithdrawal(uint256 assetId) external {
        PoolAsset storage a = _requireInPool(assetId);
        if (a.founder != msg.sender) revert PatentPoolNotContributor(assetId, msg.sender, a.founder);
        if (a.withdrawalEffectiveAt != 0) revert PatentPoolWithdrawalAlreadyAnnounced(assetId, a.withdrawalEffectiveAt);
        // The notice is at most the change delay (at most 365 days): no overflow.
        uint64 effectiveAt = uint64(block.timestamp) + _withdrawalNotice;
        a.withdrawalEffectiveAt = effectiveAt;
        a.withdrawalAnnouncedAt = uint64(block.timestamp);
        emit AssetWithdrawalAnnounced(assetId, msg.sender, effectiveAt);
    }

    /// @inheritdoc IPatentPool
    function completeWithdrawal(uint256 assetId) external {
        PoolAsset storage a = _poolAssets[assetId];
        if (a.contributedAt == 0 || a.withdrawnAt != 0) revert PatentPoolAssetNotInPool(assetId);
        uint64 effectiveAt = a.withdrawalEffectiveAt;
        if (effectiveAt == 0 || block.timestamp < effectiveAt) revert PatentPoolWithdrawalNotDue(assetId, effectiveAt);
        uint64 weight = a.weight;
        _removeWeight(a);
        a.withdrawnAt = uint64(block.timestamp);
        emit AssetWithdrawn(assetId, a.founder, weight);
        _assetRegistry.leavePool(assetId);
    }

    /// @inheritdoc IPatentPool
    function reweigh(uint256 assetId) external returns (uint64 weight) {
        PoolAsset storage a = _requireInPool(assetId);
        uint64 old = a.weight;
        // A family lists at most a few hundred patents, far below 2**64.
        weight = uint64(_grantedInRequired(assetId));
        if (weight == old) return weight;
        _removeWeight(a);
        _addWeight(_founders[a.founder], a, weight);
        emit AssetReweighed(assetId, a.founder, old, weight);
    }

    // ------------------------------------------------------------------ members

    /// @inheritdoc IPatentPool
    function join(uint8 tier, uint256 maxFee) external nonReentrant whenNotPaused inLifecycle(Lifecycle.Active) {
        if (tier >= _TIER_COUNT) revert PatentPoolInvalidTier(tier);
        uint256 fee = _feeFor(tier, maxFee);
        Member storage m = _members[msg.sender];
        (, uint64 validUntil) = _latestTerm(m);
        if (validUntil > block.timestamp) revert PatentPoolAlreadyMember(msg.sender, validUntil);
        if (validUntil == 0) ++_memberCount;
        uint64 start = uint64(block.timestamp);
        uint64 end = _addTerm(m, tier, start);
        emit MemberJoined(msg.sender, tier, fee, start, end);
        _collect(fee);
    }

    /// @inheritdoc IPatentPool
    function renew(uint256 maxFee) external nonReentrant whenNotPaused inLifecycle(Lifecycle.Active) {
        Member storage m = _members[msg.sender];
        (uint8 tier, uint64 validUntil) = _latestTerm(m);
        if (validUntil == 0) revert PatentPoolNotMember(msg.sender);
        // At most one term paid ahead: the running term may end no later than a term from now.
        if (validUntil > block.timestamp + MEMBERSHIP_TERM) revert PatentPoolRenewalTooEarly(msg.sender, validUntil);
        uint256 fee = _feeFor(tier, maxFee);
        uint64 start = validUntil > block.timestamp ? validUntil : uint64(block.timestamp);
        uint64 end = _addTerm(m, tier, start);
        emit MembershipRenewed(msg.sender, tier, fee, start, end);
        _collect(fee);
    }

    // ------------------------------------------------------------------ unified licences

    /// @inheritdoc IPatentPool
    function offerLicence(
        address licensee,
        uint256[] calldata assetIds,
        uint64 start,
        uint64 end,
        uint256 price,
        bytes32 termsHash
    ) external onlyRole(OPERATOR_ROLE) inLifecycle(Lifecycle.Active) returns (uint256 offerId) {
        if (licensee == address(0)) revert PatentPoolZeroAddress();
        // Checkpoint keys are 48-bit times (millions of years): a later end is no real period.
        if (start >= end || end <= block.timestamp || end > type(uint48).max) revert PatentPoolInvalidPeriod(start, end);
        if (end - start > _maxLicenceLength) revert PatentPoolLicenceTooLong(start, end, _maxLicenceLength);
        uint256 n = assetIds.length;
        if (n > _MAX_OFFER_ASSETS) revert PatentPoolTooManyAssets(n);
        // Bounded by _MAX_OFFER_ASSETS: the operator's own list, not the pool's assets.
        for (uint256 i = 0; i < n; ++i) {
            if (i != 0 && assetIds[i] <= assetIds[i - 1]) revert PatentPoolAssetsNotAscending(i);
            _requireInPool(assetIds[i]);
        }
        offerId = ++_offerCount;
        uint64 acceptBy = uint64(block.timestamp) + OFFER_ACCEPTANCE_WINDOW;
        _offers[offerId] = Offer(licensee, start, end, price, termsHash, true, 0, acceptBy);
        _offerAssets[offerId] = assetIds;
        emit LicenceOffered(offerId, licensee, assetIds, start, end, price, termsHash);
        emit LicenceOfferDeadline(offerId, acceptBy);
    }

    /// @inheritdoc IPatentPool
    function cancelOffer(uint256 offerId) external onlyRole(OPERATOR_ROLE) {
        Offer storage o = _offers[offerId];
        if (!o.open) revert PatentPoolOfferNotOpen(offerId);
        o.open = false;
        emit OfferCancelled(offerId);
    }

    /// @inheritdoc IPatentPool
    function acceptOffer(uint256 offerId)
        external
        nonReentrant
        whenNotPaused
        inLifecycle(Lifecycle.Active)
        returns (uint256 licenceId)
    {
        Offer storage o = _offers[offerId];
        if (!o.open) revert PatentPoolOfferNotOpen(offerId);
        if (o.licensee != msg.sender) revert PatentPoolNotOfferee(offerId, msg.sender, o.licensee);
        if (o.end <= block.timestamp) revert PatentPoolOfferExpired(offerId, o.end);
        if (block.timestamp > o.acceptBy) revert PatentPoolAcceptanceClosed(offerId, o.acceptBy);

        licenceId = ++_licenceCount;
        uint256[] storage assetIds = _offerAssets[offerId];
        uint256 n = assetIds.length;
        bool wholePool = n == 0;
        if (wholePool) {
            _linkLicence(msg.sender, _WHOLE_POOL, licenceId, o.start);
        }
        // Bounded by _MAX_OFFER_ASSETS: the assets this offer names.
        for (uint256 i = 0; i < n; ++i) {
            uint256 assetId = assetIds[i];
            _requireInPool(assetId);
            _linkLicence(msg.sender, assetId, licenceId, o.start);
        }
        o.open = false;
        o.licenceId = licenceId;
        _licences[licenceId] =
            Licence(msg.sender, offerId, o.start, o.end, uint64(block.timestamp), o.price, wholePool, false, 0);
        emit LicenceGranted(licenceId, offerId, msg.sender, o.start, o.end, o.price);
        _collect(o.price);
    }

    /// @inheritdoc IPatentPool
    function revokeLicence(uint256 licenceId, bytes32 reasonHash) external onlyRole(OPERATOR_ROLE) {
        Licence storage l = _licences[licenceId];
        if (l.licensee == address(0) || l.revoked) revert PatentPoolLicenceNotRevocable(licenceId);
        l.revoked = true;
        l.revokedAt = uint64(block.timestamp);
        emit LicenceRevoked(licenceId, l.licensee, reasonHash);
    }

    /// @inheritdoc IPatentPool
    function isLicensed(address licensee, uint256 assetId, uint64 at) external view returns (bool) {
        PoolAsset storage a = _poolAssets[assetId];
        uint64 contributedAt = a.contributedAt;
        if (contributedAt == 0 || at < contributedAt) return false;
        uint48 key = at > type(uint48).max ? type(uint48).max : uint48(at);
        // A suspension, and its lifting on appeal, take effect when they happen: earlier answers
        // stay as they were. Only an asset ever suspended (suspendedAt != 0) has a trace to read.
        if (a.suspendedAt != 0 && _lookup(_suspensions[assetId], key) != 0) return false;
        uint208 term = _lookup(_members[licensee].terms, key);
        if (term != 0 && at < uint64(term >> 64) && _binds(a, uint64(term), at)) return true;
        return _licenceCovers(licensee, _WHOLE_POOL, key, at, a) || _licenceCovers(licensee, assetId, key, at, a);
    }

    // ------------------------------------------------------------------ revenue

    /// @inheritdoc IPatentPool
    function claimable(address account) external view returns (uint256) {
        Founder storage f = _founders[account];
        return _credits[account] + (f.credit + f.weight * _accRevenuePerWeight - f.debt) / _PRECISION;
    }

    /// @inheritdoc IPatentPool
    function claim() external nonReentrant returns (uint256 amount) {
        Founder storage f = _founders[msg.sender];
        _settle(f);
        uint256 founderAmount = f.credit / _PRECISION;
        amount = _credits[msg.sender] + founderAmount;
        if (amount == 0) revert PatentPoolNothingToClaim(msg.sender);
        _credits[msg.sender] = 0;
        f.credit %= _PRECISION;
        emit RevenueClaimed(msg.sender, amount);
        _paymentToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IPatentPool
    function profile()
        external
        view
        returns (
            string memory name,
            uint8 kind,
            string memory field,
            string memory territory,
            uint8 lifecycle,
            address paymentToken,
            uint16 operatorShareBps,
            address treasury
        )
    {
        return (
            _name,
            _kind,
            _field,
            _territory,
            uint8(_lifecycle),
            address(_paymentToken),
            _operatorShareBps,
            _treasury
        );
    }

    /// @inheritdoc IPatentPool
    function qualification() external view returns (bytes2[] memory jurisdictions, uint8 minGranted, uint16 minScoreBps) {
        return (_jurisdictions, _minGranted, _minScoreBps);
    }

    /// @inheritdoc IPatentPool
    function tierFee(uint8 tier) external view returns (uint256) {
        return _tierFees[tier];
    }

    /// @inheritdoc IPatentPool
    function assetRegistry() external view returns (address) {
        return address(_assetRegistry);
    }

    /// @inheritdoc IPatentPool
    function withdrawalNotice() external view returns (uint64) {
        return _withdrawalNotice;
    }

    /// @inheritdoc IPatentPool
    function bounds() external view returns (uint16 maxOperatorShareBps, uint64 changeDelay, uint64 maxLicenceLength) {
        return (_maxOperatorShareBps, _changeDelay, _maxLicenceLength);
    }

    /// @inheritdoc IPatentPool
    function pendingChange(uint8 parameter) external view returns (uint256 value, uint64 effectiveAt) {
        PendingChange storage p = _pending[parameter];
        return (p.value, p.effectiveAt);
    }

    /// @inheritdoc IPatentPool
    function pendingQualification()
        external
        view
        returns (bytes2[] memory jurisdictions, uint8 minGranted, uint16 minScoreBps, uint64 effectiveAt)
    {
        return (
            _pendingJurisdictions,
            _pendingMinGranted,
            _pendingMinScoreBps,
            _pending[uint8(Parameter.Qualification)].effectiveAt
        );
    }

    /// @inheritdoc IPatentPool
    function isFounder(address account) external view returns (bool) {
        return _founders[account].admitted;
    }

    /// @inheritdoc IPatentPool
    function founderWeight(address founder) external view returns (uint256) {
        return _founders[founder].weight;
    }

    /// @inheritdoc IPatentPool
    function totalWeight() external view returns (uint256) {
        return _totalWeight;
    }

    /// @inheritdoc IPatentPool
    function poolAsset(uint256 assetId) external view returns (PoolAsset memory) {
        return _poolAssets[assetId];
    }

    /// @inheritdoc IPatentPool
    function membership(address member) external view returns (uint8 tier, uint64 validUntil) {
        return _latestTerm(_members[member]);
    }

    /// @inheritdoc IPatentPool
    function offer(uint256 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @inheritdoc IPatentPool
    function offerAssets(uint256 offerId) external view returns (uint256[] memory) {
        return _offerAssets[offerId];
    }

    /// @inheritdoc IPatentPool
    function licence(uint256 licenceId) external view returns (Licence memory) {
        return _licences[licenceId];
    }

    /// @inheritdoc IPatentPool
    function counts()
        external
        view
        returns (uint256 members, uint256 assets, uint256 offers, uint256 licences, uint256 disputes)
    {
        return (_memberCount, _assetCount, _offerCount, _licenceCount, _disputeCount);
    }

    // ------------------------------------------------------------------ internals

    function _setQualification(bytes2[] memory jurisdictions, uint8 minGranted, uint16 minScoreBps) private {
        _jurisdictions = jurisdictions;
        _minGranted = minGranted;
        _minScoreBps = minScoreBps;
        emit QualificationSet(jurisdictions, minGranted, minScoreBps);
    }

    function _feeFor(uint8 tier, uint256 maxFee) private view returns (uint256 fee) {
        fee = _tierFees[tier];
        if (fee == 0) revert PatentPoolTierNotOffered(tier);
        if (fee > maxFee) revert PatentPoolFeeAboveMax(fee, maxFee);
    }

    function _addTerm(Member storage m, uint8 tier, uint64 start) private returns (uint64 end) {
        end = start + MEMBERSHIP_TERM;
        // Term starts increase (a join starts after the last term ended, a renewal at its end or
        // later), as Checkpoints requires. Timestamps fit 48 bits for millions of years.
        // slither-disable-next-line unused-return -- Checkpoints.push returns the previous and new values, which are not needed
        m.terms.push(uint48(start), (uint208(tier) << 128) | (uint208(end) << 64) | uint208(uint64(block.timestamp)));
    }

    /// Takes `amount` from the caller and splits what arrived between the treasury and the
    /// founders. Callers are nonReentrant; the token is called before the books are written
    /// because only the balance after the transfer says how much arrived.
    function _collect(uint256 amount) private {
        if (amount == 0) return;
        IERC20 token = _paymentToken;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        // Credit exactly what arrived: a fee-on-transfer token (or one whose fee is switched on
        // later) delivers less than `amount`, and the pool must never owe more than it holds.
        uint256 received = token.balanceOf(address(this)) - before;
        uint256 toOperator = (received * _operatorShareBps) / _BPS;
        uint256 toFounders = received - toOperator;
        uint256 unallocated = 0;
        uint256 totalWeight_ = _totalWeight;
        if (totalWeight_ == 0) {
            unallocated = toFounders;
            toFounders = 0;
        } else {
            uint256 scaled = toFounders * _PRECISION + _accRemainder;
            _accRevenuePerWeight += scaled / totalWeight_;
            _accRemainder = scaled % totalWeight_;
        }
        _credits[_treasury] += toOperator + unallocated;
        emit RevenueReceived(msg.sender, received, toOperator, toFounders, unallocated, _accRevenuePerWeight);
    }

    /// Records a licence as the latest of a licensee's scope. Licences of a scope are granted in
    /// time order and never overlap: the new one starts at or after the time the latest one stops
    /// covering (its end, or the moment it was revoked, but never before its own start). One
    /// checkpoint read and one write, however many licences the licensee had.
    function _linkLicence(address licensee, uint256 scope, uint256 licenceId, uint64 start) private {
        Checkpoints.Trace208 storage coverage = _coverage[licensee][scope];
        // Licence ids start at 1: 0 means the scope has no licence yet.
        uint256 latestId = coverage.latest();
        if (latestId != 0 && start < _coveredUntil(_licences[latestId])) revert PatentPoolLicenceOverlaps(latestId, scope);
        // offerLicence bounds every end, so every start, to 48 bits; a licence id never reaches 2**208.
        // slither-disable-next-line unused-return -- Checkpoints.push returns the previous and new values, which are not needed
        coverage.push(uint48(start), uint208(licenceId));
    }

    /// The first second a licence no longer covers: its end, or the moment it was revoked if that
    /// came first (clamped to its start when it was revoked before it began).
    function _coveredUntil(Licence storage l) private view returns (uint64) {
        uint64 end = l.end;
        if (!l.revoked) return end;
        uint64 revokedAt = l.revokedAt;
        if (revokedAt >= end) return end;
        return revokedAt > l.start ? revokedAt : l.start;
    }

    function _licenceCovers(address licensee, uint256 scope, uint48 key, uint64 at, PoolAsset storage a)
        private
        view
        returns (bool)
    {
        uint256 id = _lookup(_coverage[licensee][scope], key);
        if (id == 0) return false;
        Licence storage l = _licences[id];
        // The checkpoint at or before `at` is the only licence of the scope that can cover it; a
        // revocation ends its cover from the moment it happened, not before.
        if (at >= l.end || (l.revoked && at >= l.revokedAt)) return false;
        // A whole-pool licence covers the assets in the pool when it was accepted: the set the
        // licensee was shown and paid for, whose founders shared its price.
        if (scope == _WHOLE_POOL && a.contributedAt > l.grantedAt) return false;
        return _binds(a, l.grantedAt, at);
    }

    /// Whether a term or licence paid at `paidAt` covers an asset at `at`: once the asset has left
    /// the pool, only what was paid before it left does; what was paid after the second its founder
    /// announced the withdrawal covers it only until the withdrawal's effective date (a payment in
    /// that same second, whichever came first in the block, is given the benefit of the doubt).
    function _binds(PoolAsset storage a, uint64 paidAt, uint64 at) private view returns (bool) {
        uint64 withdrawnAt = a.withdrawnAt;
        // Paid in the very second the asset left (the same block, either order): still covers it.
        if (withdrawnAt != 0 && paidAt > withdrawnAt) return false;
        uint64 effectiveAt = a.withdrawalEffectiveAt;
        // No withdrawal announced, or `at` before it takes effect: the announcement's time (in
        // another storage slot) need not be read.
        if (effectiveAt == 0 || at < effectiveAt) return true;
        return paidAt <= a.withdrawalAnnouncedAt;
    }

    /// The value of the checkpoint at or before `key`: the latest one in O(1) (the present and
    /// the future), an earlier one by binary search over this one trace (a licensee's own terms
    /// or licences of one scope, never the pool's).
    function _lookup(Checkpoints.Trace208 storage trace, uint48 key) private view returns (uint208) {
        (bool exists, uint48 latestKey, uint208 latestValue) = trace.latestCheckpoint();
        if (!exists) return 0;
        if (key >= latestKey) return latestValue;
        return trace.upperLookupRecent(key);
    }

}

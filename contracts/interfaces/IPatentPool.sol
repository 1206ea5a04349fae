// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPatentPoolTypes
/// @notice The types, events and errors of a patent pool, shared by `IPatentPool` (the functions
/// of the `PatentPool` contract) and `IPatentPoolDisputes` (those of `PatentPoolDisputes`, which
/// the pool runs by delegatecall for the calls it does not implement itself).
interface IPatentPoolTypes {
    /// @notice Centre of gravity of a pool.
    enum PoolKind {
        Company,
        Industry,
        Technology,
        Geography
    }

    /// @notice Lifecycle of a pool: Incubating (founders gather), Active (members join), Closed.
    enum Lifecycle {
        Incubating,
        Active,
        Closed
    }

    /// @notice Outcome of a dispute.
    enum DisputeStatus {
        None,
        Open,
        Upheld,
        Dismissed
    }

    /// @notice A parameter the operator changes by announcement (see `setTierFee`): ids used by
    /// `ParameterChangeAnnounced`, `pendingChange` and `applyParameterChange`.
    enum Parameter {
        OperatorShare,
        WithdrawalNotice,
        MaxLicenceLength,
        Qualification,
        TierFee0,
        TierFee1,
        TierFee2,
        DisputeBond
    }

    /// @notice A change announced and not yet applied.
    /// @param effectiveAt when it may be applied (0: none pending)
    /// @param value the new value (unused for Qualification, see `pendingQualification`)
    struct PendingChange {
        uint64 effectiveAt;
        uint256 value;
    }

    /// @notice An asset's standing in the pool.
    /// @param founder the account that contributed it and earns from it
    /// @param weight its share of the founders' revenue (0 once withdrawn or suspended)
    /// @param contributedAt unix time it joined the pool (0 when never contributed)
    /// @param withdrawalEffectiveAt unix time a announced withdrawal takes effect (0 when none)
    /// @param withdrawnAt unix time it left the pool (0 while in it)
    /// @param suspended whether an upheld dispute suspended it
    /// @param suspendedAt unix time it was suspended (0 while not suspended); it is licensed to
    /// nobody from then on, and answers for earlier times stay as they were
    /// @param withdrawalAnnouncedAt unix time its founder announced the withdrawal (0 when none):
    /// terms and licences paid from then on cover it only until `withdrawalEffectiveAt`
    struct PoolAsset {
        address founder;
        uint64 weight;
        uint64 contributedAt;
        uint64 withdrawalEffectiveAt;
        uint64 withdrawnAt;
        bool suspended;
        uint64 suspendedAt;
        uint64 withdrawalAnnouncedAt;
    }

    /// @notice A unified licence granted to a licensee.
    /// @param licensee the licensed account
    /// @param offerId the offer it was accepted from
    /// @param start first second covered
    /// @param end first second no longer covered
    /// @param grantedAt unix time it was accepted
    /// @param price what the licensee paid
    /// @param wholePool whether it covers every asset of the pool
    /// @param revoked whether the operator revoked it
    /// @param revokedAt unix time it was revoked (0 while not revoked): it covers nothing from then
    /// on, and still covers the times before it
    struct Licence {
        address licensee;
        uint256 offerId;
        uint64 start;
        uint64 end;
        uint64 grantedAt;
        uint256 price;
        bool wholePool;
        bool revoked;
        uint64 revokedAt;
    }

    /// @notice An offer of a unified licence to one licensee.
    /// @param licensee who may accept it
    /// @param start first second the licence would cover
    /// @param end first second it would no longer cover
    /// @param price what accepting costs, in the payment token
    /// @param termsHash keccak-256 of the written terms (territory, field of use, ...)
    /// @param open whether it can still be accepted
    /// @param licenceId the licence it became (0 until accepted)
    /// @param acceptBy the last second it can be accepted (30 days after it was made)
    struct Offer {
        address licensee;
        uint64 start;
        uint64 end;
        uint256 price;
        bytes32 termsHash;
        bool open;
        uint256 licenceId;
        uint64 acceptBy;
    }

    /// @notice A challenge against an asset.
    /// @param assetId the challenged asset
    /// @param challenger who opened it
    /// @param evidenceHash keccak-256 of the evidence
    /// @param status its outcome so far
    /// @param rulingHash keccak-256 of the ruling (0 while open)
    struct Dispute {
        uint256 assetId;
        address challenger;
        bytes32 evidenceHash;
        DisputeStatus status;
        bytes32 rulingHash;
    }

    /// @notice The pool was initialised by its factory.
    /// @param name the pool's name
    /// @param kind 0 company, 1 industry, 2 technology, 3 geography
    /// @param field the technology field
    /// @param paymentToken the ERC-20 all payments are made in
    /// @param operator the operator, who also receives the operator's share
    /// @param assetRegistry the PatentAsset registry the pool reads
    event PoolInitialized(
        string name, uint8 kind, string field, address indexed paymentToken, address indexed operator, address assetRegistry
    );

    /// @notice The bounds fixed at the pool's creation, for its whole life.
    /// @param maxOperatorShareBps the most the operator's share can ever be
    /// @param changeDelay how long after its announcement a parameter change can take effect
    event PoolBoundsSet(uint16 maxOperatorShareBps, uint64 changeDelay);

    /// @notice The longest period a unified licence may cover was set.
    /// @param maxLength the length in seconds
    event MaxLicenceLengthSet(uint64 maxLength);

    /// @notice The operator announced a parameter change; `applyParameterChange` puts it in force
    /// from `effectiveAt` on (the parameter's `...Set` event then follows).
    /// @param parameter a `Parameter` (0 operator share, 1 withdrawal notice, 2 maximum licence
    /// length, 4..6 the annual fee of tier 0..2, 7 the dispute bond)
    /// @param value the new value (bps, seconds or payment-token units)
    /// @param effectiveAt the earliest time it can take effect
    event ParameterChangeAnnounced(uint8 indexed parameter, uint256 value, uint64 effectiveAt);

    /// @notice The operator announced a new qualification rule (the `Parameter.Qualification` change).
    /// @param jurisdictions the required jurisdictions
    /// @param minGranted how many verified grants across them an asset will need
    /// @param minScoreBps the minimum stability score
    /// @param effectiveAt the earliest time it can take effect
    event QualificationChangeAnnounced(bytes2[] jurisdictions, uint8 minGranted, uint16 minScoreBps, uint64 effectiveAt);

    /// @notice The default admin offered its role to another account (the zero address: withdrew
    /// the offer); the role changes hands when that account accepts (RoleRevoked, RoleGranted).
    /// @param admin the current default admin
    /// @param newAdmin the account that may accept
    event DefaultAdminTransferBegun(address indexed admin, address indexed newAdmin);

    /// @notice The annual fee of a member tier was set.
    /// @param tier 0 startup, 1 SME, 2 enterprise
    /// @param annualFee the fee in payment-token units (0 closes the tier to joins and renewals)
    event TierFeeSet(uint8 indexed tier, uint256 annualFee);

    /// @notice The qualification rule for contributed assets was set.
    /// @param jurisdictions the required jurisdictions
    /// @param minGranted how many verified grants across them an asset needs
    /// @param minScoreBps the minimum stability score
    event QualificationSet(bytes2[] jurisdictions, uint8 minGranted, uint16 minScoreBps);

    /// @notice The operator's share of every payment was set.
    /// @param bps the share in basis points
    event OperatorShareSet(uint16 bps);

    /// @notice The territory the pool licenses was set.
    /// @param territory free text, e.g. "worldwide" or "EU"
    event TerritorySet(string territory);

    /// @notice The account that receives the operator's share was changed.
    /// @param treasury the new account
    event TreasurySet(address indexed treasury);

    /// @notice The notice founders must give before an asset leaves the pool was set.
    /// @param noticePeriod the notice in seconds
    event WithdrawalNoticeSet(uint64 noticePeriod);

    /// @notice The pool moved to another stage of its lifecycle.
    /// @param from the previous stage
    /// @param to the new stage
    event LifecycleChanged(uint8 from, uint8 to);

    /// @notice The operator admitted a founder.
    /// @param founder the admitted account
    event FounderAdmitted(address indexed founder);

    /// @notice A founder contributed a qualifying asset.
    /// @param assetId the asset
    /// @param founder the contributor
    /// @param weight its weight (verified grants in the required jurisdictions)
    /// @param grantedInRequired verified grants in the required jurisdictions
    /// @param scoreBps its stability score at contribution
    event AssetContributed(
        uint256 indexed assetId, address indexed founder, uint64 weight, uint256 grantedInRequired, uint16 scoreBps
    );

    /// @notice A founder announced that an asset will leave the pool.
    /// @param assetId the asset
    /// @param founder its contributor
    /// @param effectiveAt when `completeWithdrawal` becomes possible
    event AssetWithdrawalAnnounced(uint256 indexed assetId, address indexed founder, uint64 effectiveAt);

    /// @notice An asset left the pool; licences granted before stay valid for it.
    /// @param assetId the asset
    /// @param founder its contributor
    /// @param weight the weight removed
    event AssetWithdrawn(uint256 indexed assetId, address indexed founder, uint64 weight);

    /// @notice An upheld dispute suspended an asset: from this block's time on it stops earning and
    /// being licensed (answers of `isLicensed` for earlier times do not change).
    /// @param assetId the asset
    /// @param disputeId the dispute that was upheld
    /// @param weight the weight removed
    event AssetSuspended(uint256 indexed assetId, uint256 indexed disputeId, uint64 weight);

    /// @notice An account joined the pool as a member.
    /// @param member the member
    /// @param tier 0 startup, 1 SME, 2 enterprise
    /// @param fee what it paid
    /// @param validFrom start of the membership term
    /// @param validUntil end of the membership term
    event MemberJoined(address indexed member, uint8 tier, uint256 fee, uint64 validFrom, uint64 validUntil);

    /// @notice Anyone made the pool re-read an asset's verified grants in force (`reweigh`): its
    /// weight follows its patents (issue 14, point 7).
    /// @param assetId the asset
    /// @param founder the founder whose weight changed with it
    /// @param oldWeight the weight before
    /// @param newWeight the weight from now on
    event AssetReweighed(uint256 indexed assetId, address indexed founder, uint64 oldWeight, uint64 newWeight);

    /// @notice An asset's token changed hands, and the asset with it (issue 14, point 2): what it
    /// earned until now stays with `from`, from now on it earns for `to`, who alone controls it.
    /// @param assetId the asset
    /// @param from the previous holder
    /// @param to the new holder
    /// @param weight the weight that moved (0 while the asset is suspended)
    event AssetFounderChanged(uint256 indexed assetId, address indexed from, address indexed to, uint64 weight);

    /// @notice A member renewed for another year.
    /// @param member the member
    /// @param tier its tier
    /// @param fee what it paid
    /// @param validFrom start of the new term
    /// @param validUntil end of the new term
    event MembershipRenewed(address indexed member, uint8 tier, uint256 fee, uint64 validFrom, uint64 validUntil);

    /// @notice The operator offered a unified licence.
    /// @param offerId the offer
    /// @param licensee who may accept it
    /// @param assetIds the covered assets (empty: the whole pool)
    /// @param start first second covered
    /// @param end first second no longer covered
    /// @param price the price
    /// @param termsHash keccak-256 of the written terms
    event LicenceOffered(
        uint256 indexed offerId,
        address indexed licensee,
        uint256[] assetIds,
        uint64 start,
        uint64 end,
        uint256 price,
        bytes32 termsHash
    );

    /// @notice The deadline of an offer, emitted with `LicenceOffered`.
    /// @param offerId the offer
    /// @param acceptBy the last second it can be accepted
    event LicenceOfferDeadline(uint256 indexed offerId, uint64 acceptBy);

    /// @notice The operator withdrew an offer that was not accepted.
    /// @param offerId the offer
    event OfferCancelled(uint256 indexed offerId);

    /// @notice A licensee accepted an offer and paid: the licence is granted.
    /// @param licenceId the licence
    /// @param offerId the accepted offer
    /// @param licensee the licensee
    /// @param start first second covered
    /// @param end first second no longer covered
    /// @param price what was paid
    event LicenceGranted(
        uint256 indexed licenceId, uint256 indexed offerId, address indexed licensee, uint64 start, uint64 end, uint256 price
    );

    /// @notice The operator revoked a licence; it covers nothing from this block's time on, and
    /// still covers the times before it.
    /// @param licenceId the licence
    /// @param licensee its licensee
    /// @param reasonHash keccak-256 of the written reason
    event LicenceRevoked(uint256 indexed licenceId, address indexed licensee, bytes32 reasonHash);

    /// @notice A payment was received and split.
    /// @param payer who paid
    /// @param amount the whole payment as it arrived (the price or fee, less any fee the token took)
    /// @param operatorAmount credited to the treasury as the operator's share
    /// @param founderAmount credited to the founders pro rata to weight
    /// @param unallocatedAmount founders' part credited to the treasury because no founder weight existed
    /// @param accRevenuePerWeight the accumulator after the payment (scaled by 1e18)
    event RevenueReceived(
        address indexed payer,
        uint256 amount,
        uint256 operatorAmount,
        uint256 founderAmount,
        uint256 unallocatedAmount,
        uint256 accRevenuePerWeight
    );

    /// @notice An account withdrew what it was owed.
    /// @param account the claimant
    /// @param amount the amount paid out
    event RevenueClaimed(address indexed account, uint256 amount);

    /// @notice A member or founder challenged an asset.
    /// @param disputeId the dispute
    /// @param assetId the challenged asset
    /// @param challenger who opened it
    /// @param evidenceHash keccak-256 of the evidence
    event DisputeOpened(uint256 indexed disputeId, uint256 indexed assetId, address indexed challenger, bytes32 evidenceHash);

    /// @notice The bond that opening a dispute takes was set (the `Parameter.DisputeBond` change).
    /// @param bond the amount in payment-token units (0: disputes cost nothing)
    event DisputeBondSet(uint256 bond);

    /// @notice A challenger's bond arrived with its dispute; the pool holds it apart from revenue
    /// until the ruling.
    /// @param disputeId the dispute
    /// @param challenger who paid it
    /// @param amount what arrived (the pool books what arrived, as with every payment)
    event DisputeBondPosted(uint256 indexed disputeId, address indexed challenger, uint256 amount);

    /// @notice A ruling released a dispute's bond: to the challenger if upheld, to the asset's
    /// founder if dismissed, credited to `to` (who claims it with `claim`).
    /// @param disputeId the dispute
    /// @param to who was credited
    /// @param amount the bond
    event DisputeBondReleased(uint256 indexed disputeId, address indexed to, uint256 amount);

    /// @notice The arbiter lifted an asset's suspension on appeal: from this block's time on it
    /// earns (with its weight re-read from the registry) and is licensable again; answers of
    /// `isLicensed` for the suspended times do not change.
    /// @param assetId the asset
    /// @param arbiter who lifted it
    /// @param rulingHash keccak-256 of the ruling on the appeal
    /// @param weight the asset's weight from now on
    event SuspensionLifted(uint256 indexed assetId, address indexed arbiter, bytes32 rulingHash, uint64 weight);

    /// @notice An arbiter ruled on a dispute.
    /// @param disputeId the dispute
    /// @param assetId the challenged asset
    /// @param arbiter who ruled
    /// @param upheld whether the challenge was upheld (the asset is then suspended)
    /// @param rulingHash keccak-256 of the ruling
    event DisputeResolved(
        uint256 indexed disputeId, uint256 indexed assetId, address indexed arbiter, bool upheld, bytes32 rulingHash
    );

    /// @notice The pool is not in the lifecycle stage the call needs.
    /// @param current the pool's stage (0 Incubating, 1 Active, 2 Closed)
    error PatentPoolInvalidLifecycle(uint8 current);

    /// @notice The tier is not 0, 1 or 2.
    /// @param tier the rejected tier
    error PatentPoolInvalidTier(uint8 tier);

    /// @notice The tier has no fee set, so nobody can join at it.
    /// @param tier the tier
    error PatentPoolTierNotOffered(uint8 tier);

    /// @notice The fee is above the most the caller agreed to pay.
    /// @param fee the current fee
    /// @param maxFee the caller's limit
    error PatentPoolFeeAboveMax(uint256 fee, uint256 maxFee);

    /// @notice The share is above 10000 basis points.
    /// @param bps the rejected share
    error PatentPoolInvalidShare(uint16 bps);

    /// @notice The share is above the ceiling fixed at the pool's creation.
    /// @param bps the rejected share
    /// @param maxOperatorShareBps the ceiling
    error PatentPoolShareAboveCeiling(uint16 bps, uint16 maxOperatorShareBps);

    /// @notice The bounds given at creation are out of range (share ceiling above 10000, change
    /// delay outside 1 to 365 days).
    /// @param maxOperatorShareBps the given ceiling
    /// @param changeDelay the given delay
    error PatentPoolInvalidBounds(uint16 maxOperatorShareBps, uint64 changeDelay);

    /// @notice A withdrawal notice longer than the change delay (founders could not leave before a
    /// change they were warned of).
    /// @param noticePeriod the rejected notice
    /// @param changeDelay the pool's change delay, the longest notice allowed
    error PatentPoolInvalidNotice(uint64 noticePeriod, uint64 changeDelay);

    /// @notice A maximum licence length of 0 or above 100 years.
    /// @param maxLength the rejected length
    error PatentPoolInvalidLicenceLength(uint64 maxLength);

    /// @notice The offered period is longer than the pool's maximum licence length.
    /// @param start the given start
    /// @param end the given end
    /// @param maxLength the pool's maximum
    error PatentPoolLicenceTooLong(uint64 start, uint64 end, uint64 maxLength);

    /// @notice No change of the parameter is pending, or its time has not come.
    /// @param parameter the parameter
    /// @param effectiveAt when the pending change may be applied (0: none pending)
    error PatentPoolChangeNotDue(uint8 parameter, uint64 effectiveAt);

    /// @notice The qualification rule is malformed (no or over 16 jurisdictions, a duplicate or a
    /// malformed code, a minimum of 0 grants, or a score above 10000).
    /// @param jurisdictionCount how many jurisdictions were given
    /// @param minGranted the given minimum of grants
    /// @param minScoreBps the given minimum score
    error PatentPoolInvalidQualification(uint256 jurisdictionCount, uint8 minGranted, uint16 minScoreBps);

    /// @notice The zero address was given where an account is needed.
    error PatentPoolZeroAddress();

    /// @notice The territory is longer than 200 bytes.
    /// @param length the text's length in bytes
    /// @param limit the longest accepted
    error PatentPoolTextTooLong(uint256 length, uint256 limit);

    /// @notice The account is already an admitted founder.
    /// @param account the account
    error PatentPoolAlreadyFounder(address account);

    /// @notice The account is not an admitted founder.
    /// @param account the account
    error PatentPoolNotFounder(address account);

    /// @notice The caller does not own the asset in the registry.
    /// @param assetId the asset
    /// @param caller the caller
    /// @param owner the asset's owner
    error PatentPoolNotAssetOwner(uint256 assetId, address caller, address owner);

    /// @notice The asset is, or was, already in the pool.
    /// @param assetId the asset
    error PatentPoolAssetAlreadyContributed(uint256 assetId);

    /// @notice The asset lacks verified grants in the required jurisdictions.
    /// @param assetId the asset
    /// @param grantedInRequired its verified grants across the required jurisdictions
    /// @param minGranted how many the pool needs
    error PatentPoolNotQualified(uint256 assetId, uint256 grantedInRequired, uint8 minGranted);

    /// @notice The asset's stability score is below the pool's minimum.
    /// @param assetId the asset
    /// @param scoreBps its score
    /// @param minScoreBps the pool's minimum
    error PatentPoolScoreTooLow(uint256 assetId, uint16 scoreBps, uint16 minScoreBps);

    /// @notice The asset is not (or no longer) in the pool, or is suspended.
    /// @param assetId the asset
    error PatentPoolAssetNotInPool(uint256 assetId);

    /// @notice The caller is not the founder who contributed the asset.
    /// @param assetId the asset
    /// @param caller the caller
    /// @param founder its contributor
    error PatentPoolNotContributor(uint256 assetId, address caller, address founder);

    /// @notice Only the pool's asset registry reports transfers.
    /// @param caller the caller
    error PatentPoolNotAssetRegistry(address caller);

    /// @notice A withdrawal is already announced for the asset.
    /// @param assetId the asset
    /// @param effectiveAt when it takes effect
    error PatentPoolWithdrawalAlreadyAnnounced(uint256 assetId, uint64 effectiveAt);

    /// @notice The asset's withdrawal was not announced, or its notice has not run out yet.
    /// @param assetId the asset
    /// @param effectiveAt when it takes effect (0 when never announced)
    error PatentPoolWithdrawalNotDue(uint256 assetId, uint64 effectiveAt);

    /// @notice The account is already a member with a running term.
    /// @param account the account
    /// @param validUntil the end of its term
    error PatentPoolAlreadyMember(address account, uint64 validUntil);

    /// @notice The account has never been a member.
    /// @param account the account
    error PatentPoolNotMember(address account);

    /// @notice The period is empty or ends in the past.
    /// @param start the given start
    /// @param end the given end
    error PatentPoolInvalidPeriod(uint64 start, uint64 end);

    /// @notice An offer names more than 256 assets.
    /// @param count how many it names
    error PatentPoolTooManyAssets(uint256 count);

    /// @notice An offer's asset ids must be strictly ascending (which also rules out duplicates).
    /// @param index the position of the first id that is not above its predecessor
    error PatentPoolAssetsNotAscending(uint256 index);

    /// @notice There is no such offer, or it was accepted or cancelled.
    /// @param offerId the offer
    error PatentPoolOfferNotOpen(uint256 offerId);

    /// @notice Only the licensee named in the offer may accept it.
    /// @param offerId the offer
    /// @param caller the caller
    /// @param licensee the named licensee
    error PatentPoolNotOfferee(uint256 offerId, address caller, address licensee);

    /// @notice The offer's period has already ended.
    /// @param offerId the offer
    /// @param end the end of its period
    error PatentPoolOfferExpired(uint256 offerId, uint64 end);

    /// @notice Licences of one scope are granted to a licensee in time order: the new one starts
    /// before the licensee's latest licence of that scope stops covering (its end; if it was
    /// revoked, the later of its start and the moment of revocation), so it overlaps it or covers
    /// an earlier period than it.
    /// @param licenceId the latest licence of the scope
    /// @param assetId the overlapping scope (0: the whole pool)
    error PatentPoolLicenceOverlaps(uint256 licenceId, uint256 assetId);

    /// @notice The offer's acceptance deadline has passed.
    /// @param offerId the offer
    /// @param acceptBy its deadline
    error PatentPoolAcceptanceClosed(uint256 offerId, uint64 acceptBy);

    /// @notice A member may hold at most one term beyond the running one: it renews once its term
    /// ends within a term from now.
    /// @param account the member
    /// @param validUntil the end of its latest term
    error PatentPoolRenewalTooEarly(address account, uint64 validUntil);

    /// @notice There is no such licence, or it is already revoked.
    /// @param licenceId the licence
    error PatentPoolLicenceNotRevocable(uint256 licenceId);

    /// @notice Only a current member or an admitted founder may open a dispute.
    /// @param account the caller
    error PatentPoolNotParticipant(address account);

    /// @notice There is no such dispute, or it was already resolved.
    /// @param disputeId the dispute
    error PatentPoolDisputeNotOpen(uint256 disputeId);

    /// @notice DEFAULT_ADMIN_ROLE is not granted, revoked or renounced directly: it changes hands
    /// by `beginDefaultAdminTransfer` and `acceptDefaultAdminTransfer`.
    error PatentPoolAdminChangesInTwoSteps();

    /// @notice Only the account the default admin offered its role to may accept it.
    /// @param caller the caller
    /// @param pendingAdmin the account offered the role (zero: none)
    error PatentPoolNotPendingAdmin(address caller, address pendingAdmin);

    /// @notice The asset is not suspended in this pool (or has left it), so there is nothing to lift.
    /// @param assetId the asset
    error PatentPoolNotSuspended(uint256 assetId);

    /// @notice The account has nothing to claim.
    /// @param account the account
    error PatentPoolNothingToClaim(address account);
}

/// @title IPatentPool
/// @notice One patent pool: founders (licensors) contribute qualifying patent families, members
/// (licensees) pay an annual fee for a pool-wide licence, non-members take unified licences, and
/// every payment is split between the operator and the founders, who claim their share.
///
/// Money rules, in one place:
/// - the pool books what arrived, not what was asked: every payment is measured as the pool's
///   token balance after the transfer less the balance before (a fee-on-transfer token, or one
///   whose fee is switched on later, delivers less), so the pool never owes more than it holds;
/// - every payment (fee, renewal, licence price) is split at once: `operatorShareBps` of it is
///   credited to the treasury, the rest to the founders pro rata to contributed weight through an
///   O(1) accumulator; everyone withdraws with `claim` (pull payment);
/// - an asset's weight is its number of verified Granted patents in the pool's required
///   jurisdictions at the time it is contributed;
/// - money for founders that arrives while no founder weight exists is credited to the treasury
///   (the pool's residual claimant), so it is neither lost nor locked;
/// - what a founder earned stays claimable after its asset is withdrawn or suspended;
/// - founders are credited exactly (in units of 1e-18 of the token's smallest unit) and claim
///   whole units; the sub-unit rests stay in the pool (less than one unit per founder, plus the
///   accumulator's carried remainder): the only tokens the pool holds beyond what is claimable.
///
/// The pool's dispute functions are in `IPatentPoolDisputes`: the pool's code is split in two
/// (see `PatentPool`), and a pool answers both interfaces at its one address.
interface IPatentPool is IPatentPoolTypes {

    /// @notice Sets up a fresh clone; called once, by the factory.
    /// @param name the pool's name
    /// @param kind 0 company, 1 industry, 2 technology, 3 geography
    /// @param field the technology field
    /// @param paymentToken the ERC-20 all payments are made in
    /// @param operator receives the admin, operator and arbiter roles and the operator's share
    /// @param assetRegistry the PatentAsset registry
    /// @param maxOperatorShareBps the ceiling of the operator's share, fixed for the pool's life
    /// @param changeDelay how long announced parameter changes wait (1 to 365 days), fixed too
    function initialize(
        string memory name,
        uint8 kind,
        string memory field,
        address paymentToken,
        address operator,
        address assetRegistry,
        uint16 maxOperatorShareBps,
        uint64 changeDelay
    ) external;

    /// @notice Sets the annual fee of a member tier; OPERATOR_ROLE only. Like every parameter
    /// change (share, notice, qualification, fees, maximum licence length) it takes effect at once
    /// while the pool is Incubating; from activation on it is announced
    /// (`ParameterChangeAnnounced`) and put in force by `applyParameterChange` once the pool's
    /// change delay has passed, so founders and members can leave first. A new announcement of a
    /// parameter replaces its pending one and starts the delay again.
    /// @param tier 0 startup, 1 SME, 2 enterprise
    /// @param annualFee the fee in payment-token units; 0 closes the tier: nobody joins or renews at it
    function setTierFee(uint8 tier, uint256 annualFee) external;

    /// @notice Sets the rule contributed assets must pass; OPERATOR_ROLE only; announced once the
    /// pool is active (see `setTierFee`).
    /// @param jurisdictions the required jurisdictions (1..16 distinct two-letter codes)
    /// @param minGranted verified grants needed across them (at least 1)
    /// @param minScoreBps the minimum stability score (0..10000)
    function setQualification(bytes2[] calldata jurisdictions, uint8 minGranted, uint16 minScoreBps) external;

    /// @notice Sets the operator's share of every payment; OPERATOR_ROLE only; announced once the
    /// pool is active (see `setTierFee`).
    /// @param bps the share in basis points, at most the ceiling fixed at creation
    function setOperatorShare(uint16 bps) external;

    /// @notice Sets the territory the pool licenses; OPERATOR_ROLE only.
    /// @param territory free text, at most 200 bytes
    function setTerritory(string calldata territory) external;

    /// @notice Sets the account that receives the operator's share; DEFAULT_ADMIN_ROLE only. What
    /// the previous treasury was owed stays claimable by it.
    /// @param treasury the new account
    function setTreasury(address treasury) external;

    /// @notice Sets the notice founders must give before an asset leaves; OPERATOR_ROLE only;
    /// announced once the pool is active (see `setTierFee`).
    /// @param noticePeriod the notice in seconds, at most the pool's change delay
    function setWithdrawalNotice(uint64 noticePeriod) external;

    /// @notice Sets the longest period a unified licence may cover; OPERATOR_ROLE only; announced
    /// once the pool is active (see `setTierFee`).
    /// @param maxLength the length in seconds (1 second to 100 years)
    function setMaxLicenceLength(uint64 maxLength) external;

    /// @notice Puts an announced change in force once its time has come; anyone may call it. Emits
    /// the parameter's `...Set` event.
    /// @param parameter a `Parameter`
    function applyParameterChange(uint8 parameter) external;

    /// @notice Opens the pool to members and licences; OPERATOR_ROLE only, from Incubating.
    function activate() external;

    /// @notice Closes the pool: no new members, licences or assets; existing terms run out and
    /// claims go on. OPERATOR_ROLE only.
    function close() external;

    /// @notice Stops every state-changing call but the operator's, claims and withdrawals (a pause
    /// never holds founders' money or assets); OPERATOR_ROLE only.
    function pause() external;

    /// @notice Lifts a pause; OPERATOR_ROLE only.
    function unpause() external;

    /// @notice First step of handing DEFAULT_ADMIN_ROLE over: offers it to `newAdmin` (the zero
    /// address withdraws an offer); DEFAULT_ADMIN_ROLE only. Nothing changes until it accepts.
    /// @param newAdmin the account that may accept
    function beginDefaultAdminTransfer(address newAdmin) external;

    /// @notice Second step: the offered account takes DEFAULT_ADMIN_ROLE, which the previous admin
    /// loses in the same transaction.
    function acceptDefaultAdminTransfer() external;

    /// @notice The one holder of DEFAULT_ADMIN_ROLE and the account it offered the role to.
    /// @return admin the default admin
    /// @return pendingAdmin the account that may accept the role (zero: none)
    function defaultAdmin() external view returns (address admin, address pendingAdmin);

    /// @notice Admits a founder (licensor); OPERATOR_ROLE only.
    /// @param founder the account
    function admitFounder(address founder) external;

    /// @notice Contributes a qualifying asset the caller owns; admitted founders only. Its weight is
    /// its verified Granted patents in the required jurisdictions.
    /// @param assetId the asset
    function contribute(uint256 assetId) external;

    /// @notice Announces that an asset will leave the pool after the notice period; its
    /// contributor only, also while paused. Terms and licences paid from now on cover the asset
    /// only until the withdrawal's effective date.
    /// @param assetId the asset
    function announceWithdrawal(uint256 assetId) external;

    /// @notice Takes an asset out of the pool once its notice has run out; anyone may call it.
    /// Licences and membership terms paid before stay valid for the asset.
    /// @param assetId the asset
    function completeWithdrawal(uint256 assetId) external;

    /// @notice Re-reads an asset's verified grants in force in the pool's required jurisdictions
    /// from the registry and makes that its weight from now on (what it earned so far stays
    /// credited to its founder); anyone may, at any time, in O(1) (at most 16 registry reads). A
    /// family whose patents lapsed, expired (`PatentAsset.expirePatent`) or were revoked stops
    /// earning its old weight; one granted more patents earns more. The qualification rule is not
    /// applied again: it binds contributions only.
    /// @param assetId an asset in the pool (not suspended, not withdrawn)
    /// @return weight the asset's weight from now on
    function reweigh(uint256 assetId) external returns (uint64 weight);

    /// @notice Joins the pool as a member for 365 days by paying the tier's annual fee.
    /// @param tier 0 startup, 1 SME, 2 enterprise
    /// @param maxFee the most the caller agrees to pay
    function join(uint8 tier, uint256 maxFee) external;

    /// @notice Renews a membership for 365 days from the later of now and the current end; at
    /// most one term ahead (reverts while the current term ends more than 365 days from now).
    /// @param maxFee the most the caller agrees to pay
    function renew(uint256 maxFee) external;

    /// @notice Offers a unified licence to one licensee; OPERATOR_ROLE only. The period may not be
    /// longer than the pool's maximum licence length.
    /// @param licensee who may accept it
    /// @param assetIds the covered assets; empty means the whole pool
    /// @param start first second covered
    /// @param end first second no longer covered
    /// @param price what accepting costs
    /// @param termsHash keccak-256 of the written terms
    /// @return offerId the offer
    function offerLicence(
        address licensee,
        uint256[] calldata assetIds,
        uint64 start,
        uint64 end,
        uint256 price,
        bytes32 termsHash
    ) external returns (uint256 offerId);

    /// @notice Withdraws an open offer; OPERATOR_ROLE only.
    /// @param offerId the offer
    function cancelOffer(uint256 offerId) external;

    /// @notice Accepts an offer by paying its price; the named licensee only, within 30 days of the
    /// offer (`acceptBy`). A whole-pool licence covers the assets in the pool at acceptance.
    /// @param offerId the offer
    /// @return licenceId the granted licence
    function acceptOffer(uint256 offerId) external returns (uint256 licenceId);

    /// @notice Revokes a licence; OPERATOR_ROLE only. It covers nothing from now on; the times
    /// before it stay covered (a certificate for a past time stays true).
    /// @param licenceId the licence
    /// @param reasonHash keccak-256 of the written reason
    function revokeLicence(uint256 licenceId, bytes32 reasonHash) external;

    /// @notice Whether an account may practise an asset at a time: true when the asset was
    /// contributed at or before `at` and not suspended at or before `at`, and a membership term or
    /// a licence of the account covers `at` (a licence revoked at or before `at` does not); once
    /// the asset has left the pool, only terms and licences paid for before it left still cover it
    /// (granted licences survive withdrawal; a payment in the very second it left still counts), a
    /// whole-pool licence covers only assets contributed by its acceptance, and those paid after
    /// the founder announced the
    /// withdrawal cover it only until the withdrawal's effective date. Revocations and suspensions take effect when they
    /// happen: the answer for a time before them never changes. Cost: O(1) for `at` in the latest
    /// term or licence of the account; O(log n) in the account's own terms or licences of one
    /// scope for earlier times; never in the pool's size.
    /// @param licensee the account
    /// @param assetId the asset
    /// @param at the unix time asked about
    /// @return whether it is licensed
    function isLicensed(address licensee, uint256 assetId, uint64 at) external view returns (bool);

    /// @notice What an account can claim now.
    /// @param account the account
    /// @return the amount in payment-token units
    function claimable(address account) external view returns (uint256);

    /// @notice Pays out everything the caller is owed; works while the pool is paused.
    /// @return amount what was paid
    function claim() external returns (uint256 amount);

    /// @notice The pool's profile.
    /// @return name the name
    /// @return kind 0 company, 1 industry, 2 technology, 3 geography
    /// @return field the technology field
    /// @return territory the territory
    /// @return lifecycle 0 Incubating, 1 Active, 2 Closed
    /// @return paymentToken the ERC-20 payments are made in
    /// @return operatorShareBps the operator's share
    /// @return treasury the account that receives the operator's share
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
        );

    /// @notice The qualification rule.
    /// @return jurisdictions the required jurisdictions
    /// @return minGranted verified grants needed across them
    /// @return minScoreBps the minimum stability score
    function qualification() external view returns (bytes2[] memory jurisdictions, uint8 minGranted, uint16 minScoreBps);

    /// @notice The annual fee of a tier (0: not offered).
    /// @param tier 0 startup, 1 SME, 2 enterprise
    /// @return the fee
    function tierFee(uint8 tier) external view returns (uint256);

    /// @notice The PatentAsset registry the pool reads.
    /// @return the registry's address
    function assetRegistry() external view returns (address);

    /// @notice The notice founders must give before an asset leaves, in seconds.
    /// @return the notice
    function withdrawalNotice() external view returns (uint64);

    /// @notice The bounds of the operator.
    /// @return maxOperatorShareBps the share ceiling, fixed at creation
    /// @return changeDelay the delay of announced changes, fixed at creation
    /// @return maxLicenceLength the longest period a licence may cover now
    function bounds() external view returns (uint16 maxOperatorShareBps, uint64 changeDelay, uint64 maxLicenceLength);

    /// @notice The pending change of a parameter.
    /// @param parameter a `Parameter`
    /// @return value the announced value
    /// @return effectiveAt when it may be applied (0: none pending)
    function pendingChange(uint8 parameter) external view returns (uint256 value, uint64 effectiveAt);

    /// @notice The pending qualification rule.
    /// @return jurisdictions the announced jurisdictions
    /// @return minGranted the announced minimum of grants
    /// @return minScoreBps the announced minimum score
    /// @return effectiveAt when it may be applied (0: none pending)
    function pendingQualification()
        external
        view
        returns (bytes2[] memory jurisdictions, uint8 minGranted, uint16 minScoreBps, uint64 effectiveAt);

    /// @notice Whether an account is an admitted founder.
    /// @param account the account
    /// @return whether it is
    function isFounder(address account) external view returns (bool);

    /// @notice A founder's current revenue weight (sum of its assets' weights).
    /// @param founder the founder
    /// @return the weight
    function founderWeight(address founder) external view returns (uint256);

    /// @notice The sum of all founders' weights.
    /// @return the weight
    function totalWeight() external view returns (uint256);

    /// @notice An asset's standing in the pool.
    /// @param assetId the asset
    /// @return the standing (all zero when never contributed)
    function poolAsset(uint256 assetId) external view returns (PoolAsset memory);

    /// @notice A member's tier and the end of its latest term.
    /// @param member the account
    /// @return tier its tier
    /// @return validUntil the end of its latest term (0 when never a member)
    function membership(address member) external view returns (uint8 tier, uint64 validUntil);

    /// @notice An offer.
    /// @param offerId the offer
    /// @return the offer
    function offer(uint256 offerId) external view returns (Offer memory);

    /// @notice The assets an offer (and the licence accepted from it) covers; empty: the whole pool.
    /// @param offerId the offer
    /// @return the asset ids
    function offerAssets(uint256 offerId) external view returns (uint256[] memory);

    /// @notice A licence.
    /// @param licenceId the licence
    /// @return the licence
    function licence(uint256 licenceId) external view returns (Licence memory);

    /// @notice The `PatentPoolDisputes` contract that runs this pool's `IPatentPoolDisputes` functions
    /// (by delegatecall, on this pool's storage).
    /// @return the contract's address
    function disputesModule() external view returns (address);

    /// @notice Counters of the pool.
    /// @return members accounts that ever joined
    /// @return assets assets ever contributed
    /// @return offers offers made
    /// @return licences licences granted
    /// @return disputes disputes opened
    function counts()
        external
        view
        returns (uint256 members, uint256 assets, uint256 offers, uint256 licences, uint256 disputes);
}

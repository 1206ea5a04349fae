// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPatentAsset
/// @notice The registry of patent families: one ERC-721 token per family, its member patents with
/// their verified status, the dossier that documents it and its latest stability evaluation.
interface IPatentAsset {
    /// @notice Status of one patent of a family, as attested by a verifier.
    enum PatentStatus {
        Pending,
        Granted,
        Lapsed,
        Revoked,
        Rejected
    }

    /// @notice One patent (a publication in one office) of a family.
    /// @param jurisdiction two-letter office code, e.g. "US", "CN", "EP"
    /// @param status Pending until a verifier attests otherwise
    /// @param grantDate unix time of the grant (0 unless verified as granted, lapsed or revoked)
    /// @param expiryDate unix time the patent expires (0 when unknown)
    /// @param publicationNumber the office's publication number, e.g. "US10123456B2"
    struct Patent {
        bytes2 jurisdiction;
        PatentStatus status;
        uint64 grantDate;
        uint64 expiryDate;
        string publicationNumber;
    }

    /// @notice The latest stability evaluation of a family.
    /// @param scoreBps the stability score in basis points (0..10000)
    /// @param evaluator the account that recorded it
    /// @param evaluatedAt unix time it was recorded
    /// @param reportHash keccak-256 of the evaluation report
    /// @param modelVersion the version of the scoring model that produced it
    struct Evaluation {
        uint16 scoreBps;
        address evaluator;
        uint64 evaluatedAt;
        bytes32 reportHash;
        string modelVersion;
    }

    /// @notice A family was registered and its token minted to `owner`.
    /// @param assetId the token id of the family
    /// @param owner the registrant, who receives the token
    /// @param familyId the family identifier (e.g. a DOCDB family id)
    /// @param title the family's title
    /// @param dossierHash keccak-256 of the dossier's canonical JSON
    /// @param dossierURI where the dossier can be fetched
    event FamilyRegistered(
        uint256 indexed assetId,
        address indexed owner,
        string familyId,
        string title,
        bytes32 dossierHash,
        string dossierURI
    );

    /// @notice The owner replaced the dossier of a family.
    /// @param assetId the token id of the family
    /// @param dossierHash keccak-256 of the new dossier's canonical JSON
    /// @param dossierURI where the new dossier can be fetched
    event DossierUpdated(uint256 indexed assetId, bytes32 dossierHash, string dossierURI);

    /// @notice A patent was added to a family, with status Pending.
    /// @param assetId the token id of the family
    /// @param index the patent's index within the family
    /// @param jurisdiction two-letter office code
    /// @param publicationNumber the office's publication number
    event PatentAdded(uint256 indexed assetId, uint256 indexed index, bytes2 jurisdiction, string publicationNumber);

    /// @notice A verifier rejected a listing as not a patent of the family (status Rejected); the
    /// family no longer holds its number, which another family may then have verified.
    /// @param assetId the token id of the family
    /// @param index the patent's index within the family
    /// @param verifier the rejecting account
    /// @param jurisdiction two-letter office code of the patent
    /// @param reasonHash keccak-256 of the written reason
    event PatentRejected(
        uint256 indexed assetId, uint256 indexed index, address indexed verifier, bytes2 jurisdiction, bytes32 reasonHash
    );

    /// @notice A verifier attested the status of a patent.
    /// @param assetId the token id of the family
    /// @param index the patent's index within the family
    /// @param verifier the attesting account
    /// @param jurisdiction two-letter office code of the patent
    /// @param status the attested status (0 Pending, 1 Granted, 2 Lapsed, 3 Revoked)
    /// @param grantDate unix time of the grant
    /// @param expiryDate unix time of expiry
    event PatentVerified(
        uint256 indexed assetId,
        uint256 indexed index,
        address indexed verifier,
        bytes2 jurisdiction,
        uint8 status,
        uint64 grantDate,
        uint64 expiryDate
    );

    /// @notice A Granted patent past its expiry date was marked Lapsed (by anyone, `expirePatent`):
    /// it no longer counts in `grantedIn`, so pools re-weigh the family by it (`reweigh`).
    /// @param assetId the token id of the family
    /// @param index the patent's index within the family
    /// @param jurisdiction two-letter office code of the patent
    /// @param expiryDate the expiry date the verifier attested
    event PatentExpired(uint256 indexed assetId, uint256 indexed index, bytes2 jurisdiction, uint64 expiryDate);

    /// @notice An evaluator recorded a stability evaluation; it replaces the previous one.
    /// @param assetId the token id of the family
    /// @param evaluator the recording account
    /// @param scoreBps the stability score in basis points
    /// @param reportHash keccak-256 of the evaluation report
    /// @param modelVersion the version of the scoring model
    event EvaluationRecorded(
        uint256 indexed assetId, address indexed evaluator, uint16 scoreBps, bytes32 reportHash, string modelVersion
    );

    /// @notice A verifier rejected a family's claim to its family id (a squatter's registration):
    /// the id is free again, for `claimant` only (or anyone, when zero), and the rejected token can
    /// no longer list or have verified any patent.
    /// @param assetId the rejected token
    /// @param verifier the rejecting account
    /// @param familyId the family id it no longer holds
    /// @param reasonHash keccak-256 of the written reason
    /// @param claimant who alone may register the family id next (zero: anyone)
    event FamilyRejected(
        uint256 indexed assetId, address indexed verifier, string familyId, bytes32 reasonHash, address indexed claimant
    );

    /// @notice A factory holding POOL_FACTORY_ROLE made a pool: from now on the pool may record the
    /// families contributed to it (`enterPool`), and hears of their transfers (issue 14, point 2).
    /// @param pool the new pool
    /// @param factory the factory that made it
    event PoolRegistered(address indexed pool, address indexed factory);

    /// @notice A family was contributed to a pool: its token's transfers move it there to the new
    /// holder (`IPatentPoolDisputes.onAssetTransfer`).
    /// @param assetId the token id
    /// @param pool the pool
    event AssetEnteredPool(uint256 indexed assetId, address indexed pool);

    /// @notice A family's withdrawal from a pool completed.
    /// @param assetId the token id
    /// @param pool the pool
    event AssetLeftPool(uint256 indexed assetId, address indexed pool);

    /// @notice The family id is empty.
    error PatentAssetEmptyFamilyId();

    /// @notice The caller is not a pool a registered factory made.
    /// @param caller the caller
    error PatentAssetNotPool(address caller);

    /// @notice The family is in the most pools a family can be in at once (16).
    /// @param assetId the token id
    /// @param limit the most pools
    error PatentAssetTooManyPools(uint256 assetId, uint256 limit);

    /// @notice A family id or title is longer than 200 bytes, or a dossier URI longer than 2048.
    /// @param length the text's length in bytes
    /// @param limit the longest accepted
    error PatentAssetTextTooLong(uint256 length, uint256 limit);

    /// @notice A verifier freed this family id for another account to register.
    /// @param familyId the family id
    /// @param claimant who alone may register it
    error PatentAssetFamilyIdReserved(string familyId, address claimant);

    /// @notice The family was rejected (it holds no family id and lists no patents).
    /// @param assetId the token id
    error PatentAssetFamilyIsRejected(uint256 assetId);

    /// @notice The family id is already registered as another token.
    /// @param familyId the duplicate family id
    /// @param assetId the token that holds it
    error PatentAssetFamilyAlreadyRegistered(string familyId, uint256 assetId);

    /// @notice The caller does not own the token.
    /// @param assetId the token id
    /// @param caller the caller
    /// @param owner the token's owner
    error PatentAssetNotOwner(uint256 assetId, address caller, address owner);

    /// @notice The jurisdiction is not two upper-case ASCII letters.
    /// @param jurisdiction the rejected code
    error PatentAssetInvalidJurisdiction(bytes2 jurisdiction);

    /// @notice The publication number is empty.
    error PatentAssetEmptyPublicationNumber();

    /// @notice The publication is a verified patent of a family already (pending listings of the
    /// same number do not count: they block nobody).
    /// @param jurisdiction its office
    /// @param publicationNumber its number, in canonical form
    /// @param assetId the family whose verified patent it is
    error PatentAssetPatentAlreadyListed(bytes2 jurisdiction, string publicationNumber, uint256 assetId);

    /// @notice Another family's patent with the same office and number is verified already; reject
    /// that listing first if it is false.
    /// @param jurisdiction its office
    /// @param publicationNumber its number, in canonical form
    /// @param assetId the family that holds it
    error PatentAssetPatentAlreadyVerified(bytes2 jurisdiction, string publicationNumber, uint256 assetId);

    /// @notice The publication number is longer than 32 characters or holds a character other than
    /// letters, digits, spaces and the separators - . , /.
    /// @param publicationNumber the rejected number
    error PatentAssetInvalidPublicationNumber(string publicationNumber);

    /// @notice The patent index is beyond the family's patents.
    /// @param assetId the token id
    /// @param index the requested index
    /// @param count how many patents the family has
    error PatentAssetPatentIndexOutOfRange(uint256 assetId, uint256 index, uint256 count);

    /// @notice The status is not 0..3.
    /// @param status the rejected status
    error PatentAssetInvalidStatus(uint8 status);

    /// @notice The dates do not fit the status: a granted, lapsed or revoked patent needs a grant
    /// date, and an expiry date, when given, must be after it.
    /// @param status the attested status
    /// @param grantDate the given grant date
    /// @param expiryDate the given expiry date
    error PatentAssetInvalidDates(uint8 status, uint64 grantDate, uint64 expiryDate);

    /// @notice The score is above 10000 basis points.
    /// @param scoreBps the rejected score
    error PatentAssetInvalidScore(uint16 scoreBps);

    /// @notice The patent is not a Granted one past its expiry date (0: no expiry attested).
    /// @param assetId the token id
    /// @param index the patent's index within the family
    /// @param expiryDate its attested expiry date
    error PatentAssetNotExpired(uint256 assetId, uint256 index, uint64 expiryDate);

    /// @notice Registers a patent family and mints its token to the caller.
    /// @param familyId the family identifier; held by one token at a time (a verifier can free it
    /// from a squatter, `rejectFamily`)
    /// @param title the family's title
    /// @param dossierHash keccak-256 of the dossier's canonical JSON
    /// @param dossierURI where the dossier can be fetched
    /// @return assetId the new token id (ids start at 1)
    function registerFamily(string calldata familyId, string calldata title, bytes32 dossierHash, string calldata dossierURI)
        external
        returns (uint256 assetId);

    /// @notice Replaces the dossier of a family; owner only.
    /// @param assetId the token id
    /// @param dossierHash keccak-256 of the new dossier's canonical JSON
    /// @param dossierURI where the new dossier can be fetched
    function updateDossier(uint256 assetId, bytes32 dossierHash, string calldata dossierURI) external;

    /// @notice Adds a patent to a family; owner only. Its status starts Pending.
    /// @param assetId the token id
    /// @param jurisdiction two-letter office code ("US", "CN", "DE", "JP", "EP", "KR", ...)
    /// @param publicationNumber the office's publication number, stored and compared in canonical
    /// form (upper case, no separators, office code first: "US 10123456 B2" is "US10123456B2");
    /// listing it blocks nobody until a verifier attests it, after which it is unique per office
    /// @return index the patent's index within the family
    function addPatent(uint256 assetId, bytes2 jurisdiction, string calldata publicationNumber)
        external
        returns (uint256 index);

    /// @notice Attests the status and dates of a patent; VERIFIER_ROLE only. Any status but Pending
    /// makes the family hold the patent's office and number (`PatentAssetPatentAlreadyVerified` if
    /// another family holds them); Pending releases them.
    /// @param assetId the token id
    /// @param index the patent's index within the family
    /// @param status 0 Pending, 1 Granted, 2 Lapsed, 3 Revoked
    /// @param grantDate unix time of the grant (required unless Pending)
    /// @param expiryDate unix time of expiry (0 when unknown; otherwise after the grant date)
    function verifyPatent(uint256 assetId, uint256 index, uint8 status, uint64 grantDate, uint64 expiryDate) external;

    /// @notice Rejects a listing that is not a patent of the family (status Rejected: it counts for
    /// nothing, and the family releases its number); VERIFIER_ROLE only.
    /// @param assetId the token id
    /// @param index the patent's index within the family
    /// @param reasonHash keccak-256 of the written reason
    function rejectPatent(uint256 assetId, uint256 index, bytes32 reasonHash) external;

    /// @notice Marks a Granted patent whose attested expiry date has passed as Lapsed; anyone may,
    /// in O(1). It keeps its number (a lapsed patent stays verified) and stops counting in
    /// `grantedIn`: grants in force only.
    /// @param assetId the token id
    /// @param index the patent's index within the family
    function expirePatent(uint256 assetId, uint256 index) external;

    /// @notice Records a stability evaluation, replacing the previous one; EVALUATOR_ROLE only.
    /// @param assetId the token id
    /// @param scoreBps the score in basis points, 0..10000
    /// @param reportHash keccak-256 of the evaluation report
    /// @param modelVersion the version of the scoring model
    function recordEvaluation(uint256 assetId, uint16 scoreBps, bytes32 reportHash, string calldata modelVersion)
        external;

    /// @notice The latest stability score of a family (0 when never evaluated).
    /// @param assetId the token id
    /// @return the score in basis points
    function stabilityScore(uint256 assetId) external view returns (uint16);

    /// @notice How many of a family's patents in a jurisdiction are verified as Granted.
    /// @param assetId the token id
    /// @param jurisdiction two-letter office code
    /// @return the count
    function grantedIn(uint256 assetId, bytes2 jurisdiction) external view returns (uint256);

    /// @notice The registration data of a family.
    /// @param assetId the token id
    /// @return familyId the family identifier
    /// @return title the title
    /// @return dossierHash keccak-256 of the dossier's canonical JSON
    /// @return dossierURI where the dossier can be fetched
    function family(uint256 assetId)
        external
        view
        returns (string memory familyId, string memory title, bytes32 dossierHash, string memory dossierURI);

    /// @notice How many patents a family lists.
    /// @param assetId the token id
    /// @return the count
    function patentCount(uint256 assetId) external view returns (uint256);

    /// @notice One patent of a family.
    /// @param assetId the token id
    /// @param index the patent's index within the family
    /// @return the patent
    function patentAt(uint256 assetId, uint256 index) external view returns (Patent memory);

    /// @notice The latest evaluation of a family (all zero when never evaluated).
    /// @param assetId the token id
    /// @return the evaluation
    function evaluation(uint256 assetId) external view returns (Evaluation memory);

    /// @notice Rejects a family's claim to its family id (a squatter registered it first);
    /// VERIFIER_ROLE only. The family id is freed: `claimant` (the rightful owner the verifier
    /// found) alone may register it next, or anyone when `claimant` is zero, so a squatter cannot
    /// take it again between the rejection and the owner's registration. The rejected token stays
    /// with its holder but lists and has verified no more patents (`PatentAssetFamilyIsRejected`);
    /// patents verified on it before keep their numbers until the verifier rejects them too.
    /// @param assetId the token that holds the family id
    /// @param reasonHash keccak-256 of the written reason
    /// @param claimant who alone may register the family id next (zero: anyone)
    function rejectFamily(uint256 assetId, bytes32 reasonHash, address claimant) external;

    /// @notice Whether a verifier rejected the family (`rejectFamily`).
    /// @param assetId the token id
    /// @return whether it was rejected
    function familyRejected(uint256 assetId) external view returns (bool);

    /// @notice Who alone may register a freed family id (zero: anyone, or not reserved).
    /// @param familyId the family identifier
    /// @return the claimant
    function familyIdClaimant(string calldata familyId) external view returns (address);

    /// @notice The token that holds a family id (0 when none).
    /// @param familyId the family identifier
    /// @return the token id
    function assetOfFamily(string calldata familyId) external view returns (uint256);

    /// @notice Lets a pool record families and hear of their transfers; POOL_FACTORY_ROLE only (the
    /// factory calls it for every pool it makes).
    /// @param pool the new pool
    function registerPool(address pool) external;

    /// @notice Records that the family is in the calling pool (a pool calls it when the family is
    /// contributed to it). From then on every transfer of the token calls the pool's
    /// `onAssetTransfer`, so the asset follows its token. A family is in at most 16 pools at once.
    /// @param assetId the token id
    function enterPool(uint256 assetId) external;

    /// @notice Records that the family left the calling pool (its withdrawal completed).
    /// @param assetId the token id
    function leavePool(uint256 assetId) external;

    /// @notice The pools a family is in now (contributed and not withdrawn), in no set order.
    /// @param assetId the token id
    /// @return the pools
    function poolsOf(uint256 assetId) external view returns (address[] memory);

    /// @notice Whether a registered factory made the pool.
    /// @param pool the address
    /// @return whether it is a registered pool
    function isPool(address pool) external view returns (bool);

    /// @notice How many families have been registered; token ids run from 1 to this number.
    /// @return the count
    function totalAssets() external view returns (uint256);
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPatentAsset} from "./interfaces/IPatentAsset.sol";
import {IPatentPoolDisputes} from "./interfaces/IPatentPoolDisputes.sol";
import {OfficeCodes} from "./libraries/OfficeCodes.sol";

/// @title PatentAsset
/// @notice One ERC-721 token per patent family. Owners register their own families and list their
/// patents; only a VERIFIER attests grant status and only an EVALUATOR records stability scores.
contract PatentAsset is IPatentAsset, ERC721, AccessControl {
    /// @notice Role that attests the status of patents.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice Role that records stability evaluations.
    bytes32 public constant EVALUATOR_ROLE = keccak256("EVALUATOR_ROLE");
    /// @notice Role of the pool factories whose pools families can enter (`registerPool`).
    bytes32 public constant POOL_FACTORY_ROLE = keccak256("POOL_FACTORY_ROLE");

    struct Family {
        string familyId;
        string title;
        bytes32 dossierHash;
        string dossierURI;
    }

    uint256 private _lastAssetId;
    mapping(uint256 assetId => Family) private _families;
    // slither-disable-next-line uninitialized-state -- written through a storage pointer in addPatent (patents.push), which the detector does not track
    mapping(uint256 assetId => Patent[]) private _patents;
    mapping(uint256 assetId => Evaluation) private _evaluations;
    mapping(uint256 assetId => mapping(bytes2 jurisdiction => uint256 count)) private _granted;
    mapping(bytes32 familyIdHash => uint256 assetId) private _assetByFamily;
    // Only verified patents are unique: the family whose patent the verifier attested holds its
    // (office, canonical number); a pending listing holds nothing, so it never blocks the owner.
    mapping(bytes32 publicationKey => uint256 assetId) private _assetByPublication;
    uint256 private constant _MAX_PUBLICATION_NUMBER = 32;
    /// @dev The longest family id or title, and the longest dossier URI, in bytes (as the command's).
    uint256 private constant _MAX_TEXT = 200;
    uint256 private constant _MAX_URI = 2048;
    // Issue 14, point 1: a family id a verifier freed from a squatter, reserved for its claimant.
    mapping(bytes32 familyIdHash => address claimant) private _familyIdClaimant;
    mapping(uint256 assetId => bool) private _rejectedFamily;
    // Issue 14, point 2: the pools a family is in, each told of the token's transfers.
    uint256 private constant _MAX_POOLS = 16;
    mapping(address pool => bool) private _isPool;
    // Packed at the front, the rest zero: a fixed array, so entering a pool writes one new slot.
    // slither-disable-next-line uninitialized-state -- written through a storage pointer in enterPool and leavePool, which the detector does not track
    mapping(uint256 assetId => address[_MAX_POOLS] pools) private _pools;

    /// @param admin receives DEFAULT_ADMIN_ROLE, VERIFIER_ROLE and EVALUATOR_ROLE
    constructor(address admin) ERC721("patentpool Patent Family", "PPF") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(VERIFIER_ROLE, admin);
        _grantRole(EVALUATOR_ROLE, admin);
    }

    /// @inheritdoc IPatentAsset
    function registerFamily(string calldata familyId, string calldata title, bytes32 dossierHash, string calldata dossierURI)
        external
        returns (uint256 assetId)
    {
        if (bytes(familyId).length == 0) revert PatentAssetEmptyFamilyId();
        _checkLength(bytes(familyId).length, _MAX_TEXT);
        _checkLength(bytes(title).length, _MAX_TEXT);
        _checkLength(bytes(dossierURI).length, _MAX_URI);
        bytes32 key = keccak256(bytes(familyId));
        uint256 existing = _assetByFamily[key];
        if (existing != 0) revert PatentAssetFamilyAlreadyRegistered(familyId, existing);
        address claimant = _familyIdClaimant[key];
        if (claimant != address(0)) {
            if (claimant != msg.sender) revert PatentAssetFamilyIdReserved(familyId, claimant);
            delete _familyIdClaimant[key];
        }
        assetId = ++_lastAssetId;
        _assetByFamily[key] = assetId;
        _families[assetId] = Family(familyId, title, dossierHash, dossierURI);
        // _mint, not _safeMint: the recipient is the caller itself, and a receiver hook would hand
        // it control in the middle of registration.
        _mint(msg.sender, assetId);
        emit FamilyRegistered(assetId, msg.sender, familyId, title, dossierHash, dossierURI);
    }

    /// @inheritdoc IPatentAsset
    function updateDossier(uint256 assetId, bytes32 dossierHash, string calldata dossierURI) external {
        _checkOwner(assetId);
        _checkLength(bytes(dossierURI).length, _MAX_URI);
        Family storage f = _families[assetId];
        f.dossierHash = dossierHash;
        f.dossierURI = dossierURI;
        emit DossierUpdated(assetId, dossierHash, dossierURI);
    }

    /// @inheritdoc IPatentAsset
    function addPatent(uint256 assetId, bytes2 jurisdiction, string calldata publicationNumber)
        external
        returns (uint256 index)
    {
        _checkOwner(assetId);
        if (_rejectedFamily[assetId]) revert PatentAssetFamilyIsRejected(assetId);
        if (!OfficeCodes.isValid(jurisdiction)) revert PatentAssetInvalidJurisdiction(jurisdiction);
        string memory number = _canonical(jurisdiction, publicationNumber);
        // A verified patent of any family (this one included) cannot be listed again.
        uint256 listedIn = _assetByPublication[keccak256(abi.encodePacked(jurisdiction, number))];
        if (listedIn != 0) revert PatentAssetPatentAlreadyListed(jurisdiction, number, listedIn);
        Patent[] storage patents = _patents[assetId];
        index = patents.length;
        patents.push(Patent(jurisdiction, PatentStatus.Pending, 0, 0, number));
        emit PatentAdded(assetId, index, jurisdiction, number);
    }

    /// @inheritdoc IPatentAsset
    function verifyPatent(uint256 assetId, uint256 index, uint8 status, uint64 grantDate, uint64 expiryDate)
        external
        onlyRole(VERIFIER_ROLE)
    {
        _requireOwned(assetId);
        if (_rejectedFamily[assetId]) revert PatentAssetFamilyIsRejected(assetId);
        Patent[] storage patents = _patents[assetId];
        if (index >= patents.length) revert PatentAssetPatentIndexOutOfRange(assetId, index, patents.length);
        if (status > uint8(PatentStatus.Revoked)) revert PatentAssetInvalidStatus(status);
        PatentStatus newStatus = PatentStatus(status);
        bool datesOk = newStatus == PatentStatus.Pending
            ? grantDate == 0
            : grantDate != 0 && (expiryDate == 0 || expiryDate > grantDate);
        if (!datesOk) revert PatentAssetInvalidDates(status, grantDate, expiryDate);

        Patent storage p = patents[index];
        _hold(assetId, p, newStatus != PatentStatus.Pending);
        bool wasGranted = p.status == PatentStatus.Granted;
        bool isGranted = newStatus == PatentStatus.Granted;
        if (wasGranted != isGranted) {
            mapping(bytes2 => uint256) storage counts = _granted[assetId];
            if (isGranted) {
                ++counts[p.jurisdiction];
            } else {
                --counts[p.jurisdiction];
            }
        }
        p.status = newStatus;
        p.grantDate = grantDate;
        p.expiryDate = expiryDate;
        emit PatentVerified(assetId, index, msg.sender, p.jurisdiction, status, grantDate, expiryDate);
    }

    /// @inheritdoc IPatentAsset
    function rejectPatent(uint256 assetId, uint256 index, bytes32 reasonHash) external onlyRole(VERIFIER_ROLE) {
        _requireOwned(assetId);
        Patent[] storage patents = _patents[assetId];
        if (index >= patents.length) revert PatentAssetPatentIndexOutOfRange(assetId, index, patents.length);
        Patent storage p = patents[index];
        _hold(assetId, p, false);
        if (p.status == PatentStatus.Granted) --_granted[assetId][p.jurisdiction];
        p.status = PatentStatus.Rejected;
        p.grantDate = 0;
        p.expiryDate = 0;
        emit PatentRejected(assetId, index, msg.sender, p.jurisdiction, reasonHash);
    }

    /// @inheritdoc IPatentAsset
    function expirePatent(uint256 assetId, uint256 index) external {
        Patent[] storage patents = _patents[assetId];
        if (index >= patents.length) revert PatentAssetPatentIndexOutOfRange(assetId, index, patents.length);
        Patent storage p = patents[index];
        uint64 expiry = p.expiryDate;
        if (p.status != PatentStatus.Granted || expiry == 0 || expiry > block.timestamp) {
            revert PatentAssetNotExpired(assetId, index, expiry);
        }
        --_granted[assetId][p.jurisdiction];
        p.status = PatentStatus.Lapsed;
        emit PatentExpired(assetId, index, p.jurisdiction, expiry);
    }

    /// @inheritdoc IPatentAsset
    function rejectFamily(uint256 assetId, bytes32 reasonHash, address claimant) external onlyRole(VERIFIER_ROLE) {
        _requireOwned(assetId);
        string storage familyId = _families[assetId].familyId;
        bytes32 key = keccak256(bytes(familyId));
        // Only the token that holds its id (so not one rejected already) can be rejected.
        if (_assetByFamily[key] != assetId) revert PatentAssetFamilyIsRejected(assetId);
        delete _assetByFamily[key];
        _familyIdClaimant[key] = claimant;
        _rejectedFamily[assetId] = true;
        emit FamilyRejected(assetId, msg.sender, familyId, reasonHash, claimant);
    }

    /// @inheritdoc IPatentAsset
    function recordEvaluation(uint256 assetId, uint16 scoreBps, bytes32 reportHash, string calldata modelVersion)
        external
        onlyRole(EVALUATOR_ROLE)
    {
        _requireOwned(assetId);
        if (scoreBps > 10_000) revert PatentAssetInvalidScore(scoreBps);
        _evaluations[assetId] = Evaluation(scoreBps, msg.sender, uint64(block.timestamp), reportHash, modelVersion);
        emit EvaluationRecorded(assetId, msg.sender, scoreBps, reportHash, modelVersion);
    }

    /// @inheritdoc IPatentAsset
    function registerPool(address pool) external onlyRole(POOL_FACTORY_ROLE) {
        _isPool[pool] = true;
        emit PoolRegistered(pool, msg.sender);
    }

    /// @inheritdoc IPatentAsset
    function enterPool(uint256 assetId) external {
        if (!_isPool[msg.sender]) revert PatentAssetNotPool(msg.sender);
        _requireOwned(assetId);
        address[_MAX_POOLS] storage pools = _pools[assetId];
        for (uint256 i = 0; i < _MAX_POOLS; ++i) {
            address pool = pools[i];
            if (pool == msg.sender) return;
            if (pool == address(0)) {
                pools[i] = msg.sender;
                emit AssetEnteredPool(assetId, msg.sender);
                return;
            }
        }
        revert PatentAssetTooManyPools(assetId, _MAX_POOLS);
    }

    /// @inheritdoc IPatentAsset
    function leavePool(uint256 assetId) external {
        address[_MAX_POOLS] storage pools = _pools[assetId];
        uint256 n = _poolCount(pools);
        for (uint256 i = 0; i < n; ++i) {
            if (pools[i] != msg.sender) continue;
            // The last one fills the gap: the list stays packed at the front.
            pools[i] = pools[n - 1];
            pools[n - 1] = address(0);
            emit AssetLeftPool(assetId, msg.sender);
            return;
        }
    }

    /// @inheritdoc IPatentAsset
    function poolsOf(uint256 assetId) external view returns (address[] memory list) {
        address[_MAX_POOLS] storage pools = _pools[assetId];
        uint256 n = _poolCount(pools);
        list = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            list[i] = pools[i];
        }
    }

    /// @inheritdoc IPatentAsset
    function isPool(address pool) external view returns (bool) {
        return _isPool[pool];
    }

    /// @inheritdoc IPatentAsset
    function stabilityScore(uint256 assetId) external view returns (uint16) {
        return _evaluations[assetId].scoreBps;
    }

    /// @inheritdoc IPatentAsset
    function grantedIn(uint256 assetId, bytes2 jurisdiction) external view returns (uint256) {
        return _granted[assetId][jurisdiction];
    }

    /// @inheritdoc IPatentAsset
    function family(uint256 assetId)
        external
        view
        returns (string memory familyId, string memory title, bytes32 dossierHash, string memory dossierURI)
    {
        _requireOwned(assetId);
        Family storage f = _families[assetId];
        return (f.familyId, f.title, f.dossierHash, f.dossierURI);
    }

    /// @inheritdoc IPatentAsset
    function patentCount(uint256 assetId) external view returns (uint256) {
        return _patents[assetId].length;
    }

    /// @inheritdoc IPatentAsset
    function patentAt(uint256 assetId, uint256 index) external view returns (Patent memory) {
        Patent[] storage patents = _patents[assetId];
        if (index >= patents.length) revert PatentAssetPatentIndexOutOfRange(assetId, index, patents.length);
        return patents[index];
    }

    /// @inheritdoc IPatentAsset
    function evaluation(uint256 assetId) external view returns (Evaluation memory) {
        return _evaluations[assetId];
    }

    /// @inheritdoc IPatentAsset
    function assetOfFamily(string calldata familyId) external view returns (uint256) {
        return _assetByFamily[keccak256(bytes(familyId))];
    }

    /// @inheritdoc IPatentAsset
    function familyRejected(uint256 assetId) external view returns (bool) {
        return _rejectedFamily[assetId];
    }

    /// @inheritdoc IPatentAsset
    function familyIdClaimant(string calldata familyId) external view returns (address) {
        return _familyIdClaimant[keccak256(bytes(familyId))];
    }

    /// @inheritdoc IPatentAsset
    function totalAssets() external view returns (uint256) {
        return _lastAssetId;
    }

    /// @notice The dossier URI of a family stands as its token URI.
    function tokenURI(uint256 assetId) public view override returns (string memory) {
        _requireOwned(assetId);
        return _families[assetId].dossierURI;
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return interfaceId == type(IPatentAsset).interfaceId || super.supportsInterface(interfaceId);
    }

    /// Every transfer of a family's token tells each pool it is in (at most 16), which credits the
    /// seller with what the asset earned until now and gives the new holder its weight and control
    /// from now on. The pools are ones a registered factory made, running our code; none calls back.
    function _update(address to, uint256 assetId, address auth) internal override returns (address from) {
        from = super._update(to, assetId, auth);
        if (from == address(0) || from == to) return from;
        address[_MAX_POOLS] storage pools = _pools[assetId];
        for (uint256 i = 0; i < _MAX_POOLS; ++i) {
            address pool = pools[i];
            if (pool == address(0)) break;
            IPatentPoolDisputes(pool).onAssetTransfer(assetId, from, to);
        }
    }

    /// How many pools the family is in: the list is packed at the front.
    function _poolCount(address[_MAX_POOLS] storage pools) private view returns (uint256 n) {
        while (n < _MAX_POOLS && pools[n] != address(0)) ++n;
    }

    /// Makes a family hold (or, if it holds it, release) a patent's office and number: a verified
    /// patent is unique across the registry, and a second family cannot have the same one verified.
    function _hold(uint256 assetId, Patent storage p, bool hold) private {
        bytes32 key = keccak256(abi.encodePacked(p.jurisdiction, p.publicationNumber));
        uint256 holder = _assetByPublication[key];
        if (hold) {
            if (holder != 0 && holder != assetId) {
                revert PatentAssetPatentAlreadyVerified(p.jurisdiction, p.publicationNumber, holder);
            }
            _assetByPublication[key] = assetId;
        } else if (holder == assetId) {
            delete _assetByPublication[key];
        }
    }

    /// The canonical form of a publication number: upper case, without spaces and the separators
    /// - . , /, and starting with its office code ("us 10,123,456 b2" in US: "US10123456B2").
    function _canonical(bytes2 office, string calldata publicationNumber) private pure returns (string memory) {
        bytes calldata raw = bytes(publicationNumber);
        uint256 n = raw.length;
        if (n == 0) revert PatentAssetEmptyPublicationNumber();
        if (n > _MAX_PUBLICATION_NUMBER) revert PatentAssetInvalidPublicationNumber(publicationNumber);
        bytes memory out = new bytes(n + 2);
        uint256 m = 0;
        // Bounded by _MAX_PUBLICATION_NUMBER (32) characters.
        for (uint256 i = 0; i < n; ++i) {
            bytes1 c = raw[i];
            if (c == " " || c == "-" || c == "." || c == "," || c == "/") continue;
            if (c >= "a" && c <= "z") c = bytes1(uint8(c) - 32);
            if (!((c >= "A" && c <= "Z") || (c >= "0" && c <= "9"))) {
                revert PatentAssetInvalidPublicationNumber(publicationNumber);
            }
            out[m++] = c;
        }
        if (m == 0) revert PatentAssetEmptyPublicationNumber();
        bool prefixed = m >= 2 && out[0] == office[0] && out[1] == office[1];
        bytes memory canonical = new bytes(prefixed ? m : m + 2);
        uint256 k = 0;
        if (!prefixed) {
            canonical[0] = office[0];
            canonical[1] = office[1];
            k = 2;
        }
        for (uint256 i = 0; i < m; ++i) {
            canonical[k + i] = out[i];
        }
        return string(canonical);
    }

    function _checkOwner(uint256 assetId) private view {
        address owner = _requireOwned(assetId);
        if (owner != msg.sender) revert PatentAssetNotOwner(assetId, msg.sender, owner);
    }

    function _checkLength(uint256 length, uint256 limit) private pure {
        if (length > limit) revert PatentAssetTextTooLong(length, limit);
    }
}

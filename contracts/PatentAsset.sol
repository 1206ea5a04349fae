// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPatentAsset} from "./interfaces/IPatentAsset.sol";
import {OfficeCodes} from "./libraries/OfficeCodes.sol";

/// @title PatentAsset
/// @notice One ERC-721 token per patent family. Owners register their own families and list their
/// patents; only a VERIFIER attests grant status and only an EVALUATOR records stability scores.
contract PatentAsset is IPatentAsset, ERC721, AccessControl {
    /// @notice Role that attests the status of patents.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice Role that records stability evaluations.
    bytes32 public constant EVALUATOR_ROLE = keccak256("EVALUATOR_ROLE");

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
    mapping(bytes32 publicationKey => uint256 assetId) private _assetByPublication;

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
        bytes32 key = keccak256(bytes(familyId));
        uint256 existing = _assetByFamily[key];
        if (existing != 0) revert PatentAssetFamilyAlreadyRegistered(familyId, existing);
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
        if (!OfficeCodes.isValid(jurisdiction)) revert PatentAssetInvalidJurisdiction(jurisdiction);
        if (bytes(publicationNumber).length == 0) revert PatentAssetEmptyPublicationNumber();
        bytes32 key = keccak256(abi.encodePacked(jurisdiction, publicationNumber));
        uint256 listedIn = _assetByPublication[key];
        if (listedIn != 0) revert PatentAssetPatentAlreadyListed(jurisdiction, publicationNumber, listedIn);
        _assetByPublication[key] = assetId;
        Patent[] storage patents = _patents[assetId];
        index = patents.length;
        patents.push(Patent(jurisdiction, PatentStatus.Pending, 0, 0, publicationNumber));
        emit PatentAdded(assetId, index, jurisdiction, publicationNumber);
    }

    /// @inheritdoc IPatentAsset
    function verifyPatent(uint256 assetId, uint256 index, uint8 status, uint64 grantDate, uint64 expiryDate)
        external
        onlyRole(VERIFIER_ROLE)
    {
        _requireOwned(assetId);
        Patent[] storage patents = _patents[assetId];
        if (index >= patents.length) revert PatentAssetPatentIndexOutOfRange(assetId, index, patents.length);
        if (status > uint8(PatentStatus.Revoked)) revert PatentAssetInvalidStatus(status);
        PatentStatus newStatus = PatentStatus(status);
        bool datesOk = newStatus == PatentStatus.Pending
            ? grantDate == 0
            : grantDate != 0 && (expiryDate == 0 || expiryDate > grantDate);
        if (!datesOk) revert PatentAssetInvalidDates(status, grantDate, expiryDate);

        Patent storage p = patents[index];
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

    function _checkOwner(uint256 assetId) private view {
        address owner = _requireOwned(assetId);
        if (owner != msg.sender) revert PatentAssetNotOwner(assetId, msg.sender, owner);
    }
}

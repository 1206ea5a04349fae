// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPatentPoolTypes} from "../../contracts/interfaces/IPatentPool.sol";
import {IPatentPoolDisputes} from "../../contracts/interfaces/IPatentPoolDisputes.sol";
import {IPatentAsset} from "../../contracts/interfaces/IPatentAsset.sol";
import {PatentAsset} from "../../contracts/PatentAsset.sol";
import {PatentPool} from "../../contracts/PatentPool.sol";
import {PatentPoolDisputes} from "../../contracts/PatentPoolDisputes.sol";
import {PoolFactory} from "../../contracts/PoolFactory.sol";
import {TestStablecoin} from "../../contracts/TestStablecoin.sol";
import {FeeOnTransferToken} from "../contracts/tokens/FeeOnTransferToken.sol";
import {Vm} from "./Vm.sol";

/// @notice The actor of the invariant campaign (tests/foundry/PoolInvariants.t.sol): every public
/// function of PatentPool, PoolFactory and PatentAsset a user can call, with bounded inputs, called
/// as the account allowed to call it (and now and then as one that is not), plus time passing, a
/// fee-on-transfer token whose fee anyone switches, donations and asset-token transfers.
///
/// Alongside, it keeps its own model (ghost variables) of what each pool must hold and owe, which
/// parameters are in force, and which `isLicensed` answers it has seen for past times; the
/// invariants compare the contracts with it. A rule a single call breaks (a claim refused while
/// something is owed, a parameter applied before its time, a share above the ceiling accepted, a
/// paying call accepted while paused, ...) is recorded in `violation`, which an invariant asserts is
/// empty, so the failing sequence ends at the offending call.
contract PoolHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant BPS = 10_000;
    uint256 internal constant PRECISION = 1e18;
    uint64 internal constant TERM = 365 days;
    uint64 internal constant MAX_LICENCE_CAP = 100 * 365 days;
    uint256 internal constant MAX_POOLS = 4;
    uint256 internal constant MAX_FAMILIES = 40;
    uint256 internal constant MAX_OBSERVATIONS = 64;
    uint256 internal constant MAX_OFFER_ASSETS = 6;
    uint8 internal constant P_SHARE = 0;
    uint8 internal constant P_NOTICE = 1;
    uint8 internal constant P_MAXLEN = 2;
    uint8 internal constant P_QUAL = 3;
    uint8 internal constant P_BOND = 7;
    uint8 internal constant PARAMETER_COUNT = 8;

    // ---------------------------------------------------------------- accounts

    address public constant REGISTRY_ADMIN = address(0x7E61);
    address public constant FACTORY_ADMIN = address(0xFAC7);
    address public constant OPERATOR = address(0x0B0B);
    address public constant ADMIN_2 = address(0xAD02);
    address public constant TREASURY_1 = address(0x7E01);
    address public constant TREASURY_2 = address(0x7E02);
    address[4] internal _founders = [address(0xF001), address(0xF002), address(0xF003), address(0xF004)];
    address[4] internal _members = [address(0x3E01), address(0x3E02), address(0x3E03), address(0x3E04)];
    /// Every account that can be owed money: the claimable sums run over these.
    address[] internal _accounts;

    PatentAsset public immutable registry;
    PoolFactory public immutable factory;
    TestStablecoin public immutable usd6;
    FeeOnTransferToken public immutable feeToken;
    FeeOnTransferToken public immutable coin18;

    // ---------------------------------------------------------------- the model

    struct Ghost {
        PatentPool pool;
        address token;
        uint8 decimals;
        // Bounds fixed at creation.
        uint16 ceiling;
        uint64 delay;
        // Parameters in force, changed only as announced.
        uint16 share;
        uint64 notice;
        uint64 maxLen;
        uint256[3] fees;
        bytes32 qualification;
        uint256 bond;
        uint64[8] pendingAt;
        uint256[8] pendingValue;
        bytes32 pendingQualification;
        IPatentPoolTypes.Lifecycle lifecycle;
        bool paused;
        address admin;
        address pendingAdmin;
        address treasury;
        // Money: what arrived from payers, what left to claimants, what was sent without a call.
        uint256 paidIn;
        uint256 paidOut;
        uint256 donated;
        // Dispute bonds (issue 14, point 8): what arrived as bonds, what the pool holds for open
        // disputes, and what rulings credited to each account (challenger or asset founder).
        uint256 bondsIn;
        uint256 bondsHeld;
        mapping(address => uint256) bondCredit;
        mapping(uint256 => uint256) disputeBond;
        mapping(uint256 => bool) disputeOpen;
        uint256 payments;
        uint256 closes;
        uint256 maxTotalWeight;
        uint256 totalWeight;
        mapping(address => uint256) weight;
        mapping(address => uint256) closesOf;
        // Each founder's exact share of the founders' money, in 1e-18 units (floored per payment).
        mapping(address => uint256) exactScaled;
        mapping(address => uint256) treasuryCredit;
        mapping(address => uint256) claimed;
        mapping(address => bool) admitted;
        // Assets: 0 never contributed, 1 in the pool, 2 withdrawal announced, 3 withdrawn, 4 suspended
        // (and not withdrawn). `suspended` mirrors the pool's flag (a withdrawn asset can be too).
        mapping(uint256 => uint8) assetState;
        mapping(uint256 => bool) suspended;
        // Each asset's suspension trace as the model sees it: (time << 1 | suspended), in order.
        mapping(uint256 => uint256[]) suspensionTrace;
        mapping(uint256 => bool) counted;
        mapping(uint256 => uint256) assetWeight;
        mapping(uint256 => address) assetFounder;
        uint256[] assets;
        uint256[] offers;
        uint256[] licences;
        uint256[] disputes;
    }

    mapping(uint256 => Ghost) internal _g;
    uint256 public poolCount;

    struct Observation {
        uint8 p;
        address licensee;
        uint256 assetId;
        uint64 at;
    }

    /// `isLicensed` answers `true` seen for a past time: they must stay true.
    Observation[] public observations;
    uint256 internal _observationCursor;

    uint256[] public families;
    uint256 internal _familySerial;

    /// The block time the campaign has reached (a warp is set again at every call).
    uint64 public t;
    /// The pool the last call touched (the invariants check it after every call, all at the end).
    uint256 public lastPool;
    uint256 public calls;
    string public violation;

    /// What the last call may have changed, so that the invariant checks that after it (checking
    /// everything after every call would cost five times the calls themselves).
    uint8 public constant MONEY = 1;
    uint8 public constant PARAMETERS = 2;
    uint8 public constant ROLES = 4;
    uint8 public constant WEIGHTS = 8;
    uint8 public constant HISTORY = 16;
    uint8 public lastKind;

    /// How often each kind of call went through (the campaign's coverage; see `stats`).
    mapping(string => uint256) public succeeded;

    function _ok(string memory what) internal {
        ++succeeded[what];
    }

    function stats() external view returns (string memory out) {
        string[30] memory names = [
            "contribute", "join", "renew", "offer", "offer in the past", "offer of several assets", "accept",
            "accept several assets", "accept in the past", "claim", "withdraw", "suspend", "apply change", "pause", "close", "treasury",
            "admin", "observe", "dispute", "bond", "dismiss", "lift", "reweigh", "bond change", "expire", "reject family",
            "reclaim family", "observe suspended", "claim a bond", "transfer an asset"
        ];
        for (uint256 i = 0; i < names.length; ++i) {
            out = string.concat(out, names[i], "=", vm.toString(succeeded[names[i]]), " ");
        }
    }

    modifier step(uint8 kind) {
        vm.warp(t);
        ++calls;
        lastKind = kind;
        _;
        vm.warp(t);
    }

    constructor() {
        // A real date (Nov 2023), so that licences may start in the past.
        t = 1_700_000_000;
        vm.warp(t);
        _accounts.push(OPERATOR);
        _accounts.push(ADMIN_2);
        _accounts.push(TREASURY_1);
        _accounts.push(TREASURY_2);
        for (uint256 i = 0; i < 4; ++i) {
            _accounts.push(_founders[i]);
            _accounts.push(_members[i]);
        }
        registry = new PatentAsset(REGISTRY_ADMIN);
        PatentPoolDisputes disputesModule = new PatentPoolDisputes();
        PatentPool implementation = new PatentPool(address(disputesModule));
        factory = new PoolFactory(address(implementation), address(registry), FACTORY_ADMIN);
        bytes32 poolFactoryRole = registry.POOL_FACTORY_ROLE();
        vm.prank(REGISTRY_ADMIN);
        registry.grantRole(poolFactoryRole, address(factory));
        usd6 = new TestStablecoin();
        feeToken = new FeeOnTransferToken();
        coin18 = new FeeOnTransferToken();

        // Three families per founder, of weights 1..5 under the default rule and the easy one.
        for (uint256 i = 0; i < 12; ++i) {
            _registerFamily(_founders[i % 4], 1 + (i * 7) % 31, uint16(6_000 + (i % 5) * 1_000));
        }
        // A 6-decimal pool with the default bounds, an 18-decimal one with any share allowed, and
        // a fee-on-transfer one with a short delay; the campaign may create one more.
        _newPool(0, 0, 0, true);
        _newPool(1, 10_000, 1 days, false);
        _newPool(2, 5_000, 30 days, false);
        // Pools 0 and 1 start Active, with founders' weight in them; pool 2 is left Incubating.
        for (uint256 p = 0; p < 2; ++p) {
            Ghost storage g = _g[p];
            for (uint256 i = p; i < 12; i += 3) {
                _contributeAs(g, families[i], registry.ownerOf(families[i]));
            }
            vm.prank(OPERATOR);
            g.pool.activate();
            g.lifecycle = IPatentPoolTypes.Lifecycle.Active;
        }
    }

    // ================================================================= views for the invariants

    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    function founders() external view returns (address[4] memory) {
        return _founders;
    }

    function members() external view returns (address[4] memory) {
        return _members;
    }

    function poolOf(uint256 p) external view returns (PatentPool) {
        return _g[p].pool;
    }

    function tokenOf(uint256 p) external view returns (IERC20) {
        return IERC20(_g[p].token);
    }

    function money(uint256 p)
        external
        view
        returns (uint256 paidIn, uint256 paidOut, uint256 donated, uint256 payments, uint256 closes, uint256 maxW)
    {
        Ghost storage g = _g[p];
        return (g.paidIn, g.paidOut, g.donated, g.payments, g.closes, g.maxTotalWeight);
    }

    function founderModel(uint256 p, address f)
        external
        view
        returns (uint256 weight, uint256 exactScaled, uint256 closes, uint256 claimed)
    {
        Ghost storage g = _g[p];
        return (g.weight[f], g.exactScaled[f], g.closesOf[f], g.claimed[f]);
    }

    function treasuryModel(uint256 p, address a) external view returns (uint256 credit, uint256 claimed) {
        return (_g[p].treasuryCredit[a], _g[p].claimed[a]);
    }

    function totalWeightModel(uint256 p) external view returns (uint256) {
        return _g[p].totalWeight;
    }

    function bounds(uint256 p) external view returns (uint16 ceiling, uint64 delay) {
        return (_g[p].ceiling, _g[p].delay);
    }

    function parameters(uint256 p)
        external
        view
        returns (uint16 share, uint64 notice, uint64 maxLen, uint256[3] memory fees, bytes32 qualification)
    {
        Ghost storage g = _g[p];
        return (g.share, g.notice, g.maxLen, g.fees, g.qualification);
    }

    function roles(uint256 p) external view returns (address admin, address pendingAdmin, address treasury, bool paused) {
        Ghost storage g = _g[p];
        return (g.admin, g.pendingAdmin, g.treasury, g.paused);
    }

    function lifecycle(uint256 p) external view returns (IPatentPoolTypes.Lifecycle) {
        return _g[p].lifecycle;
    }

    function assetsOf(uint256 p) external view returns (uint256[] memory) {
        return _g[p].assets;
    }

    function assetModel(uint256 p, uint256 assetId)
        external
        view
        returns (uint8 state, bool counted, uint256 weight, address founder)
    {
        Ghost storage g = _g[p];
        return (g.assetState[assetId], g.counted[assetId], g.assetWeight[assetId], g.assetFounder[assetId]);
    }

    function licencesOf(uint256 p) external view returns (uint256[] memory) {
        return _g[p].licences;
    }

    function observationCount() external view returns (uint256) {
        return observations.length;
    }

    function bondModel(uint256 p) external view returns (uint256 bond, uint256 bondsIn, uint256 bondsHeld) {
        Ghost storage g = _g[p];
        return (g.bond, g.bondsIn, g.bondsHeld);
    }

    function bondCreditOf(uint256 p, address a) external view returns (uint256) {
        return _g[p].bondCredit[a];
    }

    function disputesOf(uint256 p) external view returns (uint256[] memory) {
        return _g[p].disputes;
    }

    function disputeModel(uint256 p, uint256 id) external view returns (bool open, uint256 bond) {
        return (_g[p].disputeOpen[id], _g[p].disputeBond[id]);
    }

    function suspensionTraceOf(uint256 p, uint256 assetId) external view returns (uint256[] memory) {
        return _g[p].suspensionTrace[assetId];
    }

    /// Whether the model has the asset suspended at `at`: the latest suspension or lifting at or
    /// before `at` decides (one of the same second replaces the other, as in the pool's trace).
    function suspendedModel(uint256 p, uint256 assetId, uint64 at) public view returns (bool) {
        uint256[] storage trace = _g[p].suspensionTrace[assetId];
        for (uint256 i = trace.length; i > 0; --i) {
            if (trace[i - 1] >> 1 <= at) return trace[i - 1] & 1 == 1;
        }
        return false;
    }

    function qualificationKey(bytes2[] memory jurisdictions, uint8 minGranted, uint16 minScoreBps)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jurisdictions, minGranted, minScoreBps));
    }

    // ================================================================= registry (PatentAsset)

    function registerFamily(uint256 ownerSeed, uint256 officeMask, uint256 scoreSeed) external step(0) {
        if (families.length >= MAX_FAMILIES) return;
        address owner = ownerSeed % 3 == 0 ? _members[ownerSeed / 3 % 4] : _founders[ownerSeed / 3 % 4];
        _registerFamily(owner, officeMask % 64, uint16(_bound(scoreSeed, 4_000, 10_000)));
    }

    /// A family with one patent in each office of `officeMask` (US CN DE JP EP GB), all verified
    /// Granted, and a stability score.
    function _registerFamily(address owner, uint256 officeMask, uint16 score) internal {
        uint256 serial = ++_familySerial;
        string memory id = string.concat("FAM-", vm.toString(serial));
        vm.prank(owner);
        uint256 assetId = registry.registerFamily(id, "title", keccak256(bytes(id)), "ipfs://dossier");
        bytes2[6] memory offices = [bytes2("US"), "CN", "DE", "JP", "EP", "GB"];
        for (uint256 k = 0; k < 6; ++k) {
            if (officeMask & (1 << k) == 0) continue;
            vm.prank(owner);
            uint256 index = registry.addPatent(assetId, offices[k], string.concat(vm.toString(serial * 10 + k), "B2"));
            // Some patents carry an expiry date (expirePatent may mark them later); the others none.
            uint64 expiry = (serial + k) % 3 == 0 ? t + uint64(serial * 13 days + k * 29 days) : 0;
            vm.prank(REGISTRY_ADMIN);
            registry.verifyPatent(assetId, index, 1, 1, expiry);
        }
        vm.prank(REGISTRY_ADMIN);
        registry.recordEvaluation(assetId, score, bytes32(serial), "model-1");
        families.push(assetId);
    }

    /// The verifier attests another status (Pending, Granted, Lapsed, Revoked) of a listed patent.
    function verifyPatent(uint256 assetSeed, uint256 indexSeed, uint8 status, uint64 expirySeed) external step(0) {
        uint256 assetId = families[assetSeed % families.length];
        uint256 n = registry.patentCount(assetId);
        if (n == 0) return;
        status = status % 4;
        uint64 grant = status == 0 ? 0 : 1;
        // Granted patents expire now and then: in the past (markable at once), later, or never.
        uint64 expiry = 0;
        if (status != 0 && expirySeed % 3 == 1) expiry = t + uint64(_bound(expirySeed, 1, 300 days));
        else if (status != 0 && expirySeed % 3 == 2) expiry = uint64(_bound(expirySeed, 2, t));
        vm.prank(REGISTRY_ADMIN);
        try registry.verifyPatent(assetId, indexSeed % n, status, grant, expiry) {
            if (registry.familyRejected(assetId)) _fail("a patent of a rejected family was verified");
        } catch {}
    }

    /// Anyone marks a Granted patent whose expiry date has passed as Lapsed (issue 14, point 7);
    /// before that date, or for a patent not Granted, it is refused.
    function expirePatent(uint256 assetSeed, uint256 indexSeed, uint256 callerSeed) external step(0) {
        uint256 assetId = families[assetSeed % families.length];
        uint256 n = registry.patentCount(assetId);
        if (n == 0) return;
        uint256 index = indexSeed % n;
        IPatentAsset.Patent memory pt = registry.patentAt(assetId, index);
        bool due = pt.status == IPatentAsset.PatentStatus.Granted && pt.expiryDate != 0 && pt.expiryDate <= t;
        uint256 before = registry.grantedIn(assetId, pt.jurisdiction);
        vm.prank(_accounts[callerSeed % _accounts.length]);
        try registry.expirePatent(assetId, index) {
            if (!due) _fail("a patent was marked expired before its expiry date, or not Granted");
            if (registry.grantedIn(assetId, pt.jurisdiction) != before - 1) _fail("an expired patent still counts as granted");
            _ok("expire");
        } catch {
            if (due) _fail("an expired patent could not be marked expired");
        }
    }

    /// Family ids a verifier freed (issue 14, point 1), and who alone may register each next.
    string[] internal _freedIds;
    mapping(bytes32 => address) internal _reservedFor;

    /// The verifier (now and then a stranger, refused) rejects a family's claim to its id, freeing
    /// it for a claimant (or anyone). Rare: a rejected family lists and verifies no more patents.
    function rejectFamily(uint256 assetSeed, uint256 claimantSeed, uint256 callerSeed) external step(0) {
        if (callerSeed % 8 != 5) return;
        uint256 assetId = families[assetSeed % families.length];
        (string memory id,,,) = registry.family(assetId);
        bytes32 key = keccak256(bytes(id));
        bool holds = registry.assetOfFamily(id) == assetId;
        address claimant = claimantSeed % 5 == 0
            ? address(0)
            : claimantSeed % 2 == 0 ? _founders[claimantSeed / 2 % 4] : _members[claimantSeed / 2 % 4];
        address caller = callerSeed % 64 == 13 ? _members[callerSeed / 64 % 4] : REGISTRY_ADMIN;
        vm.prank(caller);
        try registry.rejectFamily(assetId, bytes32("squatted"), claimant) {
            if (caller != REGISTRY_ADMIN) _fail("a stranger rejected a family");
            if (!holds) _fail("a family that does not hold its id was rejected");
            if (registry.assetOfFamily(id) != 0 || !registry.familyRejected(assetId)) _fail("a rejected family id was not freed");
            if (registry.familyIdClaimant(id) != claimant) _fail("a freed family id is not reserved for its claimant");
            _freedIds.push(id);
            _reservedFor[key] = claimant;
            _ok("reject family");
        } catch {
            if (caller == REGISTRY_ADMIN && holds) _fail("the verifier could not reject a family");
        }
    }

    /// Someone registers a freed family id: its claimant (or anyone, if none) succeeds, once; anyone
    /// else is refused, and so is everyone while a token holds the id.
    function reclaimFamily(uint256 idSeed, uint256 callerSeed) external step(0) {
        if (_freedIds.length == 0 || families.length >= MAX_FAMILIES) return;
        string memory id = _freedIds[idSeed % _freedIds.length];
        bytes32 key = keccak256(bytes(id));
        address reserved = _reservedFor[key];
        bool free = registry.assetOfFamily(id) == 0;
        address caller = reserved == address(0) || callerSeed % 3 == 0
            ? (callerSeed % 2 == 0 ? _founders[callerSeed / 2 % 4] : _members[callerSeed / 2 % 4])
            : reserved;
        vm.prank(caller);
        try registry.registerFamily(id, "title", key, "ipfs://dossier") returns (uint256 assetId) {
            if (!free) _fail("a family id held by a token was registered again");
            if (reserved != address(0) && caller != reserved) _fail("a reserved family id was taken by someone else");
            if (registry.familyIdClaimant(id) != address(0)) _fail("a family id's reservation was not used up");
            _reservedFor[key] = address(0);
            families.push(assetId);
            _ok("reclaim family");
        } catch {
            if (free && (reserved == address(0) || caller == reserved)) _fail("a freed family id could not be registered by its claimant");
        }
    }

    function rejectPatent(uint256 assetSeed, uint256 indexSeed) external step(0) {
        uint256 assetId = families[assetSeed % families.length];
        uint256 n = registry.patentCount(assetId);
        if (n == 0) return;
        vm.prank(REGISTRY_ADMIN);
        try registry.rejectPatent(assetId, indexSeed % n, bytes32("false listing")) {} catch {}
    }

    function addPatent(uint256 assetSeed, uint8 officeSeed, uint32 number) external step(0) {
        uint256 assetId = families[assetSeed % families.length];
        if (registry.patentCount(assetId) >= 12) return;
        bytes2[4] memory offices = [bytes2("US"), "CN", "DE", "JP"];
        vm.prank(registry.ownerOf(assetId));
        try registry.addPatent(assetId, offices[officeSeed % 4], string.concat(vm.toString(number), " B1")) {
            if (registry.familyRejected(assetId)) _fail("a patent was listed on a rejected family");
        } catch {}
    }

    function recordEvaluation(uint256 assetSeed, uint256 scoreSeed) external step(0) {
        uint256 assetId = families[assetSeed % families.length];
        vm.prank(REGISTRY_ADMIN);
        registry.recordEvaluation(assetId, uint16(_bound(scoreSeed, 0, 10_000)), bytes32(scoreSeed), "model-2");
    }

    function updateDossier(uint256 assetSeed, bytes32 dossierHash) external step(0) {
        uint256 assetId = families[assetSeed % families.length];
        vm.prank(registry.ownerOf(assetId));
        registry.updateDossier(assetId, dossierHash, "ipfs://dossier-2");
    }

    /// The owner of a family token sells it to another founder. Every pool the family is in moves
    /// it with the token (issue 14, point 2): what it earned until now stays with the seller (the
    /// money invariants check each founder's share per period of constant weight), and from now on
    /// its weight earns for the buyer, who alone controls it. (A buyer who is no founder of the pool
    /// is tested in tests/contracts/test_asset_transfer.py; the money model here follows founders.)
    function transferAsset(uint256 assetSeed, uint256 toSeed) external step(MONEY | WEIGHTS | HISTORY) {
        uint256 assetId = families[assetSeed % families.length];
        address from = registry.ownerOf(assetId);
        address to = _founders[toSeed % 4];
        if (to == from) return;
        vm.prank(from);
        registry.transferFrom(from, to, assetId);
        uint256 inPools = 0;
        for (uint256 p = 0; p < poolCount; ++p) {
            Ghost storage g = _g[p];
            uint8 state = g.assetState[assetId];
            if (state == 0 || state == 3) continue;
            ++inPools;
            if (g.assetFounder[assetId] != from) _fail("a pool's holder of an asset is not its token's owner");
            g.assetFounder[assetId] = to;
            if (g.counted[assetId]) {
                uint256 w = g.assetWeight[assetId];
                _setWeight(g, from, g.weight[from] - w);
                _setWeight(g, to, g.weight[to] + w);
            }
            if (g.pool.poolAsset(assetId).founder != to) _fail("an asset did not follow its token in a pool");
        }
        if (registry.poolsOf(assetId).length != inPools) _fail("the registry does not list every pool a family is in");
        _ok("transfer an asset");
    }

    // ================================================================= factory

    function createPool(uint8 tokenSeed, uint16 ceilingSeed, uint64 delaySeed, bool withBounds, bool asStranger)
        external
        step(PARAMETERS | ROLES)
    {
        if (asStranger) {
            // Only POOL_CREATOR_ROLE creates pools.
            vm.prank(_members[tokenSeed % 4]);
            try factory.createPool("Stray", 0, "x", address(usd6), OPERATOR) {
                _fail("a stranger created a pool");
            } catch {}
            return;
        }
        if (poolCount >= MAX_POOLS) return;
        _newPool(tokenSeed % 3, uint16(_bound(ceilingSeed, 0, 10_000)), uint64(_bound(delaySeed, 1 days, 365 days)), !withBounds);
        lastPool = poolCount - 1;
    }

    function _newPool(uint256 tokenIndex, uint16 ceiling, uint64 delay, bool defaults) internal {
        address token = tokenIndex == 0 ? address(usd6) : tokenIndex == 1 ? address(coin18) : address(feeToken);
        vm.prank(FACTORY_ADMIN);
        address created = defaults
            ? factory.createPool("Pool", 2, "LiDAR", token, OPERATOR)
            : factory.createPoolWithBounds("Pool", 2, "LiDAR", token, OPERATOR, ceiling, delay);
        if (defaults) {
            ceiling = factory.DEFAULT_MAX_OPERATOR_SHARE_BPS();
            delay = factory.DEFAULT_CHANGE_DELAY();
        }
        uint256 p = poolCount++;
        Ghost storage g = _g[p];
        g.pool = PatentPool(created);
        g.token = token;
        g.decimals = tokenIndex == 0 ? 6 : 18;
        g.ceiling = ceiling;
        g.delay = delay;
        g.share = ceiling < 1_000 ? ceiling : 1_000;
        g.notice = delay < 90 days ? delay : 90 days;
        g.maxLen = 5 * 365 days;
        g.lifecycle = IPatentPoolTypes.Lifecycle.Incubating;
        g.admin = OPERATOR;
        g.treasury = OPERATOR;
        {
            (bytes2[] memory j, uint8 m, uint16 s) = g.pool.qualification();
            g.qualification = qualificationKey(j, m, s);
        }
        // While Incubating, changes apply at once: an easier rule (one grant in US/CN/DE/JP/EP),
        // fees of every size for the token, and the four founders admitted.
        bytes2[] memory offices = new bytes2[](5);
        offices[0] = "US";
        offices[1] = "CN";
        offices[2] = "DE";
        offices[3] = "JP";
        offices[4] = "EP";
        vm.startPrank(OPERATOR);
        g.pool.setQualification(offices, 1, 5_000);
        g.qualification = qualificationKey(offices, 1, 5_000);
        uint256 unit = 10 ** g.decimals;
        g.pool.setTierFee(0, 7);
        g.pool.setTierFee(1, 999 * unit + 1);
        g.pool.setTierFee(2, 25_000 * unit);
        g.fees = [uint256(7), 999 * unit + 1, 25_000 * unit];
        // Disputes cost a bond (issue 14, point 8) in every pool but the second, which starts free.
        g.bond = p == 1 ? 0 : 5 * unit + 3;
        _disp(g).setDisputeBond(g.bond);
        for (uint256 i = 0; i < 4; ++i) {
            g.pool.admitFounder(_founders[i]);
            g.admitted[_founders[i]] = true;
        }
        vm.stopPrank();
        for (uint256 i = 0; i < _accounts.length; ++i) {
            vm.prank(_accounts[i]);
            IERC20(token).approve(created, type(uint256).max);
        }
    }

    // ================================================================= operator configuration

    /// The operator, or now and then a stranger (which must be refused), calls a setter.
    function _caller(uint256 seed, address allowed) internal view returns (address) {
        return seed % 16 == 5 ? _members[seed / 16 % 4] : allowed;
    }

    function setOperatorShare(uint8 p, uint16 bps, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        bps = uint16(_bound(bps, 0, 10_100));
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.setOperatorShare(bps) {
            if (caller != OPERATOR) _fail("a stranger set the operator share");
            if (bps > g.ceiling) _fail("an operator share above the ceiling was accepted");
            _changed(g, P_SHARE, bps);
        } catch {}
    }

    function setWithdrawalNotice(uint8 p, uint64 notice, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        notice = uint64(_bound(notice, 0, uint256(g.delay) * 2));
        if (callerSeed % 7 == 0) notice = type(uint64).max - uint64(callerSeed % 1000);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.setWithdrawalNotice(notice) {
            if (caller != OPERATOR) _fail("a stranger set the notice");
            if (notice > g.delay) _fail("a notice longer than the change delay was accepted");
            _changed(g, P_NOTICE, notice);
        } catch {}
    }

    function setMaxLicenceLength(uint8 p, uint64 maxLen, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        maxLen = uint64(_bound(maxLen, 0, MAX_LICENCE_CAP + 30 days));
        if (callerSeed % 3 == 0) maxLen = uint64(_bound(maxLen, 1 days, 400 days));
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.setMaxLicenceLength(maxLen) {
            if (caller != OPERATOR) _fail("a stranger set the maximum licence length");
            if (maxLen == 0 || maxLen > MAX_LICENCE_CAP) _fail("a licence length bound out of range was accepted");
            _changed(g, P_MAXLEN, maxLen);
        } catch {}
    }

    function setTierFee(uint8 p, uint8 tier, uint256 feeSeed, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        tier = tier % 4; // 3 is no tier
        uint256 fee = feeSeed % 5 == 0 ? 0 : _amount(g, feeSeed);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.setTierFee(tier, fee) {
            if (caller != OPERATOR) _fail("a stranger set a fee");
            if (tier >= 3) _fail("a fee for a tier that does not exist was accepted");
            _changed(g, 4 + tier, fee);
        } catch {}
    }

    function setQualification(uint8 p, uint8 officeMask, uint8 minGranted, uint16 minScore, uint256 callerSeed)
        external
        step(PARAMETERS)
    {
        Ghost storage g = _use(p);
        bytes2[6] memory all = [bytes2("US"), "CN", "DE", "JP", "EP", "GB"];
        uint256 n = 0;
        for (uint256 k = 0; k < 6; ++k) {
            if (officeMask & (1 << k) != 0) ++n;
        }
        bytes2[] memory offices = new bytes2[](n);
        n = 0;
        for (uint256 k = 0; k < 6; ++k) {
            if (officeMask & (1 << k) != 0) offices[n++] = all[k];
        }
        minGranted = uint8(_bound(minGranted, 0, 3));
        minScore = uint16(_bound(minScore, 3_000, 10_500));
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.setQualification(offices, minGranted, minScore) {
            if (caller != OPERATOR) _fail("a stranger set the qualification");
            if (n == 0 || minGranted == 0 || minScore > BPS) _fail("an invalid qualification was accepted");
            bytes32 key = qualificationKey(offices, minGranted, minScore);
            if (g.lifecycle == IPatentPoolTypes.Lifecycle.Incubating) {
                g.qualification = key;
            } else {
                g.pendingQualification = key;
                _announced(g, P_QUAL, 0);
            }
        } catch {}
    }

    /// The dispute bond (issue 14, point 8): an announced parameter like the others; any amount.
    function setDisputeBond(uint8 p, uint256 bondSeed, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        uint256 bond = bondSeed % 5 == 0 ? 0 : bondSeed % 5 == 1 ? _bound(bondSeed / 5, 1, 50 * 10 ** g.decimals) : _amount(g, bondSeed);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try _disp(g).setDisputeBond(bond) {
            if (caller != OPERATOR) _fail("a stranger set the dispute bond");
            _changed(g, P_BOND, bond);
            _ok("bond change");
        } catch {
            if (caller == OPERATOR) _fail("the operator could not set the dispute bond");
        }
    }

    function setTerritory(uint8 p, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.setTerritory("EU") {
            if (caller != OPERATOR) _fail("a stranger set the territory");
        } catch {}
    }

    /// Anyone puts an announced change in force once its delay is over, and not before.
    function applyParameterChange(uint8 p, uint8 parameter, uint256 callerSeed) external step(PARAMETERS) {
        Ghost storage g = _use(p);
        parameter = parameter % (PARAMETER_COUNT + 1); // PARAMETER_COUNT is no parameter
        uint64 due = parameter < PARAMETER_COUNT ? g.pendingAt[parameter] : 0;
        vm.prank(_accounts[callerSeed % _accounts.length]);
        try g.pool.applyParameterChange(parameter) {
            if (due == 0) _fail("a change nobody announced was applied");
            if (t < due) _fail("a change was applied before its effective time");
            uint256 value = g.pendingValue[parameter];
            if (parameter == P_SHARE) g.share = uint16(value);
            else if (parameter == P_NOTICE) g.notice = uint64(value);
            else if (parameter == P_MAXLEN) g.maxLen = uint64(value);
            else if (parameter == P_QUAL) g.qualification = g.pendingQualification;
            else if (parameter == P_BOND) g.bond = value;
            else g.fees[parameter - 4] = value;
            g.pendingAt[parameter] = 0;
            g.pendingValue[parameter] = 0;
            _ok("apply change");
        } catch {
            if (due != 0 && t >= due) _fail("a due change could not be applied");
        }
    }

    function _changed(Ghost storage g, uint8 parameter, uint256 value) internal {
        if (g.lifecycle == IPatentPoolTypes.Lifecycle.Incubating) {
            if (parameter == P_SHARE) g.share = uint16(value);
            else if (parameter == P_NOTICE) g.notice = uint64(value);
            else if (parameter == P_MAXLEN) g.maxLen = uint64(value);
            else if (parameter == P_BOND) g.bond = value;
            else g.fees[parameter - 4] = value;
            return;
        }
        _announced(g, parameter, value);
    }

    function _announced(Ghost storage g, uint8 parameter, uint256 value) internal {
        g.pendingAt[parameter] = t + g.delay;
        g.pendingValue[parameter] = value;
        (uint256 v, uint64 effectiveAt) = g.pool.pendingChange(parameter);
        if (effectiveAt != t + g.delay || v != value) _fail("an announcement does not wait the change delay");
    }

    // ================================================================= lifecycle and roles

    function activate(uint8 p, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.activate() {
            if (caller != OPERATOR) _fail("a stranger activated a pool");
            if (g.lifecycle != IPatentPoolTypes.Lifecycle.Incubating) _fail("a pool was activated twice");
            g.lifecycle = IPatentPoolTypes.Lifecycle.Active;
        } catch {}
    }

    /// Closing ends a pool's new business for good: rare, so the other pools keep going.
    function close(uint8 p, uint256 seed) external step(ROLES) {
        Ghost storage g = _use(p);
        if (seed % 24 != 7) return; // not 0: the fuzzer's favourite
        vm.prank(OPERATOR);
        try g.pool.close() {
            if (g.lifecycle == IPatentPoolTypes.Lifecycle.Closed) _fail("a closed pool was closed again");
            g.lifecycle = IPatentPoolTypes.Lifecycle.Closed;
            _ok("close");
        } catch {}
    }

    /// Pausing is rarer than unpausing, so pools are not paused most of the time.
    function pause(uint8 p, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        if (callerSeed % 4 != 3) return;
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.pause() {
            if (caller != OPERATOR) _fail("a stranger paused a pool");
            g.paused = true;
            _ok("pause");
        } catch {}
    }

    function unpause(uint8 p, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.unpause() {
            if (caller != OPERATOR) _fail("a stranger unpaused a pool");
            g.paused = false;
        } catch {}
    }

    function setTreasury(uint8 p, uint256 toSeed, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        address[3] memory candidates = [OPERATOR, TREASURY_1, TREASURY_2];
        address to = toSeed % 9 == 0 ? address(0) : candidates[toSeed % 3];
        address caller = callerSeed % 4 == 0 ? OPERATOR : _caller(callerSeed, g.admin);
        vm.prank(caller);
        try g.pool.setTreasury(to) {
            if (caller != g.admin) _fail("someone other than the admin moved the treasury");
            if (to == address(0)) _fail("the treasury was set to the zero address");
            g.treasury = to;
            _ok("treasury");
        } catch {}
    }

    function beginAdminTransfer(uint8 p, uint256 toSeed, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        address to = toSeed % 2 == 0 ? ADMIN_2 : OPERATOR;
        address caller = callerSeed % 4 == 0 ? _members[callerSeed / 4 % 4] : g.admin;
        vm.prank(caller);
        try g.pool.beginDefaultAdminTransfer(to) {
            if (caller != g.admin) _fail("someone other than the admin began an admin transfer");
            g.pendingAdmin = to;
        } catch {}
    }

    function acceptAdminTransfer(uint8 p, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        address caller = callerSeed % 3 == 0 ? _accounts[callerSeed % _accounts.length] : g.pendingAdmin;
        vm.prank(caller);
        try g.pool.acceptDefaultAdminTransfer() {
            if (caller != g.pendingAdmin || caller == address(0)) _fail("an admin transfer was taken by another account");
            g.admin = caller;
            g.pendingAdmin = address(0);
            _ok("admin");
        } catch {}
    }

    /// The admin role changes hands in two steps only: grant, revoke and renounce of it revert.
    function oneStepAdminChange(uint8 p, uint8 how) external step(ROLES) {
        Ghost storage g = _use(p);
        bytes32 role = g.pool.DEFAULT_ADMIN_ROLE();
        vm.prank(g.admin);
        bool ok;
        if (how % 3 == 0) {
            try g.pool.grantRole(role, ADMIN_2) {
                ok = true;
            } catch {}
        } else if (how % 3 == 1) {
            try g.pool.revokeRole(role, g.admin) {
                ok = true;
            } catch {}
        } else {
            try g.pool.renounceRole(role, g.admin) {
                ok = true;
            } catch {}
        }
        if (ok) _fail("the admin role changed hands in one step");
    }

    /// The admin grants or revokes the arbiter role of the second admin account; a stranger's
    /// attempt is refused. (The operator keeps its own roles, so the campaign goes on.)
    function arbiterRole(uint8 p, bool grant, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        bytes32 role = g.pool.ARBITER_ROLE();
        address caller = _caller(callerSeed, g.admin);
        vm.prank(caller);
        bool ok;
        if (grant) {
            try g.pool.grantRole(role, ADMIN_2) {
                ok = true;
            } catch {}
        } else {
            try g.pool.revokeRole(role, ADMIN_2) {
                ok = true;
            } catch {}
        }
        if (ok && caller != g.admin) _fail("a stranger changed a role");
    }

    /// Nobody initialises a pool (a clone) a second time.
    function reinitialize(uint8 p, uint256 callerSeed) external step(ROLES) {
        Ghost storage g = _use(p);
        vm.prank(_accounts[callerSeed % _accounts.length]);
        try g.pool.initialize("Hijack", 0, "x", address(usd6), _members[0], address(registry), 10_000, 1 days) {
            _fail("a pool was initialised twice");
        } catch {}
    }

    // ================================================================= founders and assets

    function admitFounder(uint8 p, uint256 founderSeed) external step(WEIGHTS) {
        Ghost storage g = _use(p);
        address f = _founders[founderSeed % 4];
        vm.prank(OPERATOR);
        try g.pool.admitFounder(f) {
            if (g.admitted[f]) _fail("a founder was admitted twice");
            g.admitted[f] = true;
        } catch {}
    }

    function contribute(uint8 p, uint256 assetSeed) external step(WEIGHTS | HISTORY) {
        Ghost storage g = _use(p);
        uint256 assetId = families[assetSeed % families.length];
        address owner = registry.ownerOf(assetId);
        _contributeAs(g, assetId, owner);
    }

    function _contributeAs(Ghost storage g, uint256 assetId, address owner) internal {
        uint256 expected = _grantedInRequired(g, assetId);
        vm.prank(owner);
        try g.pool.contribute(assetId) {
            if (!g.admitted[owner]) _fail("a non-founder contributed");
            if (g.paused) _fail("a contribution went through while paused");
            if (g.lifecycle == IPatentPoolTypes.Lifecycle.Closed) _fail("a contribution went through after close");
            if (g.assetState[assetId] != 0) _fail("an asset was contributed to the same pool twice");
            uint256 weight = g.pool.poolAsset(assetId).weight;
            if (weight != expected) _fail("the asset's weight is not its grants in the required offices");
            g.assetState[assetId] = 1;
            g.counted[assetId] = true;
            g.assetWeight[assetId] = weight;
            g.assetFounder[assetId] = owner;
            g.assets.push(assetId);
            _setWeight(g, owner, g.weight[owner] + weight);
            _ok("contribute");
        } catch {}
    }

    function _grantedInRequired(Ghost storage g, uint256 assetId) internal view returns (uint256 n) {
        (bytes2[] memory offices,,) = g.pool.qualification();
        for (uint256 i = 0; i < offices.length; ++i) {
            n += registry.grantedIn(assetId, offices[i]);
        }
    }

    function announceWithdrawal(uint8 p, uint256 assetSeed, bool asStranger) external step(WEIGHTS | HISTORY) {
        Ghost storage g = _use(p);
        if (g.assets.length == 0) return;
        uint256 assetId = g.assets[assetSeed % g.assets.length];
        address founder = g.assetFounder[assetId];
        address caller = asStranger ? _members[assetSeed % 4] : founder;
        vm.prank(caller);
        try g.pool.announceWithdrawal(assetId) {
            uint64 effectiveAt = g.pool.poolAsset(assetId).withdrawalEffectiveAt;
            if (caller != founder) _fail("someone other than the contributor announced a withdrawal");
            if (g.assetState[assetId] != 1) _fail("a withdrawal was announced for an asset not in the pool");
            if (effectiveAt != t + g.notice) _fail("a withdrawal's notice is not the notice in force");
            if (effectiveAt > t + g.delay) _fail("a withdrawal takes longer than the change delay");
            g.assetState[assetId] = 2;
        } catch {
            // A pause never holds a founder's asset.
            if (caller == founder && g.assetState[assetId] == 1) _fail("a founder could not announce a withdrawal");
        }
    }

    function completeWithdrawal(uint8 p, uint256 assetSeed, uint256 callerSeed) external step(MONEY | WEIGHTS | HISTORY) {
        Ghost storage g = _use(p);
        if (g.assets.length == 0) return;
        uint256 assetId = g.assets[assetSeed % g.assets.length];
        IPatentPoolTypes.PoolAsset memory a = g.pool.poolAsset(assetId);
        vm.prank(_accounts[callerSeed % _accounts.length]);
        try g.pool.completeWithdrawal(assetId) {
            if (a.withdrawalEffectiveAt == 0 || t < a.withdrawalEffectiveAt) _fail("a withdrawal completed early");
            _takeOut(g, assetId);
            g.assetState[assetId] = 3;
            _ok("withdraw");
        } catch {
            bool due = a.withdrawnAt == 0 && a.withdrawalEffectiveAt != 0 && t >= a.withdrawalEffectiveAt;
            if (due) _fail("a due withdrawal could not be completed");
        }
    }

    function _takeOut(Ghost storage g, uint256 assetId) internal {
        if (!g.counted[assetId]) return;
        g.counted[assetId] = false;
        address f = g.assetFounder[assetId];
        _setWeight(g, f, g.weight[f] - g.assetWeight[assetId]);
    }

    function _setWeight(Ghost storage g, address founder, uint256 w) internal {
        uint256 before = g.weight[founder];
        if (w == before) return;
        if (before > 0) {
            ++g.closes;
            ++g.closesOf[founder];
        }
        g.weight[founder] = w;
        g.totalWeight = g.totalWeight - before + w;
        if (g.totalWeight > g.maxTotalWeight) g.maxTotalWeight = g.totalWeight;
    }

    // ================================================================= members

    function join(uint8 p, uint256 memberSeed, uint8 tier, bool exactFee) external step(MONEY) {
        Ghost storage g = _use(p);
        address m = _members[memberSeed % 4];
        tier = tier % 4;
        uint256 fee = tier < 3 ? g.fees[tier] : 0;
        uint256 maxFee = exactFee ? fee : type(uint256).max;
        (, uint64 until) = g.pool.membership(m);
        _fund(g, m, fee);
        uint256 before = _balance(g);
        vm.prank(m);
        try g.pool.join(tier, maxFee) {
            _payingCallOk(g);
            if (tier >= 3 || fee == 0) _fail("someone joined at a tier that is not offered");
            if (until > t) _fail("a member joined twice");
            _ok("join");
            _paid(g, fee, before);
            _checkTerm(g, m);
        } catch {}
    }

    function renew(uint8 p, uint256 memberSeed, bool exactFee) external step(MONEY) {
        Ghost storage g = _use(p);
        address m = _members[memberSeed % 4];
        (uint8 tier, uint64 until) = g.pool.membership(m);
        uint256 fee = g.fees[tier];
        _fund(g, m, fee);
        uint256 before = _balance(g);
        vm.prank(m);
        try g.pool.renew(exactFee ? fee : type(uint256).max) {
            _payingCallOk(g);
            if (until == 0) _fail("a non-member renewed");
            if (until > t + TERM) _fail("a member paid more than one term ahead");
            _ok("renew");
            _paid(g, fee, before);
            _checkTerm(g, m);
        } catch {}
    }

    function _checkTerm(Ghost storage g, address m) internal {
        (, uint64 until) = g.pool.membership(m);
        if (until > t + 2 * TERM) _fail("a membership runs more than one term past the running one");
    }

    // ================================================================= licences

    function offerLicence(
        uint8 p,
        uint256 licenseeSeed,
        uint8 assetMask,
        uint64 startSeed,
        uint64 lengthSeed,
        uint256 priceSeed
    ) external step(MONEY | HISTORY) {
        Ghost storage g = _use(p);
        address licensee = _members[licenseeSeed % 4];
        uint256[] memory ids = _offerAssets(g, assetMask);
        // Licences starting in the past (up to 60 days), now, or later (up to 400 days).
        uint64 start;
        if (startSeed % 3 == 0) start = t - uint64(_bound(startSeed, 0, 60 days));
        else if (startSeed % 3 == 1) start = t;
        else start = t + uint64(_bound(startSeed, 1, 400 days));
        uint256 longest = lengthSeed % 4 == 0 ? uint256(g.maxLen) + 30 days : lengthSeed % 4 == 1 ? 800 days : 60 days;
        uint64 length = uint64(_bound(lengthSeed / 4, 1, longest));
        uint256 price = priceSeed % 7 == 0 ? 0 : _amount(g, priceSeed);
        vm.prank(OPERATOR);
        try g.pool.offerLicence(licensee, ids, start, start + length, price, bytes32(priceSeed)) returns (uint256 id) {
            if (g.lifecycle != IPatentPoolTypes.Lifecycle.Active) _fail("an offer was made outside the Active state");
            if (length > g.maxLen) _fail("a licence longer than the maximum was offered");
            if (start + length <= t) _fail("an offer that already ended was made");
            if (g.pool.offer(id).acceptBy != t + 30 days) _fail("an offer's acceptance window is not 30 days");
            g.offers.push(id);
            _ok("offer");
            if (start < t) _ok("offer in the past");
            if (ids.length > 1) _ok("offer of several assets");
            // Most offers are taken at once; some about when the 30-day window closes; the others
            // later (acceptOffer), or never.
            if (priceSeed % 3 != 0) {
                _accept(g, id, licensee);
            } else if (priceSeed % 9 == 3) {
                t += uint64(_bound(priceSeed >> 8, 30 days - 1 hours, 30 days + 1 hours));
                vm.warp(t);
                _accept(g, id, licensee);
            }
        } catch {}
    }

    /// An ascending list of assets of the pool (in it or not: the pool refuses those that left),
    /// or none (the whole pool).
    function _offerAssets(Ghost storage g, uint8 mask) internal view returns (uint256[] memory ids) {
        uint256 n = g.assets.length < MAX_OFFER_ASSETS ? g.assets.length : MAX_OFFER_ASSETS;
        uint256[] memory picked = new uint256[](n);
        uint256 k = 0;
        for (uint256 i = 0; i < n; ++i) {
            if (mask & (1 << i) != 0) picked[k++] = g.assets[g.assets.length - 1 - i];
        }
        ids = new uint256[](k);
        for (uint256 i = 0; i < k; ++i) {
            ids[i] = picked[i];
        }
        // Insertion sort (at most six).
        for (uint256 i = 1; i < k; ++i) {
            uint256 x = ids[i];
            uint256 j = i;
            while (j > 0 && ids[j - 1] > x) {
                ids[j] = ids[j - 1];
                --j;
            }
            ids[j] = x;
        }
    }

    function cancelOffer(uint8 p, uint256 offerSeed, uint256 callerSeed) external step(0) {
        Ghost storage g = _use(p);
        if (g.offers.length == 0) return;
        uint256 id = g.offers[offerSeed % g.offers.length];
        address caller = _caller(callerSeed, OPERATOR);
        bool wasOpen = g.pool.offer(id).open;
        vm.prank(caller);
        try g.pool.cancelOffer(id) {
            if (caller != OPERATOR) _fail("a stranger cancelled an offer");
            if (!wasOpen) _fail("an offer was cancelled twice");
        } catch {}
    }

    function acceptOffer(uint8 p, uint256 offerSeed) external step(MONEY | HISTORY) {
        Ghost storage g = _use(p);
        if (g.offers.length == 0) return;
        // Mostly the latest offer (the one most likely still open), now and then by a stranger.
        uint256 id = g.offers[offerSeed % 3 == 0 ? offerSeed % g.offers.length : g.offers.length - 1];
        address caller = offerSeed % 8 == 1 ? _members[(offerSeed / 8) % 4] : g.pool.offer(id).licensee;
        _accept(g, id, caller);
    }

    function _accept(Ghost storage g, uint256 id, address caller) internal {
        IPatentPoolTypes.Offer memory o = g.pool.offer(id);
        _fund(g, caller, o.price);
        uint256 before = _balance(g);
        vm.prank(caller);
        try g.pool.acceptOffer(id) returns (uint256 licenceId) {
            _payingCallOk(g);
            if (caller != o.licensee) _fail("someone other than the licensee accepted an offer");
            if (!o.open) _fail("a cancelled or taken offer was accepted");
            if (t > o.acceptBy) _fail("an offer was accepted after its deadline");
            if (o.end <= t) _fail("an offer was accepted after its period ended");
            _paid(g, o.price, before);
            g.licences.push(licenceId);
            _ok("accept");
            _observe(g, uint256(keccak256(abi.encode(id, t))), id);
            if (g.pool.offerAssets(id).length > 1) _ok("accept several assets");
            if (o.start < t) _ok("accept in the past");
        } catch {}
    }

    function revokeLicence(uint8 p, uint256 licenceSeed, uint256 callerSeed) external step(HISTORY) {
        Ghost storage g = _use(p);
        if (g.licences.length == 0) return;
        uint256 id = g.licences[licenceSeed % g.licences.length];
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try g.pool.revokeLicence(id, bytes32("breach")) {
            if (caller != OPERATOR) _fail("a stranger revoked a licence");
        } catch {}
    }

    // ================================================================= disputes

    /// A founder or a member challenges an asset of the pool, paying the pool's bond (funded first).
    function openDispute(uint8 p, uint256 challengerSeed, uint256 assetSeed) external step(MONEY) {
        Ghost storage g = _use(p);
        if (g.assets.length == 0) return;
        uint256 assetId = _mostlyInPool(g, assetSeed);
        address who = challengerSeed % 2 == 0 ? _founders[challengerSeed / 2 % 4] : _members[challengerSeed / 2 % 4];
        _fund(g, who, g.bond);
        uint256 before = _balance(g);
        uint256 mine = IERC20(g.token).balanceOf(who);
        bool inPool = g.assetState[assetId] == 1 || g.assetState[assetId] == 2;
        vm.prank(who);
        try _disp(g).openDispute(assetId, bytes32(challengerSeed)) returns (uint256 id) {
            if (g.paused) _fail("a dispute was opened while paused");
            if (!inPool) _fail("a dispute was opened on an asset not in the pool");
            _bondPosted(g, id, who, before, mine);
            // Some disputes are ruled on at once (the others later, or never).
            if (challengerSeed % 3 == 1) _resolve(g, id, (challengerSeed >> 8) % 3 == 0, OPERATOR);
        } catch {
            // A founder (admitted in every pool) with the bond in hand is refused only while the
            // pool is paused or the asset is not in it.
            if (challengerSeed % 2 == 0 && !g.paused && inPool) _fail("a founder could not open a dispute");
        }
    }

    /// Mostly an asset that is in the pool (1 in 6: any of the pool's assets).
    function _mostlyInPool(Ghost storage g, uint256 seed) internal view returns (uint256 assetId) {
        uint256 n = g.assets.length;
        assetId = g.assets[seed % n];
        for (uint256 i = 1; seed % 6 != 0 && g.assetState[assetId] != 1 && g.assetState[assetId] != 2 && i < n; ++i) {
            assetId = g.assets[(seed % n + i) % n];
        }
    }

    /// Books a dispute's bond: the challenger paid the bond in force, the pool holds what arrived.
    function _bondPosted(Ghost storage g, uint256 id, address who, uint256 before, uint256 mine) internal {
        uint256 bond = g.bond;
        uint256 fee = g.token == address(feeToken) ? feeToken.feeBps() : 0;
        uint256 arrived = _balance(g) - before;
        if (mine - IERC20(g.token).balanceOf(who) != bond) _fail("a challenger paid other than the pool's dispute bond");
        if (arrived != bond - bond * fee / BPS) _fail("a dispute bond moved other than the bond");
        if (_disp(g).disputeBondOf(id) != arrived) _fail("a dispute's bond is not what arrived");
        g.bondsIn += arrived;
        g.bondsHeld += arrived;
        g.disputeBond[id] = arrived;
        g.disputeOpen[id] = true;
        g.disputes.push(id);
        _ok("dispute");
        if (arrived != 0) _ok("bond");
    }

    /// The arbiter rules: the bond goes back to the challenger if upheld (and the asset is
    /// suspended from now on), to the asset's founder if dismissed; credited, never sent.
    function resolveDispute(uint8 p, uint256 disputeSeed, bool upheld, uint256 callerSeed) external step(MONEY | WEIGHTS | HISTORY) {
        Ghost storage g = _use(p);
        if (g.disputes.length == 0) return;
        // Mostly the latest dispute (the one most likely still open).
        uint256 id = g.disputes[disputeSeed % 3 == 0 ? disputeSeed % g.disputes.length : g.disputes.length - 1];
        _resolve(g, id, upheld, _caller(callerSeed, OPERATOR));
    }

    function _resolve(Ghost storage g, uint256 id, bool upheld, address caller) internal {
        IPatentPoolTypes.Dispute memory d = _disp(g).dispute(id);
        uint256 assetId = d.assetId;
        address to = upheld ? d.challenger : g.assetFounder[assetId];
        uint256 owedBefore = g.pool.claimable(to);
        uint256 before = _balance(g);
        vm.prank(caller);
        try _disp(g).resolveDispute(id, upheld, bytes32("ruling")) {
            if (caller != OPERATOR) _fail("someone other than the arbiter ruled");
            if (!g.disputeOpen[id]) _fail("a dispute was ruled on twice");
            uint256 bond = g.disputeBond[id];
            g.disputeOpen[id] = false;
            g.bondsHeld -= bond;
            g.bondCredit[to] += bond;
            if (_balance(g) != before) _fail("a ruling moved money");
            if (g.pool.claimable(to) != owedBefore + bond) {
                _fail(upheld ? "an upheld dispute's bond was not credited to its challenger" : "a dismissed dispute's bond was not credited to the asset's founder");
            }
            if (upheld && !g.suspended[assetId]) {
                _takeOut(g, assetId);
                g.suspended[assetId] = true;
                if (g.assetState[assetId] != 3) g.assetState[assetId] = 4;
                g.suspensionTrace[assetId].push(uint256(t) << 1 | 1);
                _ok("suspend");
            }
            if (!upheld) _ok("dismiss");
        } catch {
            if (caller == OPERATOR && g.disputeOpen[id]) _fail("the arbiter could not rule on an open dispute");
        }
    }

    /// The arbiter lifts a suspension on appeal: from now on the asset is in the pool again, with its
    /// weight re-read from the registry; its suspended times keep their answers.
    function liftSuspension(uint8 p, uint256 assetSeed, uint256 callerSeed) external step(WEIGHTS | HISTORY) {
        Ghost storage g = _use(p);
        uint256 n = g.assets.length;
        if (n == 0) return;
        // Mostly an asset that is suspended.
        uint256 assetId = g.assets[assetSeed % n];
        for (uint256 i = 1; assetSeed % 5 != 0 && g.assetState[assetId] != 4 && i < n; ++i) {
            assetId = g.assets[(assetSeed % n + i) % n];
        }
        uint8 state = g.assetState[assetId];
        uint256 expected = _grantedInRequired(g, assetId);
        address caller = _caller(callerSeed, OPERATOR);
        vm.prank(caller);
        try _disp(g).liftSuspension(assetId, bytes32("appeal")) {
            if (caller != OPERATOR) _fail("someone other than the arbiter lifted a suspension");
            if (state != 4) _fail("a suspension was lifted on an asset not suspended in the pool");
            IPatentPoolTypes.PoolAsset memory a = g.pool.poolAsset(assetId);
            if (a.weight != expected) _fail("a lifted asset's weight is not its grants in the required offices now");
            g.suspended[assetId] = false;
            g.assetState[assetId] = a.withdrawalEffectiveAt != 0 ? 2 : 1;
            g.counted[assetId] = true;
            g.assetWeight[assetId] = expected;
            address f = g.assetFounder[assetId];
            _setWeight(g, f, g.weight[f] + expected);
            g.suspensionTrace[assetId].push(uint256(t) << 1);
            _ok("lift");
            // The appeal changes nothing before it: at the suspension's start the asset still
            // answers suspended (unless lifted in the same second), and licensed to nobody.
            _checkSuspendedAt(g, assetId, a.suspendedAt, callerSeed);
        } catch {
            if (caller == OPERATOR && state == 4) _fail("the arbiter could not lift a suspension");
        }
    }

    /// Anyone re-weighs an asset of the pool from its verified grants in force (issue 14, point 7).
    function reweigh(uint8 p, uint256 assetSeed, uint256 callerSeed) external step(WEIGHTS) {
        Ghost storage g = _use(p);
        if (g.assets.length == 0) return;
        uint256 assetId = g.assets[assetSeed % g.assets.length];
        uint8 state = g.assetState[assetId];
        uint256 expected = _grantedInRequired(g, assetId);
        vm.prank(_accounts[callerSeed % _accounts.length]);
        try g.pool.reweigh(assetId) returns (uint64 w) {
            if (state != 1 && state != 2) _fail("an asset not in the pool was re-weighed");
            if (w != expected || g.pool.poolAsset(assetId).weight != expected) _fail("a re-weighed asset's weight is not its grants in the required offices now");
            address f = g.assetFounder[assetId];
            uint256 old = g.assetWeight[assetId];
            g.assetWeight[assetId] = expected;
            _setWeight(g, f, g.weight[f] - old + expected);
            if (old != expected) _ok("reweigh");
        } catch {
            if (state == 1 || state == 2) _fail("an asset in the pool could not be re-weighed");
        }
    }

    function _checkSuspendedAt(Ghost storage g, uint256 assetId, uint64 at, uint256 seed) internal {
        bool suspendedThen = suspendedModel(lastPool, assetId, at);
        if (_disp(g).isSuspended(assetId, at) != suspendedThen) _fail("history: isSuspended is not the model's");
        if (suspendedThen && g.pool.isLicensed(_members[seed % 4], assetId, at)) _fail("history: an asset is licensed at a time it was suspended");
        if (suspendedThen) _ok("observe suspended");
    }

    /// Compares `isSuspended` with the model's trace at some time since the asset was first
    /// suspended, and checks that nobody is licensed to it at a suspended time.
    function observeSuspension(uint8 p, uint256 assetSeed, uint256 seed) external step(0) {
        Ghost storage g = _use(p);
        uint256 n = g.assets.length;
        if (n == 0) return;
        uint256 assetId = g.assets[assetSeed % n];
        for (uint256 i = 1; g.suspensionTrace[assetId].length == 0 && i < n; ++i) {
            assetId = g.assets[(assetSeed % n + i) % n];
        }
        uint256[] storage trace = g.suspensionTrace[assetId];
        if (trace.length == 0) return;
        uint256 first = trace[0] >> 1;
        // Mostly at a recorded change or a second before it, else anywhere from a day before the first.
        uint64 at;
        if (seed % 2 == 0) at = uint64((trace[(seed / 2) % trace.length] >> 1) - (seed % 4 == 0 ? 1 : 0));
        else at = uint64(_bound(seed, first - 1 days, t));
        _checkSuspendedAt(g, assetId, at, seed);
    }

    // ================================================================= money and time

    function claim(uint8 p, uint256 accountSeed) external step(MONEY) {
        Ghost storage g = _use(p);
        address who = _accounts[accountSeed % _accounts.length];
        uint256 owed = g.pool.claimable(who);
        // Mostly someone who is owed something.
        for (uint256 i = 1; owed == 0 && accountSeed % 4 != 0 && i < _accounts.length; ++i) {
            who = _accounts[(accountSeed % _accounts.length + i) % _accounts.length];
            owed = g.pool.claimable(who);
        }
        uint256 poolBefore = _balance(g);
        uint256 mine = IERC20(g.token).balanceOf(who);
        uint256 fee = g.token == address(feeToken) ? feeToken.feeBps() : 0;
        vm.prank(who);
        try g.pool.claim() returns (uint256 amount) {
            if (amount != owed || owed == 0) _fail("a claim paid other than what was claimable");
            if (poolBefore - _balance(g) != amount) _fail("a claim took other than its amount from the pool");
            if (IERC20(g.token).balanceOf(who) - mine != amount - amount * fee / BPS) _fail("a claimant did not receive its claim");
            g.paidOut += amount;
            g.claimed[who] += amount;
            _ok("claim");
            if (g.bondCredit[who] != 0) _ok("claim a bond");
            if (g.pool.claimable(who) != 0) _fail("something is still claimable right after a claim");
        } catch {
            // Claims work in every state, paused and closed included.
            if (owed != 0) _fail("a claim was refused while something was owed");
        }
    }

    /// Someone sends the pool tokens without a call: the pool owes nobody for them.
    function donate(uint8 p, uint256 amountSeed) external step(MONEY) {
        Ghost storage g = _use(p);
        uint256 amount = _amount(g, amountSeed);
        _fund(g, _members[0], amount);
        uint256 before = _balance(g);
        vm.prank(_members[0]);
        IERC20(g.token).transfer(address(g.pool), amount);
        g.donated += _balance(g) - before;
    }

    /// Anyone switches the fee-on-transfer token's fee (0 to 20 %), at any time.
    function setTokenFee(uint16 bps) external step(0) {
        feeToken.setFeeBps(bps % 3 == 0 ? 0 : uint16(_bound(bps, 0, 2_000)));
    }

    function warp(uint256 seed) external step(MONEY | HISTORY) {
        uint256 s;
        if (seed % 4 == 0) s = _bound(seed, 1, 1 hours);
        else if (seed % 4 == 1) s = _bound(seed, 1 hours, 5 days);
        else if (seed % 4 == 2) s = _bound(seed, 5 days, 100 days);
        else s = _bound(seed, 100 days, 400 days);
        t += uint64(s);
        vm.warp(t);
        // Now that time has passed, remember an answer about the time just gone.
        _observe(_use(uint8(seed >> 8)), seed >> 16, seed >> 24);
    }

    // ================================================================= isLicensed history

    /// Asks `isLicensed` for a past time (under a licence, a term, or anywhere in the last 400
    /// days) and remembers a `true` answer: it must never turn false.
    function observe(uint8 p, uint256 seed, uint256 assetSeed) external step(HISTORY) {
        _observe(_use(p), seed, assetSeed);
    }

    function _observe(Ghost storage g, uint256 seed, uint256 assetSeed) internal {
        if (g.assets.length == 0) return;
        uint256 assetId = g.assets[assetSeed % g.assets.length];
        address licensee = _members[seed % 4];
        uint64 at;
        if (seed % 2 == 0 && g.licences.length != 0) {
            IPatentPoolTypes.Licence memory l = g.pool.licence(g.licences[(seed / 2) % g.licences.length]);
            licensee = l.licensee;
            uint64 stop = l.end < t ? l.end : t;
            if (l.start >= stop) return;
            at = uint64(_bound(seed, l.start, stop - 1));
        } else {
            at = t - uint64(_bound(seed, 1, seed % 3 == 0 ? 400 days : 20 days));
        }
        if (at >= t) return;
        if (!g.pool.isLicensed(licensee, assetId, at)) return;
        _ok("observe");
        Observation memory o = Observation(uint8(lastPool), licensee, assetId, at);
        if (observations.length < MAX_OBSERVATIONS) {
            observations.push(o);
        } else {
            observations[_observationCursor++ % MAX_OBSERVATIONS] = o;
        }
    }

    // ================================================================= helpers

    /// The pool's dispute functions (PatentPool forwards them to PatentPoolDisputes).
    function _disp(Ghost storage g) internal view returns (IPatentPoolDisputes) {
        return IPatentPoolDisputes(address(g.pool));
    }

    function _use(uint8 p) internal returns (Ghost storage) {
        uint256 i = p % poolCount;
        lastPool = i;
        return _g[i];
    }

    /// A paying call went through: it must not have while paused or outside the Active state.
    function _payingCallOk(Ghost storage g) internal {
        if (g.paused) _fail("a paying call went through while paused");
        if (g.lifecycle != IPatentPoolTypes.Lifecycle.Active) _fail("a paying call went through outside the Active state");
    }

    /// Books a payment of `nominal` into the model: what arrives (less the token's fee), the
    /// operator share in force to the treasury in force, the rest to the founders pro rata to the
    /// weights (or to the treasury when there is none).
    function _paid(Ghost storage g, uint256 nominal, uint256 before) internal {
        uint256 arrived = _balance(g) - before;
        uint256 fee = g.token == address(feeToken) ? feeToken.feeBps() : 0;
        if (arrived != nominal - nominal * fee / BPS) _fail("a payment moved other than its price");
        if (arrived == 0) return;
        g.paidIn += arrived;
        uint256 toOperator = arrived * g.share / BPS;
        uint256 toFounders = arrived - toOperator;
        if (g.totalWeight == 0) {
            g.treasuryCredit[g.treasury] += arrived;
            return;
        }
        g.treasuryCredit[g.treasury] += toOperator;
        ++g.payments;
        for (uint256 i = 0; i < 4; ++i) {
            address f = _founders[i];
            uint256 w = g.weight[f];
            if (w != 0) g.exactScaled[f] += toFounders * w * PRECISION / g.totalWeight;
        }
    }

    function _fund(Ghost storage g, address who, uint256 amount) internal {
        if (amount == 0) return;
        if (g.token == address(usd6)) usd6.mint(who, amount);
        else FeeOnTransferToken(g.token).mint(who, amount);
    }

    function _balance(Ghost storage g) internal view returns (uint256) {
        return IERC20(g.token).balanceOf(address(g.pool));
    }

    /// Awkward amounts for the pool's token: 1 wei and small primes, round numbers one off, and
    /// anything up to a billion whole units (10**27 wei for an 18-decimal token).
    function _amount(Ghost storage g, uint256 seed) internal view returns (uint256) {
        uint256 unit = 10 ** g.decimals;
        uint256 mode = seed % 4;
        if (mode == 0) return _bound(seed / 4, 1, 13);
        if (mode == 1) return (unit * _bound(seed / 4, 1, 100_000)) + (seed % 3) - 1;
        if (mode == 2) return _bound(seed / 4, 1, 1_000_000_000 * unit);
        return _bound(seed / 4, 1, 1_000 * unit);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        return lo + x % (hi - lo + 1);
    }

    function _fail(string memory why) internal {
        if (bytes(violation).length == 0) violation = why;
    }
}

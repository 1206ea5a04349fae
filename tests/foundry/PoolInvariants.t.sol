// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPatentPoolTypes} from "../../contracts/interfaces/IPatentPool.sol";
import {IPatentPoolDisputes} from "../../contracts/interfaces/IPatentPoolDisputes.sol";
import {PatentPool} from "../../contracts/PatentPool.sol";
import {InvariantBase} from "./Vm.sol";
import {PoolHandler} from "./PoolHandler.sol";

/// @notice Invariant fuzzing of the pools (issue 14, "Tests"): the runner calls PoolHandler's
/// actions in random sequences (foundry.toml: [invariant] runs x depth, 100,000+ calls in all) and
/// after every call checks the pool that call touched; at the end of every run, every pool.
///
/// - Money is conserved: balance == what payers paid in (as it arrived) + dispute bonds (as they
///   arrived) - what claims paid out + what was sent without a call.
/// - Solvency: sum(claimable) + bondsHeld <= balance, and what is not claimable or held is rounding
///   dust only (at most one unit per period of constant weight of each founder); donations are
///   owed to nobody.
/// - Bonds (issue 14, point 8): bondsHeld is the model's and the sum of the open disputes' bonds;
///   a ruling credits a bond to the challenger (upheld) or the asset's founder (dismissed).
/// - The treasury's credit is exact (operator share in force, to the treasury in force, at each
///   payment); members are owed exactly their bonds; each founder is credited its pro-rata share
///   (bonds apart) less rounding, never more.
/// - History is stable: an `isLicensed(licensee, asset, at)` seen true for a past `at` stays true;
///   the suspension trace is the model's (suspensions and appeals from their moment on), and
///   nobody is licensed to an asset at a suspended time.
/// - Operator bounds (point 3): the share never exceeds the ceiling fixed at creation, the ceiling
///   and the change delay never change, notice <= delay, 0 < maximum licence length <= 100 years,
///   every parameter in force is the one set while Incubating or announced a full delay before,
///   withdrawals take at most the delay, members hold at most one term beyond the running one,
///   one default admin, the dispute bond changes only as announced.
/// - Weights: each founder's and the pool's weight are the model's (contributions, withdrawals,
///   suspensions, liftings and re-weighing).
contract PoolInvariantsTest is InvariantBase {
    uint256 internal constant PRECISION = 1e18;
    uint64 internal constant TERM = 365 days;
    uint256 internal constant WINDOW = 4;

    PoolHandler internal handler;

    function setUp() public {
        handler = new PoolHandler();
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](49);
        s[0] = PoolHandler.registerFamily.selector;
        s[1] = PoolHandler.verifyPatent.selector;
        s[2] = PoolHandler.rejectPatent.selector;
        s[3] = PoolHandler.addPatent.selector;
        s[4] = PoolHandler.recordEvaluation.selector;
        s[5] = PoolHandler.updateDossier.selector;
        s[6] = PoolHandler.transferAsset.selector;
        s[7] = PoolHandler.createPool.selector;
        s[8] = PoolHandler.setOperatorShare.selector;
        s[9] = PoolHandler.setWithdrawalNotice.selector;
        s[10] = PoolHandler.setMaxLicenceLength.selector;
        s[11] = PoolHandler.setTierFee.selector;
        s[12] = PoolHandler.setQualification.selector;
        s[13] = PoolHandler.setTerritory.selector;
        s[14] = PoolHandler.applyParameterChange.selector;
        s[15] = PoolHandler.activate.selector;
        s[16] = PoolHandler.close.selector;
        s[17] = PoolHandler.pause.selector;
        s[18] = PoolHandler.unpause.selector;
        s[19] = PoolHandler.setTreasury.selector;
        s[20] = PoolHandler.beginAdminTransfer.selector;
        s[21] = PoolHandler.acceptAdminTransfer.selector;
        s[22] = PoolHandler.oneStepAdminChange.selector;
        s[23] = PoolHandler.admitFounder.selector;
        s[24] = PoolHandler.contribute.selector;
        s[25] = PoolHandler.announceWithdrawal.selector;
        s[26] = PoolHandler.completeWithdrawal.selector;
        s[27] = PoolHandler.join.selector;
        s[28] = PoolHandler.renew.selector;
        s[29] = PoolHandler.offerLicence.selector;
        s[30] = PoolHandler.cancelOffer.selector;
        s[31] = PoolHandler.acceptOffer.selector;
        s[32] = PoolHandler.revokeLicence.selector;
        s[33] = PoolHandler.openDispute.selector;
        s[34] = PoolHandler.resolveDispute.selector;
        s[35] = PoolHandler.claim.selector;
        s[36] = PoolHandler.donate.selector;
        s[37] = PoolHandler.setTokenFee.selector;
        s[38] = PoolHandler.warp.selector;
        s[39] = PoolHandler.observe.selector;
        s[40] = PoolHandler.arbiterRole.selector;
        s[41] = PoolHandler.reinitialize.selector;
        s[42] = PoolHandler.setDisputeBond.selector;
        s[43] = PoolHandler.liftSuspension.selector;
        s[44] = PoolHandler.reweigh.selector;
        s[45] = PoolHandler.expirePatent.selector;
        s[46] = PoolHandler.rejectFamily.selector;
        s[47] = PoolHandler.reclaimFamily.selector;
        s[48] = PoolHandler.observeSuspension.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    // ---------------------------------------------------------------- after every call

    /// One invariant, so one campaign (forge runs a campaign per invariant function): after every
    /// call, the rules a call may break are checked on the pool it touched, and a window of the
    /// remembered `isLicensed` answers; the checks that loop over assets, licences and every
    /// answer run at the end of each run (afterInvariant) and over every pool.
    function invariant_poolsKeepTheirPromises() public view {
        string memory why = handler.violation();
        require(bytes(why).length == 0, why);
        uint256 p = handler.lastPool();
        uint8 kind = handler.lastKind();
        if (kind & handler.MONEY() != 0) _checkMoney(p, false);
        if (kind & handler.PARAMETERS() != 0) {
            _checkParameters(p);
            _checkPending(p);
        }
        if (kind & handler.ROLES() != 0) _checkRoles(p);
        if (kind & handler.WEIGHTS() != 0) _checkFounderWeights(p);
        uint256 n = handler.observationCount();
        if (kind & handler.HISTORY() == 0 || n == 0) return;
        uint256 from = handler.calls() % n;
        for (uint256 i = 0; i < WINDOW && i < n; ++i) {
            _checkObservation((from + i) % n);
        }
    }

    // ---------------------------------------------------------------- at the end of every run

    function afterInvariant() public view {
        require(bytes(handler.violation()).length == 0, handler.violation());
        for (uint256 p = 0; p < handler.poolCount(); ++p) {
            _checkMoney(p, true);
            _checkParameters(p);
            _checkPending(p);
            _checkRoles(p);
            _checkTerms(p);
            _checkFounderWeights(p);
            _checkAssetWeights(p);
            _checkSuspensions(p);
        }
        for (uint256 i = 0; i < handler.observationCount(); ++i) {
            _checkObservation(i);
        }
        // POOL_FUZZ_STATS=true: end the first run with what went through, to see the coverage.
        require(!vm.envOr("POOL_FUZZ_STATS", false), handler.stats());
    }

    // ---------------------------------------------------------------- the checks

    /// `everyone`: also the accounts that must be owed nothing (members, the second admin); after
    /// every call only the treasuries and founders are read, the others at the end of each run.
    function _checkMoney(uint256 p, bool everyone) internal view {
        PatentPool pool = handler.poolOf(p);
        uint256 balance = handler.tokenOf(p).balanceOf(address(pool));
        (uint256 paidIn, uint256 paidOut, uint256 donated,, uint256 closes,) = handler.money(p);
        (, uint256 bondsIn, uint256 bondsHeld) = handler.bondModel(p);
        require(
            balance == paidIn + bondsIn - paidOut + donated,
            "money: balance != paid in + bonds in - paid out + donated"
        );
        require(
            IPatentPoolDisputes(address(pool)).bondsHeld() == bondsHeld,
            "bonds: the bonds held are not the model's (the open disputes' bonds)"
        );
        (uint256 founders, uint256 running) = _checkFounders(p, pool);
        uint256 owed = founders + _checkTreasuries(p, pool) + _checkMembers(p, pool);
        if (everyone) {
            require(pool.claimable(handler.ADMIN_2()) == 0, "money: the second admin is owed something");
            _checkDisputes(p);
        }
        require(owed + bondsHeld <= balance, "solvency: sum(claimable) + bonds held > balance");
        require(
            owed + bondsHeld <= paidIn + bondsIn - paidOut,
            "solvency: sum(claimable) + bonds held > what was paid in (a donation or a bond counted as owed)"
        );
        uint256 dust = paidIn + bondsIn - paidOut - owed - bondsHeld;
        require(dust <= closes + running, "money: more than rounding dust is owed to nobody");
    }

    /// Members are owed exactly the bonds rulings credited them (as challengers), less their claims.
    function _checkMembers(uint256 p, PatentPool pool) internal view returns (uint256 owed) {
        address[4] memory members = handler.members();
        for (uint256 i = 0; i < 4; ++i) {
            (, uint256 claimed) = handler.treasuryModel(p, members[i]);
            uint256 c = pool.claimable(members[i]);
            require(c + claimed == handler.bondCreditOf(p, members[i]), "money: a member is owed other than its bonds");
            owed += c;
        }
    }

    /// Bonds held == the sum of the open disputes' bonds; each dispute's bond is what arrived.
    function _checkDisputes(uint256 p) internal view {
        IPatentPoolDisputes pool = IPatentPoolDisputes(address(handler.poolOf(p)));
        uint256[] memory ids = handler.disputesOf(p);
        uint256 open = 0;
        for (uint256 i = 0; i < ids.length; ++i) {
            (bool isOpen, uint256 bond) = handler.disputeModel(p, ids[i]);
            require(pool.disputeBondOf(ids[i]) == bond, "bonds: a dispute's bond is not what arrived");
            bool contractOpen = pool.dispute(ids[i]).status == IPatentPoolTypes.DisputeStatus.Open;
            require(contractOpen == isOpen, "bonds: a dispute's status is not the model's");
            if (contractOpen) open += bond;
        }
        require(pool.bondsHeld() == open, "bonds: bonds held != the sum of the open disputes' bonds");
    }

    /// Treasury accounts: exactly their operator shares and the founders' money nobody had weight
    /// for, less what they claimed. 
    function _checkTreasuries(uint256 p, PatentPool pool) internal view returns (uint256 owed) {
        address[3] memory treasuries = [handler.OPERATOR(), handler.TREASURY_1(), handler.TREASURY_2()];
        for (uint256 i = 0; i < 3; ++i) {
            (uint256 credit, uint256 claimed) = handler.treasuryModel(p, treasuries[i]);
            uint256 c = pool.claimable(treasuries[i]);
            require(c == credit - claimed, "money: a treasury's credit is not exact");
            owed += c;
        }
    }

    /// Founders: the exact share less rounding (under one unit per period of constant weight),
    /// never more. Returns how many founders have weight now.
    function _checkFounders(uint256 p, PatentPool pool) internal view returns (uint256 owed, uint256 running) {
        (,,, uint256 payments,, uint256 maxW) = handler.money(p);
        uint256 slack = payments * (maxW * maxW + 1);
        address[4] memory founders = handler.founders();
        for (uint256 i = 0; i < 4; ++i) {
            (uint256 c, bool weighs) = _checkFounder(p, pool, founders[i], slack);
            owed += c;
            running += weighs ? 1 : 0;
        }
    }

    function _checkFounder(uint256 p, PatentPool pool, address founder, uint256 slack)
        internal
        view
        returns (uint256 c, bool weighs)
    {
        (uint256 w, uint256 exact, uint256 closesOf, uint256 claimed) = handler.founderModel(p, founder);
        weighs = w > 0;
        uint256 periods = closesOf + (weighs ? 1 : 0);
        c = pool.claimable(founder);
        // What was credited to it as a founder: all it was credited less the bonds of disputes
        // dismissed on its assets or upheld on its challenges (exact, whole units).
        uint256 credited = (c + claimed - handler.bondCreditOf(p, founder)) * PRECISION;
        require(credited <= exact + slack, "money: a founder was credited more than its share");
        require(credited + periods * PRECISION + slack >= exact, "money: a founder was credited less than its share");
    }

    function _checkParameters(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        (uint16 ceiling, uint64 delay) = handler.bounds(p);
        (uint16 share, uint64 notice, uint64 maxLen, uint256[3] memory fees, bytes32 qualification) =
            handler.parameters(p);
        (uint256 bond,,) = handler.bondModel(p);
        require(
            IPatentPoolDisputes(address(pool)).disputeBond() == bond,
            "bounds: the dispute bond changed without a due announcement"
        );
        (uint16 maxShare, uint64 changeDelay, uint64 maxLicenceLength) = pool.bounds();
        require(maxShare == ceiling && changeDelay == delay, "bounds: the ceiling or the delay changed");
        (,,,,,, uint16 shareNow,) = pool.profile();
        require(shareNow <= maxShare, "bounds: operator share above the ceiling");
        require(shareNow == share, "bounds: the operator share changed without a due announcement");
        require(pool.withdrawalNotice() <= changeDelay, "bounds: notice longer than the change delay");
        require(pool.withdrawalNotice() == notice, "bounds: the notice changed without a due announcement");
        require(maxLicenceLength != 0 && maxLicenceLength <= 100 * 365 days, "bounds: maximum licence length");
        require(maxLicenceLength == maxLen, "bounds: the maximum licence length changed without a due announcement");
        for (uint8 tier = 0; tier < 3; ++tier) {
            require(pool.tierFee(tier) == fees[tier], "bounds: a fee changed without a due announcement");
        }
        (bytes2[] memory j, uint8 m, uint16 s) = pool.qualification();
        require(
            handler.qualificationKey(j, m, s) == qualification,
            "bounds: the qualification changed without a due announcement"
        );
    }

    function _checkPending(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        uint64 t = handler.t();
        (uint16 maxShare, uint64 changeDelay,) = pool.bounds();
        for (uint8 parameter = 0; parameter < 8; ++parameter) {
            (uint256 value, uint64 effectiveAt) = pool.pendingChange(parameter);
            require(effectiveAt <= t + changeDelay, "bounds: a change pending beyond the delay");
            if (effectiveAt == 0) continue;
            if (parameter == 0) require(value <= maxShare, "bounds: a pending share above the ceiling");
            if (parameter == 1) require(value <= changeDelay, "bounds: a pending notice beyond the delay");
        }
    }

    function _checkRoles(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        (address admin, address pendingAdmin, address treasuryModel, bool paused) = handler.roles(p);
        (,,,, uint8 lifecycle,,, address treasury) = pool.profile();
        require(treasury == treasuryModel, "roles: the treasury is not the one the admin set");
        require(pool.paused() == paused, "roles: paused");
        require(uint8(handler.lifecycle(p)) == lifecycle, "lifecycle");
        (address a, address pa) = pool.defaultAdmin();
        require(a == admin && pa == pendingAdmin, "roles: the default admin");
        bytes32 role = pool.DEFAULT_ADMIN_ROLE();
        address other = admin == handler.OPERATOR() ? handler.ADMIN_2() : handler.OPERATOR();
        require(pool.hasRole(role, admin) && !pool.hasRole(role, other), "roles: not exactly one default admin");
    }

    function _checkTerms(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        uint64 t = handler.t();
        (, uint64 changeDelay,) = pool.bounds();
        address[4] memory members = handler.members();
        for (uint256 i = 0; i < 4; ++i) {
            (, uint64 validUntil) = pool.membership(members[i]);
            require(validUntil <= t + 2 * TERM, "bounds: a member paid more than one term ahead");
        }
        uint256[] memory assets = handler.assetsOf(p);
        for (uint256 i = 0; i < assets.length; ++i) {
            IPatentPoolTypes.PoolAsset memory a = pool.poolAsset(assets[i]);
            if (a.withdrawalEffectiveAt != 0) {
                require(
                    a.withdrawalEffectiveAt - a.withdrawalAnnouncedAt <= changeDelay,
                    "bounds: a withdrawal takes longer than the change delay"
                );
            }
        }
        uint256[] memory licences = handler.licencesOf(p);
        for (uint256 i = 0; i < licences.length; ++i) {
            IPatentPoolTypes.Licence memory l = pool.licence(licences[i]);
            require(l.end - l.start <= 100 * 365 days, "bounds: a licence longer than 100 years");
        }
    }

    function _checkFounderWeights(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        address[4] memory founders = handler.founders();
        for (uint256 i = 0; i < 4; ++i) {
            (uint256 w,,,) = handler.founderModel(p, founders[i]);
            require(pool.founderWeight(founders[i]) == w, "weights: a founder's weight is not the model's");
        }
        require(pool.totalWeight() == handler.totalWeightModel(p), "weights: the total weight is not the model's");
    }

    function _checkAssetWeights(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        uint256[] memory assets = handler.assetsOf(p);
        for (uint256 i = 0; i < assets.length; ++i) {
            (, bool counted, uint256 weight, address founder) = handler.assetModel(p, assets[i]);
            IPatentPoolTypes.PoolAsset memory a = pool.poolAsset(assets[i]);
            require(a.weight == (counted ? weight : 0), "weights: an asset's weight is not the model's");
            require(a.founder == founder, "weights: an asset's founder is not its contributor");
        }
    }

    /// Every asset's suspension history is the model's (suspensions and liftings from their
    /// moment on), checked at each recorded change and the second before it; nobody is licensed to
    /// an asset at a time it was suspended.
    function _checkSuspensions(uint256 p) internal view {
        PatentPool pool = handler.poolOf(p);
        uint256[] memory assets = handler.assetsOf(p);
        address[4] memory members = handler.members();
        for (uint256 i = 0; i < assets.length; ++i) {
            uint256[] memory trace = handler.suspensionTraceOf(p, assets[i]);
            for (uint256 k = 0; k < trace.length; ++k) {
                uint64 at = uint64(trace[k] >> 1);
                for (uint64 d = 0; d < 2; ++d) {
                    bool model = handler.suspendedModel(p, assets[i], at - d);
                    require(
                        IPatentPoolDisputes(address(pool)).isSuspended(assets[i], at - d) == model,
                        "history: isSuspended is not the model's"
                    );
                    if (model) {
                        require(
                            !pool.isLicensed(members[k % 4], assets[i], at - d),
                            "history: an asset is licensed at a time it was suspended"
                        );
                    }
                }
            }
        }
    }

    function _checkObservation(uint256 i) internal view {
        (uint8 p, address licensee, uint256 assetId, uint64 at) = handler.observations(i);
        require(
            handler.poolOf(p).isLicensed(licensee, assetId, at),
            "history: an isLicensed answer for a past time turned from true to false"
        );
    }
}

"""Every `patentpool` subcommand end to end, through a subprocess against anvil, JSON checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.deploy import Deployment, write_deployment
from registry.node import ANVIL_DEV_KEYS, AnvilNode
from tests.conftest import USDC, World

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dossiers"
OPERATOR, FOUNDER, MEMBER, LICENSEE, OUTSIDER = range(5)


class Cli:
    """Runs `python -m patentpool` against the session's anvil and manifest as one actor or another."""

    def __init__(self, anvil: AnvilNode, manifest: Path, cwd: Path) -> None:
        self.anvil = anvil
        self.manifest = manifest
        self.cwd = cwd

    def run(
        self, *args: str, who: int = OPERATOR, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
        full_env["PATENTPOOL_PRIVATE_KEY"] = ANVIL_DEV_KEYS[who]
        full_env["PATENTPOOL_RPC_URL"] = self.anvil.url
        full_env.update(env or {})
        command = [sys.executable, "-m", "patentpool", *args]
        if args[0] not in ("licence",) or args[1] != "verify":
            command += ["--deployment", str(self.manifest)]
        return subprocess.run(
            command, capture_output=True, text=True, env=full_env, cwd=self.cwd, timeout=120, check=False
        )

    def json(self, *args: str, who: int = OPERATOR) -> Any:
        result = self.run(*args, "--json", who=who)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert ANVIL_DEV_KEYS[who] not in result.stdout + result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(anvil: AnvilNode, deployment: Deployment, snapshot: None, tmp_path: Path) -> Cli:
    manifest = write_deployment(deployment, tmp_path / "deployments")
    return Cli(anvil, manifest, tmp_path)


def test_an_operator_runs_a_pool_from_the_command_line(cli: Cli, keys: list[LocalAccount], tmp_path: Path) -> None:
    addr = [k.address for k in keys]
    created = cli.json("pool", "create", "--name", "LiDAR", "--kind", "technology", "--field", "LiDAR sensing")
    pool = created["pool"]
    assert Web3.is_checksum_address(pool) and created["operator"] == addr[OPERATOR]
    assert set(created["tx"]) == {"txHash", "blockNumber", "blockHash", "gasUsed"}

    changes = cli.json(
        "pool", "configure", pool, "--tier-fee", "startup=500", "--tier-fee", "sme=2000.5",
        "--operator-share", "1500", "--territory", "worldwide", "--withdrawal-notice-days", "30",
    )  # fmt: skip
    assert [c["setting"] for c in changes["changes"]] == [
        "tierFee.startup", "tierFee.sme", "operatorShareBps", "territory", "withdrawalNotice",
    ]  # fmt: skip
    cli.json("pool", "configure", pool, "--jurisdictions", "US,CN,DE,JP", "--min-granted", "2", "--min-score", "6000")
    assert cli.json("pool", "admit-founder", pool, addr[FOUNDER])["founder"] == addr[FOUNDER]

    # The founder registers a family from its dossier; the operator verifies and evaluates it.
    dossier = tmp_path / "lidar.json"
    shutil.copy(EXAMPLES / "lidar-flash-us-cn.json", dossier)
    registered = cli.json("asset", "register", str(dossier), "--uri", "ipfs://lidar", who=FOUNDER)
    asset = registered["assetId"]
    assert [p["office"] for p in registered["patents"]][:2] == ["US", "CN"]
    shown = cli.json("asset", "show", str(asset))
    assert shown["owner"] == addr[FOUNDER] and shown["dossierURI"] == "ipfs://lidar"
    assert all(p["status"] == "pending" for p in shown["patents"])
    for index in (0, 1):
        verified = cli.json("asset", "verify-patent", str(asset), str(index), "--status", "granted",
                            "--grant-date", "2022-03-01", "--expiry-date", "2039-11-20")  # fmt: skip
        assert verified["status"] == "granted"
    added = cli.json("asset", "add-patent", str(asset), "--office", "de", "--number", "DE102019000001B4", who=FOUNDER)
    assert added["office"] == "DE" and added["index"] == len(registered["patents"])
    evaluated = cli.json("asset", "evaluate", str(asset), "--dossier", str(dossier), "--as-of", "2025-07-01",
                         "--report-dir", str(tmp_path / "reports"))  # fmt: skip
    assert evaluated["scoreBps"] == 7183 and evaluated["modelVersion"] == "scorecard-1.0"
    report = Path(evaluated["report"])
    assert "0x" + Web3.keccak(report.read_bytes()).hex().removeprefix("0x") == evaluated["reportHash"]
    assert cli.json("asset", "show", str(asset))["evaluation"]["scoreBps"] == 7183
    assert cli.json("asset", "verify-dossier", str(dossier))["match"] is True

    contributed = cli.json("pool", "contribute", pool, str(asset), who=FOUNDER)
    assert contributed["weight"] == 2
    assert cli.json("pool", "activate", pool)["lifecycle"] == "active"

    # Members pay in the test stablecoin: mint it to them first (local chains only).
    coin = Web3(Web3.HTTPProvider(cli.anvil.url)).eth.contract(
        address=json.loads(cli.manifest.read_text())["contracts"]["TestStablecoin"]["address"],
        abi=json.loads((Path(__file__).resolve().parents[2] / "registry/artifacts/TestStablecoin.json").read_text())[
            "abi"
        ],
    )
    for who in (MEMBER, LICENSEE):
        coin.functions.mint(addr[who], 10_000 * 10**6).transact({"from": addr[OPERATOR]})
    joined = cli.json("member", "join", pool, "--tier", "startup", "--max-fee", "500", who=MEMBER)
    assert joined["fee"] == 500 * 10**6 and len(joined["approvals"]) == 1
    assert cli.json("member", "show", pool, addr[MEMBER])["current"] is True
    renewed = cli.json("member", "renew", pool, who=MEMBER)
    assert renewed["validUntil"] == joined["validUntil"] + 365 * 86_400

    offer = cli.json("licence", "offer", pool, "--licensee", addr[LICENSEE], "--price", "1500", "--days", "365",
                     "--terms", "Unified licence terms v1")  # fmt: skip
    licence = cli.json("licence", "accept", pool, str(offer["offerId"]), who=LICENSEE)
    assert licence["price"] == 1500 * 10**6
    assert cli.json("licence", "show", pool, str(licence["licenceId"]))["wholePool"] is True

    def verify(who: int) -> tuple[int, Any]:
        result = cli.run("licence", "verify", "--pool", pool, "--licensee", addr[who], "--asset", str(asset), "--json")
        return result.returncode, json.loads(result.stdout)

    assert verify(MEMBER)[0] == 0 and verify(MEMBER)[1]["licensed"] is True
    assert verify(LICENSEE)[0] == 0
    code, answer = verify(OUTSIDER)
    assert code == 1 and answer["licensed"] is False and answer["blockHash"].startswith("0x")

    revenue = cli.json("revenue", "show", pool, "--account", addr[FOUNDER], "--account", addr[OPERATOR])
    paid = 500 * 10**6 * 2 + 1500 * 10**6
    assert revenue["poolBalance"] == paid
    founder_row, treasury_row = revenue["accounts"]
    assert treasury_row["claimable"] == paid * 1500 // 10_000
    assert founder_row["claimable"] == paid - treasury_row["claimable"]
    assert cli.json("revenue", "claim", pool, who=FOUNDER)["amount"] == founder_row["claimable"]

    revoked = cli.json("licence", "revoke", pool, str(licence["licenceId"]), "--reason", "terms breached")
    assert revoked["revoked"] is True
    assert verify(LICENSEE)[0] == 1

    dispute = cli.json("dispute", "open", pool, str(asset), "--evidence", "prior art: US5000000A", who=MEMBER)
    assert cli.json("dispute", "show", pool, str(dispute["disputeId"]))["status"] == "open"
    assert (
        cli.json("dispute", "resolve", pool, str(dispute["disputeId"]), "--upheld", "--ruling", "anticipated")[
            "outcome"
        ]
        == "upheld"
    )
    assert verify(MEMBER)[0] == 1  # the asset is suspended
    assert cli.json("dispute", "show", pool, str(dispute["disputeId"]))["bond"] == 0

    # Issue 14, point 8: the arbiter lifts the suspension on appeal; the bond is an announced change.
    lifted = cli.json("dispute", "appeal", pool, str(asset), "--ruling", "appeal granted")
    assert lifted["assetId"] == asset and lifted["weight"] > 0
    assert verify(MEMBER)[0] == 0
    bond = cli.json("dispute", "bond", pool, "25")
    assert bond["bond"] == 25 * 10**6 and bond["announced"] is True and bond["effectiveAt"] > 0
    # Point 7: anyone re-weighs an asset in a pool; a patent not past its expiry cannot be expired.
    reweighed = cli.json("asset", "reweigh", str(asset), "--pool", pool, who=OUTSIDER)
    assert reweighed["weight"] == reweighed["oldWeight"] == lifted["weight"]
    refused = cli.run("asset", "expire-patent", str(asset), "0", who=OUTSIDER)
    assert refused.returncode != 0 and "not a granted patent past its expiry date" in refused.stderr
    # Point 2: the founder sells the family, and in the pool it follows its token.
    assert cli.json("asset", "show", str(asset))["pools"] == [pool]
    refused = cli.run("asset", "transfer", str(asset), "--to", addr[LICENSEE], who=OUTSIDER)
    assert refused.returncode != 0 and "not by the signer" in refused.stderr
    sold = cli.json("asset", "transfer", str(asset), "--to", addr[LICENSEE], who=FOUNDER)
    assert sold["pools"] == [pool] and sold["to"] == addr[LICENSEE]
    assert cli.json("asset", "show", str(asset))["owner"] == addr[LICENSEE]

    listed = cli.json("pool", "list")["pools"]
    assert any(p["address"] == pool and p["members"] == 1 and p["licences"] == 1 for p in listed)
    state = cli.json("pool", "show", pool)
    assert state["tierFees"]["sme"] == 2_000_500_000 and state["territory"] == "worldwide"
    assert cli.json("pool", "close", pool)["lifecycle"] == "closed"

    # Issue 14, point 1: the verifier frees a family id from its holder, for a named claimant.
    rejected = cli.json("asset", "reject-family", str(asset), "--reason", "squatted", "--claimant", addr[OUTSIDER])
    assert rejected["assetId"] == asset and rejected["claimant"] == addr[OUTSIDER]
    again = cli.run("asset", "reject-family", str(asset), "--reason", "squatted")
    assert again.returncode != 0 and "rejected already" in again.stderr


def test_a_dispute_opened_from_the_command_line_pays_the_pools_bond(cli: Cli, world: World) -> None:
    """Issue 14, point 8: `dispute open` approves exactly the bond when needed, then opens."""
    bond = 5 * USDC
    asset = world.founder_with_asset(FOUNDER, {"US": 1, "CN": 1})
    world.pool.set_tier_fee(0, 100 * USDC)
    world.pool.set_dispute_bond(bond)
    world.pool.activate()
    world.fund(MEMBER, 100 * USDC)
    world.pool_as(MEMBER).join(0, 100 * USDC)
    member = world.keys[MEMBER].address
    refused = cli.run("dispute", "open", world.pool.address, str(asset), "--evidence", "prior art", who=MEMBER)
    assert refused.returncode != 0 and "the dispute bond costs" in refused.stderr
    world.coin_as(MEMBER).mint(member, bond)

    opened = cli.json("dispute", "open", world.pool.address, str(asset), "--evidence", "prior art", who=MEMBER)

    assert opened["bond"] == bond and [a["approve"] for a in opened["approvals"]] == [bond]
    assert world.pool.bonds_held() == bond and world.coin.balance_of(member) == 0
    shown = cli.json("dispute", "show", world.pool.address, str(opened["disputeId"]))
    assert shown["bond"] == bond and shown["status"] == "open"

"""scripts/deploy_pool.py against the session's anvil: plain Python (web3.py + eth-account) and
`ape run deploy_pool --network ethereum:local:foundry`."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentPoolClient, PoolFactoryClient
from registry.deploy import Deployment, write_deployment
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, AnvilNode, find_anvil
from registry.pool_config import find_pool
from registry.types import Parameter

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy_pool.py"
LIDAR_TOML = ROOT / "examples" / "pools" / "lidar.toml"
LIDAR_YAML = ROOT / "examples" / "pools" / "lidar.yaml"
OPERATOR = account_from_key(ANVIL_DEV_KEYS[0])
FOUNDERS = [account_from_key(ANVIL_DEV_KEYS[i]).address for i in (1, 2)]
USD = 10**6
DAY = 24 * 3600


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATENTPOOL_", "APE_"))}
    env.update(extra)
    return env


def run_script(anvil: AnvilNode, manifest: Path, pool_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--rpc", anvil.url, "--deployment", str(manifest), *extra, str(pool_file)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture
def manifest(tmp_path: Path, deployment: Deployment) -> Path:
    """The session's suite as a manifest file, so the script reuses it."""
    return write_deployment(deployment, tmp_path / "deployments")


def test_stands_up_the_lidar_pool_and_a_rerun_sends_nothing(
    anvil: AnvilNode, w3: Web3, deployment: Deployment, manifest: Path, snapshot: None
) -> None:
    result = ok_json(run_script(anvil, manifest, LIDAR_TOML))
    assert result["created"] is True
    assert result["deployedSuite"] is False
    assert result["operator"] == OPERATOR.address
    assert result["lifecycle"] == "active"
    assert set(result["changed"]) >= {"territory", "tiers.startup", "tiers.sme", "tiers.enterprise", "founders"}
    assert result["txs"][0]["step"] == "createPool"
    assert all(t["txHash"].startswith("0x") for t in result["txs"])

    pool = PatentPoolClient(Chain(w3, OPERATOR), result["pool"])
    profile = pool.profile()
    assert profile["name"] == "LiDAR"
    assert profile["kind"] == 2  # technology
    assert profile["field"] == "LiDAR sensing"
    assert profile["territory"] == "worldwide"
    assert profile["lifecycle"] == 1  # Active
    assert profile["paymentToken"] == deployment.payment_token
    assert profile["operatorShareBps"] == 1000
    assert [pool.tier_fee(t) for t in (0, 1, 2)] == [500 * USD, 2_000 * USD, 10_000 * USD]
    assert pool.qualification() == {"jurisdictions": ["US", "CN", "DE", "JP"], "minGranted": 2, "minScoreBps": 6000}
    assert pool.chain.call(pool.contract.functions.withdrawalNotice()) == 90 * DAY
    assert all(pool.is_founder(f) for f in FOUNDERS)
    assert pool.has_role("OPERATOR_ROLE", OPERATOR.address)
    factory = PoolFactoryClient(Chain(w3, OPERATOR), deployment.address("PoolFactory"))
    assert factory.is_pool(result["pool"])

    block = w3.eth.block_number
    for again in (LIDAR_TOML, LIDAR_YAML):  # the YAML file describes the same pool
        rerun = ok_json(run_script(anvil, manifest, again))
        assert rerun["pool"] == result["pool"]
        assert rerun["created"] is False
        assert rerun["changed"] == []
        assert rerun["txs"] == []
    assert w3.eth.block_number == block


def test_a_changed_setting_sends_only_its_transaction(
    anvil: AnvilNode, w3: Web3, manifest: Path, tmp_path: Path, snapshot: None
) -> None:
    pool_address = ok_json(run_script(anvil, manifest, LIDAR_TOML))["pool"]
    edited = tmp_path / "lidar.toml"
    changed = LIDAR_TOML.read_text().replace("sme = 2000", "sme = 2499.5")
    edited.write_text(changed)
    block = w3.eth.block_number
    # The file does not name the pool it would change: refused, with the change listed; nothing sent.
    refused = run_script(anvil, manifest, edited)
    assert refused.returncode == 2, refused.stdout
    assert f"a pool named 'LiDAR' exists at {pool_address}" in refused.stderr
    assert "setTierFee(sme)" in refused.stderr and f'address = "{pool_address}"' in refused.stderr
    # --plan says what a run would send, and sends nothing.
    plan = ok_json(run_script(anvil, manifest, edited, "--plan"))
    assert (plan["pool"], plan["plan"], plan["txs"]) == (pool_address, ["setTierFee(sme)"], [])
    assert w3.eth.block_number == block
    # Named, it is changed.
    edited.write_text(f'address = "{pool_address}"\n' + changed)
    result = ok_json(run_script(anvil, manifest, edited))
    assert (result["pool"], result["created"], result["changed"]) == (pool_address, False, ["tiers.sme"])
    assert [t["step"] for t in result["txs"]] == ["setTierFee(sme)"]
    assert w3.eth.block_number == block + 1
    # The pool is active: the new fee is announced, in force once applied after the change delay.
    pool = PatentPoolClient(Chain(w3, OPERATOR), pool_address)
    assert pool.tier_fee(1) == 2_000_000_000
    assert pool.pending_change(Parameter.TIER_FEE_1)["value"] == 2_499_500_000
    # A re-run while it waits does not announce it again (which would restart the delay).
    again = ok_json(run_script(anvil, manifest, edited))
    assert (again["changed"], again["txs"]) == ([], [])


def test_the_dispute_bond_and_the_longest_licence_come_from_the_pool_file(
    anvil: AnvilNode, w3: Web3, manifest: Path, tmp_path: Path, snapshot: None
) -> None:
    """Issue 14's bond (point 8) and licence bound (point 3) are pool-file settings like the rest."""
    radar = tmp_path / "radar.toml"
    text = LIDAR_TOML.read_text().replace('name = "LiDAR"', 'name = "Radar"')
    radar.write_text(text.replace("dispute_bond = 0 ", "dispute_bond = 25.5 ").replace("= 1825 ", "= 730 "))
    plan = ok_json(run_script(anvil, manifest, radar, "--plan"))["plan"]
    assert {"setDisputeBond", "setMaxLicenceLength"} <= set(plan)
    result = ok_json(run_script(anvil, manifest, radar))
    assert {"dispute_bond", "max_licence_length_days"} <= set(result["changed"])
    pool = PatentPoolClient(Chain(w3, OPERATOR), result["pool"])
    # Set while Incubating (before the file's activation): in force at once.
    assert pool.dispute_bond() == 25_500_000
    assert pool.bounds()["maxLicenceLength"] == 730 * DAY
    assert ok_json(run_script(anvil, manifest, radar))["txs"] == []
    too_precise = tmp_path / "precise.toml"
    too_precise.write_text(text.replace("dispute_bond = 0 ", "dispute_bond = 0.0000001 "))
    refused = run_script(anvil, manifest, too_precise)
    assert refused.returncode == 2 and "dispute_bond: 1E-7 has more than 6 decimal places" in refused.stderr


def test_a_plan_sends_nothing_and_lists_every_step(
    anvil: AnvilNode, w3: Web3, manifest: Path, tmp_path: Path, snapshot: None
) -> None:
    block = w3.eth.block_number
    plan = ok_json(run_script(anvil, manifest, LIDAR_TOML, "--plan"))
    assert plan["pool"] is None and plan["created"] is True
    assert plan["plan"][0] == "createPool" and plan["plan"][-1] == "activate"
    assert {"setTerritory", "setTierFee(sme)", *(f"admitFounder({f})" for f in FOUNDERS)} <= set(plan["plan"])
    # Without a deployed suite, the plan starts with deploying it; no manifest is written.
    missing = tmp_path / "none" / "31337.json"
    fresh = ok_json(run_script(anvil, missing, LIDAR_TOML, "--plan"))
    assert fresh["plan"][:2] == ["deploySuite", "createPool"] and not missing.exists()
    assert w3.eth.block_number == block
    # Once the pool stands, its plan is empty; a file naming another pool's address is refused.
    address = ok_json(run_script(anvil, manifest, LIDAR_TOML))["pool"]
    assert ok_json(run_script(anvil, manifest, LIDAR_TOML, "--plan"))["plan"] == []
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('address = "0x' + "12" * 20 + '"\n' + LIDAR_TOML.read_text())
    refused = run_script(anvil, manifest, wrong)
    assert refused.returncode == 2 and "is not a pool of the factory" in refused.stderr
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(f'address = "{address}"\n' + LIDAR_TOML.read_text().replace('name = "LiDAR"', 'name = "Radar"'))
    refused = run_script(anvil, manifest, renamed)
    assert refused.returncode == 2 and "is named 'LiDAR', not 'Radar'" in refused.stderr


def test_a_missing_manifest_deploys_the_suite_first(anvil: AnvilNode, w3: Web3, tmp_path: Path, snapshot: None) -> None:
    manifest = tmp_path / "fresh" / "suite.json"
    result = ok_json(run_script(anvil, manifest, LIDAR_YAML))
    assert result["deployedSuite"] is True and result["created"] is True
    written = json.loads(manifest.read_text())
    assert written["chainId"] == 31337
    assert Web3.to_checksum_address(written["contracts"]["TestStablecoin"]["address"]) == result["paymentToken"]
    assert PoolFactoryClient(Chain(w3, OPERATOR), written["contracts"]["PoolFactory"]["address"]).is_pool(
        result["pool"]
    )


@pytest.mark.parametrize(
    ("replace", "by", "field"),
    [
        ('kind = "technology"', 'kind = "consortium"', "kind"),
        ("sme = 2000", "sme = -5", "tiers.sme"),
        ("min_granted = 2", "min_granted = 0", "qualification.min_granted"),
        ("operator_share_bps = 1000", "operator_share_bps = 12000", "operator_share_bps"),
        ('name = "LiDAR"', 'name = "LiDAR"\nsponsor = "x"', "sponsor"),
    ],
)
def test_a_bad_pool_file_is_one_line_naming_the_field(
    anvil: AnvilNode, w3: Web3, manifest: Path, tmp_path: Path, replace: str, by: str, field: str
) -> None:
    text = LIDAR_TOML.read_text()
    assert replace in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(replace, by))
    block = w3.eth.block_number
    proc = run_script(anvil, manifest, bad)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and f"{field}:" in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert w3.eth.block_number == block


def test_an_unreachable_node_is_one_line_with_code_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rpc", "http://127.0.0.1:9", str(LIDAR_TOML)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "no Ethereum node answers" in proc.stderr


def _json_in(stdout: str) -> dict[str, Any]:
    """The JSON result ape's run printed (ape may log lines to stdout before it)."""
    result: dict[str, Any] = json.loads(stdout[stdout.index("\n{") + 1 :] if not stdout.startswith("{") else stdout)
    return result


def _ape_executable() -> Path | None:
    if importlib.util.find_spec("ape") is None or importlib.util.find_spec("ape_foundry") is None:
        return None
    beside = Path(sys.executable).with_name("ape")
    return beside if beside.exists() else (Path(p) if (p := shutil.which("ape")) else None)


@pytest.mark.slow
def test_ape_run_deploy_pool_on_foundry(
    anvil: AnvilNode, w3: Web3, manifest: Path, tmp_path: Path, snapshot: None
) -> None:
    ape = _ape_executable()
    if ape is None:
        pytest.skip("ApeWorX ape with ape-foundry is not installed (pip install -e '.[ape]')")
    pool_file = tmp_path / "ape-pool.toml"
    pool_file.write_text(LIDAR_TOML.read_text().replace('name = "LiDAR"', 'name = "LiDAR via ape"'))
    env = _env(
        PATH=f"{find_anvil().parent}{os.pathsep}{os.environ.get('PATH', '')}",
        APE_FOUNDRY_HOST=anvil.url,  # ape-foundry connects to this anvil instead of starting one
        APE_DATA_FOLDER=str(tmp_path / "ape-data"),
        PATENTPOOL_POOL_FILE=str(pool_file),
        PATENTPOOL_DEPLOYMENT=str(manifest),
    )
    cmd = [str(ape), "run", "deploy_pool", "--network", "ethereum:local:foundry"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _json_in(proc.stdout)["created"] is True
    chain = Chain(w3, OPERATOR)
    factory = PoolFactoryClient(chain, json.loads(manifest.read_text())["contracts"]["PoolFactory"]["address"])
    address = find_pool(factory, "LiDAR via ape", OPERATOR.address)
    assert address is not None, proc.stdout + proc.stderr
    pool = PatentPoolClient(chain, address)
    assert pool.profile()["lifecycle"] == 1
    assert pool.tier_fee(2) == 10_000 * USD
    assert all(pool.is_founder(f) for f in FOUNDERS)

    block = w3.eth.block_number
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = _json_in(again.stdout)
    assert (rerun["pool"], rerun["created"], rerun["txs"]) == (address, False, [])
    assert w3.eth.block_number == block


def test_a_bad_yaml_file_names_the_field(anvil: AnvilNode, manifest: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(LIDAR_YAML.read_text().replace("kind: technology", "kind: biotech").replace("sme: 2000", "sme: -1"))
    proc = run_script(anvil, manifest, bad)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "kind: must be one of company, industry, technology, geography" in line
    assert "tiers.sme: must be zero or more" in line


def test_an_existing_pool_of_another_kind_is_refused(
    anvil: AnvilNode, w3: Web3, manifest: Path, tmp_path: Path, snapshot: None
) -> None:
    ok_json(run_script(anvil, manifest, LIDAR_TOML))
    other = tmp_path / "other.toml"
    other.write_text(LIDAR_TOML.read_text().replace('kind = "technology"', 'kind = "industry"'))
    block = w3.eth.block_number
    proc = run_script(anvil, manifest, other)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: kind: the existing pool 'LiDAR'") and "cannot change" in line
    assert w3.eth.block_number == block


def test_a_payment_token_without_code_is_refused(anvil: AnvilNode, manifest: Path, tmp_path: Path) -> None:
    bad = tmp_path / "eoa-token.toml"
    bad.write_text(f'payment_token = "{FOUNDERS[0]}"\n' + LIDAR_TOML.read_text())
    proc = run_script(anvil, manifest, bad)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line == f"error: payment_token: no contract at {FOUNDERS[0]} on chain 31337"

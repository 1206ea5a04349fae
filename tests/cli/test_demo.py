"""`patentpool demo` seeds a pool whose on-chain answers match the story it tells."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from registry.chain import Chain
from registry.client import PatentPoolClient
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, AnvilNode


def test_demo_seeds_a_pool_with_members_licensees_and_a_suspended_asset(
    anvil: AnvilNode, snapshot: None, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "patentpool",
            "demo",
            "--rpc",
            anvil.url,
            "--no-wait",
            "--json",
            "--deployments-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(data["assets"]) == ["LIDAR-FAM-001", "LIDAR-FAM-002", "LIDAR-FAM-003"]
    assert sorted(data["refused"]) == ["LIDAR-FAM-004", "LIDAR-FAM-005"]
    assert all("PatentPoolNotQualified" in reason for reason in data["refused"].values())
    assert len(data["members"]) == 5

    w3 = anvil.web3()
    pool = PatentPoolClient(Chain(w3, account_from_key(ANVIL_DEV_KEYS[0])), data["pool"])
    now = int(w3.eth.get_block("latest")["timestamp"])
    live = data["assets"]["LIDAR-FAM-001"]
    assert pool.counts() == {"members": 5, "assets": 3, "offers": 2, "licences": 2, "disputes": 1}
    assert pool.is_licensed(data["members"][0], live, now)
    assert pool.is_licensed(data["licensees"]["unified"], live, now)
    assert not pool.is_licensed(data["licensees"]["revoked"], live, now)
    assert not pool.is_licensed(data["founders"][1], live, now)
    assert not pool.is_licensed(data["members"][0], data["suspendedAsset"], now)
    assert pool.pool_asset(data["suspendedAsset"])["suspended"]

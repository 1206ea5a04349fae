"""`patentpool demo --small` seeds the six pools at a tenth of the deck's scale, deterministically,
and the chain answers the licence questions the demo's story promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from registry.demo import POOLS, scaled
from registry.dossier import dossier_hash
from registry.node import AnvilNode


def run_demo(anvil: AnvilNode, tmp_path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "patentpool", "demo", "--small", "--rpc", anvil.url, "--no-wait", "--json",
         "--deployments-dir", str(tmp_path / "deployments"), "--data-dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def verify(anvil: AnvilNode, pool: str, who: str, asset: int) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "patentpool", "licence", "verify", "--rpc", anvil.url, "--pool", pool,
         "--licensee", who, "--asset", str(asset), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["licensed"] is (result.returncode == 0)
    return result.returncode


class DemoRun:
    """The demo seeded once for the module, on a snapshot that can be rewound to seed it again."""

    def __init__(self, anvil: AnvilNode, w3: Any, tmp: Path) -> None:
        self.anvil, self.w3, self.tmp = anvil, w3, tmp
        self.snapshot = self._snap()
        self.data = run_demo(anvil, tmp / "first")

    def _snap(self) -> str:
        return str(self.w3.provider.make_request("evm_snapshot", [])["result"])

    def again(self) -> dict[str, Any]:
        """Rewind the chain to before the demo and seed it once more."""
        self.w3.provider.make_request("evm_revert", [self.snapshot])
        self.snapshot = self._snap()
        return run_demo(self.anvil, self.tmp / "again")

    def close(self) -> None:
        self.w3.provider.make_request("evm_revert", [self.snapshot])


@pytest.fixture(scope="module")
def demo(anvil: AnvilNode, w3: Any, deployment: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    run = DemoRun(anvil, w3, tmp_path_factory.mktemp("demo"))
    try:
        yield run
    finally:
        run.close()


def test_the_small_demo_seeds_six_pools_at_a_tenth_of_the_deck(demo: Any) -> None:
    data = demo.data
    assert data["scale"] == 0.1
    by_key = {p["key"]: p for p in data["pools"]}
    assert list(by_key) == [s.key for s in POOLS]
    for spec in POOLS:
        pool = by_key[spec.key]
        assert pool["members"] == scaled(spec.members, 0.1), spec.key
        assert pool["assets"] == scaled(spec.assets, 0.1), spec.key
        assert pool["lifecycle"] == ("active" if spec.active else "incubating")
        assert len(pool["founders"]) == spec.founders
    assert by_key["metaverse"]["members"] == 50 and by_key["blockchain"]["assets"] == 128
    # The registry's everyday mess is there too.
    assert sum(len(p["refused"]) for p in data["pools"]) >= 3
    assert all(
        "PatentPoolNotQualified" in r or "PatentPoolScoreTooLow" in r
        for p in data["pools"]
        for r in p["refused"].values()
    )
    active = [p for p in data["pools"] if p["lifecycle"] == "active"]
    assert all(p["suspendedAssets"] and p["revokedLicensees"] and p["claims"] for p in active)
    assert sum(p["dismissedDisputes"] for p in active) >= 2


def test_licence_verify_answers_for_every_kind_of_licensee(anvil: AnvilNode, demo: Any) -> None:
    data = demo.data
    pool = next(p for p in data["pools"] if p["key"] == "metaverse")
    asset = pool["assetSample"][0]
    assert verify(anvil, pool["address"], pool["memberSample"][0], asset) == 0
    assert verify(anvil, pool["address"], pool["unifiedLicensees"][0], asset) == 0
    assert verify(anvil, pool["address"], pool["revokedLicensees"][0], asset) == 1
    assert verify(anvil, pool["address"], pool["founders"][0], asset) == 1  # a founder is not a licensee
    assert verify(anvil, pool["address"], pool["memberSample"][0], pool["suspendedAssets"][0]) == 1


def test_every_demo_dossier_matches_its_on_chain_hash(w3: Any, demo: Any) -> None:
    from registry.chain import Chain
    from registry.client import PatentAssetClient
    from registry.keys import account_from_key
    from registry.node import ANVIL_DEV_KEYS

    data = demo.data
    manifest = json.loads(Path(data["manifest"]).read_text())
    registry = PatentAssetClient(
        Chain(w3, account_from_key(ANVIL_DEV_KEYS[0])), manifest["contracts"]["PatentAsset"]["address"]
    )
    files = sorted(Path(data["dossierDir"]).glob("*.json"))
    assert len(files) >= sum(p["assets"] for p in data["pools"])
    for path in files[:25]:
        asset_id = registry.asset_of_family(path.stem)
        assert asset_id and registry.family(asset_id)["dossierHash"] == dossier_hash(path)


def test_the_demo_is_deterministic(demo: Any) -> None:
    first = demo.data
    second = demo.again()
    assert {k: v for k, v in first.items() if k not in ("seconds", "dossierDir", "manifest", "index")} == {
        k: v for k, v in second.items() if k not in ("seconds", "dossierDir", "manifest", "index")
    }


def test_the_demo_is_mirrored_completely_in_sql(demo: Any) -> None:
    """Issue 4's acceptance: every pool's rows in the SQL mirror equal what the chain counts."""
    import sqlite3

    data = demo.data
    database = data["index"]["database"].removeprefix("sqlite:///")
    assert data["index"]["checkpoint"]["block"] >= 1
    with sqlite3.connect(database) as db:
        for pool in data["pools"]:
            address = pool["address"]
            members = db.execute("SELECT count(*) FROM member WHERE pool = ?", (address,)).fetchone()[0]
            assets = db.execute("SELECT count(*) FROM contribution WHERE pool = ?", (address,)).fetchone()[0]
            licences = db.execute("SELECT count(*) FROM licence WHERE pool = ?", (address,)).fetchone()[0]
            assert (members, assets, licences) == (pool["members"], pool["assets"], pool["licences"]), pool["key"]
        tables = data["index"]["tables"]
        assert tables["pool"] == len(data["pools"])
        assert tables["founder"] == sum(len(p["founders"]) for p in data["pools"])
        assert tables["asset"] == sum(p["assets"] + len(p["refused"]) for p in data["pools"])
        assert tables["event"] == data["index"]["totalEvents"] > 0

"""Tables fit an 80-column terminal without cutting an address or losing a number, and amounts are
shown in token units with the token's symbol."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from registry.deploy import write_deployment
from registry.node import AnvilNode
from tests.conftest import USDC, World


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    full.update({"COLUMNS": "80", "NO_COLOR": "1"}, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "patentpool", *args], capture_output=True, text=True, env=full, timeout=120, check=False
    )


def test_deploy_prints_whole_addresses_in_80_columns(anvil: AnvilNode, snapshot: None, tmp_path: Path) -> None:
    result = _run("deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("deployer:")[0]
    assert all(len(line) <= 80 for line in table.splitlines()), result.stdout
    manifest = json.loads((tmp_path / "31337.json").read_text())
    for name, contract in manifest["contracts"].items():
        assert name in result.stdout and contract["address"] in result.stdout
    assert "…" not in result.stdout


def test_the_demo_summary_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import patentpool.cli as cli

    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, width=80, no_color=True))
    names = ["Metaverse", "Blockchain", "Digital connectivity", "LiDAR", "Electric vehicles", "ESG"]
    pools: list[dict[str, Any]] = [
        {
            "name": name,
            "lifecycle": "incubating" if n > 3 else "active",
            "members": 550 * (n + 1),
            "assets": 1280 + n,
            "refused": [1, 2, 3],
            "licences": 12,
            "suspendedAssets": [n + 1, n + 2],
            "address": "0x" + f"{n:02d}" * 20,
            "memberSample": ["0x" + "ab" * 20],
            "revokedLicensees": ["0x" + "cd" * 20],
            "unifiedLicensees": ["0x" + "ef" * 20],
            "founders": ["0x" + "12" * 20],
            "assetSample": [7],
        }
        for n, name in enumerate(names)
    ]
    data = {
        "transactions": 123_456,
        "seconds": 98.7,
        "pools": pools,
        "manifest": "deployments/31337.json",
        "dossierDir": ".patentpool/demo/dossiers",
        "rpc": "http://127.0.0.1:8545",
        "index": {"database": "sqlite:///x.db", "totalEvents": 99_999, "checkpoint": {"block": 4321}},
    }
    cli._print_demo(data)
    text = buffer.getvalue()
    tables = text.split("manifest:")[0]
    assert all(len(line) <= 80 for line in tables.splitlines()), tables
    for p in pools:
        assert p["address"] in tables
        assert f"{p['members']:,}" in tables and f"{p['assets']:,}" in tables
    assert "Digital connectivity" in " ".join(tables.split()) or "Digital" in tables
    assert "…" not in tables


def test_amounts_are_shown_in_token_units_with_the_symbol(world: World, tmp_path: Path) -> None:
    world.pool.set_tier_fee(0, 500 * USDC)
    manifest = write_deployment(world.deployment, tmp_path / "deployments")
    env = {"PATENTPOOL_RPC_URL": world.w3.provider.endpoint_uri}  # type: ignore[attr-defined]
    shown = _run("pool", "show", world.pool.address, "--deployment", str(manifest), env=env)
    assert shown.returncode == 0, shown.stderr
    assert "500.00 tUSD" in shown.stdout
    revenue = _run("revenue", "show", world.pool.address, "--deployment", str(manifest), env=env)
    assert revenue.returncode == 0, revenue.stderr
    assert "claimable (tUSD)" in revenue.stdout and "pool holds 0.00 tUSD" in revenue.stdout
    assert all(len(line) <= 80 for line in revenue.stdout.splitlines()), revenue.stdout
    assert world.operator.address in revenue.stdout


def test_the_pool_list_fits_80_columns(world: World, tmp_path: Path) -> None:
    world.new_pool("A pool with a name much longer than the column it would get", 1, "Everything")
    manifest = write_deployment(world.deployment, tmp_path / "deployments")
    env = {"PATENTPOOL_RPC_URL": world.w3.provider.endpoint_uri}  # type: ignore[attr-defined]
    listed = _run("pool", "list", "--deployment", str(manifest), env=env)
    assert listed.returncode == 0, listed.stderr
    assert all(len(line) <= 80 for line in listed.stdout.splitlines()), listed.stdout
    assert world.pool.address in listed.stdout
    for address in world.factory.pools():
        assert address in listed.stdout

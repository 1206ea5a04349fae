"""The committed artifacts are exactly what a fresh compile produces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from registry.artifacts import ARTIFACTS_DIR, CONTRACTS
from registry.compile import CONTRACTS_DIR, SOLC_VERSION


def run_compile(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patentpool", "compile", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_compile_check_passes_on_the_committed_artifacts() -> None:
    result = run_compile("--check")
    assert result.returncode == 0, result.stderr
    assert "artifacts match a fresh compile" in result.stdout


def test_compile_check_fails_after_a_one_byte_source_change(tmp_path: Path) -> None:
    sources = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, sources)
    target = sources / "TestStablecoin.sol"
    text = target.read_bytes()
    index = text.index(b"local chains only")
    target.write_bytes(text[:index] + b"L" + text[index + 1 :])  # one byte: "l" -> "L"
    result = run_compile("--check", "--contracts-dir", str(sources))
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "stale artifacts" in result.stderr
    assert "TestStablecoin" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_artifact_records_compiler_settings_and_source_hashes() -> None:
    for name in CONTRACTS:
        artifact = json.loads((ARTIFACTS_DIR / f"{name}.json").read_text())
        assert artifact["compiler"]["version"].startswith(SOLC_VERSION + "+commit.")
        assert artifact["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert artifact["sourceHash"].startswith("0x") and len(artifact["sourceHash"]) == 66
        assert artifact["sourceName"] in artifact["sources"]
        assert any(unit.startswith("node_modules/@openzeppelin/") for unit in artifact["sources"])
        assert artifact["bytecode"].startswith("0x60") and artifact["deployedBytecode"].startswith("0x60")
        assert [e for e in artifact["abi"] if e["type"] == "error"], f"{name} declares no custom errors"


def test_compile_without_a_contracts_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run_compile("--check", "--contracts-dir", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "no contracts folder" in result.stderr

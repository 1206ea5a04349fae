"""scripts/check_certificate.py as a third party runs it: a file copied to another folder, run by
Python in a fresh virtualenv holding only the packages the script lists; and `patentpool licence
certify` / `patentpool licence check` around it, as a new user would try them."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from registry.certificate import make_certificate
from tests.conftest import USDC, World

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_certificate.py"
FOUNDER, MEMBER = 1, 2
#: The top-level modules the script may import beyond the standard library: its listed packages.
LISTED_MODULES = {"eth", "eth_hash", "rlp", "trie", "requests"}


@pytest.fixture
def certificate(world: World, tmp_path: Path) -> tuple[World, Path, dict[str, Any]]:
    """A member's certificate written to a file in a folder of its own."""
    asset_id = world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, 500 * USDC)
    world.pool.activate()
    world.fund(MEMBER, 500 * USDC)
    world.pool_as(MEMBER).join(0, 500 * USDC)
    made = make_certificate(world.w3, world.pool.address, world.keys[MEMBER].address, asset_id)
    folder = tmp_path / "received"
    folder.mkdir()
    path = folder / "certificate.json"
    path.write_bytes(made.to_bytes())
    return world, path, made.document


def run(python: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATENTPOOL_", "PYTHON"))}
    return subprocess.run([python, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False)


def tamper_one_character(path: Path) -> Path:
    """The certificate with one hex digit of its first trie node (the state root's) changed."""
    text = path.read_text()
    at = text.index('"0x', text.index('"trieNodes": [')) + 3 + 40
    changed = path.with_name("changed.json")
    changed.write_text(text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1 :])
    return changed


def test_the_script_imports_only_the_standard_library_and_its_listed_packages() -> None:
    tree = ast.parse(SCRIPT.read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]  # type: ignore[union-attr]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and (not isinstance(node, ast.ImportFrom) or node.level == 0)
        for alias in node.names
    }
    outside = {name for name in imported if name not in sys.stdlib_module_names and name != "__future__"}
    assert outside == LISTED_MODULES
    docstring = ast.get_docstring(tree) or ""
    listed = ["py-evm", "trie", "rlp", "eth-hash", "requests"]
    assert all(f'"{name}' in docstring for name in listed), "the docstring's pip line names every package"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_script_alone_in_a_fresh_virtualenv(
    certificate: tuple[World, Path, dict[str, Any]], tmp_path: Path
) -> None:
    world, path, document = certificate
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    requirements = [line for line in SCRIPT.read_text().splitlines() if line.startswith("REQUIREMENTS = ")]
    assert requirements
    packages = list(ast.literal_eval(requirements[0].split("=", 1)[1].strip()))
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    folder = path.parent
    (folder / "check_certificate.py").write_bytes(SCRIPT.read_bytes())
    trusted = "0x" + bytes(world.w3.eth.get_block(document["block"]["number"])["hash"]).hex()

    valid = run(python, "-I", "check_certificate.py", path.name, "--block-hash", trusted, cwd=folder)
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.startswith(f"VALID: block {document['block']['number']} ")
    assert "was licensed for asset" in valid.stdout

    url = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    as_json = run(python, "-I", "check_certificate.py", path.name, "--rpc", url, "--json", cwd=folder)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["verdict"] == "VALID"

    changed = tamper_one_character(path)
    invalid = run(python, "-I", "check_certificate.py", changed.name, "--block-hash", trusted, cwd=folder)
    assert invalid.returncode == 1, invalid.stderr
    assert invalid.stdout.startswith("INVALID (account proof of ")

    (folder / "notes.txt").write_text("not a certificate")
    unusable = run(python, "-I", "check_certificate.py", "notes.txt", "--block-hash", trusted, cwd=folder)
    assert unusable.returncode == 2
    assert unusable.stderr.startswith("error: notes.txt is not JSON")


def test_patentpool_licence_certify_and_check(certificate: tuple[World, Path, dict[str, Any]], tmp_path: Path) -> None:
    world, _, document = certificate
    url = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")} | {"PATENTPOOL_RPC_URL": url}

    def patentpool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "patentpool", *args], capture_output=True, text=True, env=env, cwd=tmp_path,
            timeout=120, check=False,
        )  # fmt: skip

    claim = document["claim"]
    made = patentpool("licence", "certify", "--pool", claim["pool"], "--licensee", claim["licensee"],
                      "--asset", str(claim["assetId"]), "--out", "mine.json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "certificate written to mine.json" in " ".join(made.stdout.split())
    mine = json.loads((tmp_path / "mine.json").read_text())
    assert (mine["claim"]["licensed"], mine["claim"]["reason"]) == (True, "membership")

    checked = patentpool("licence", "check", "mine.json")
    assert checked.returncode == 0, checked.stderr
    assert " ".join(checked.stdout.split()).startswith(f"VALID: block {mine['block']['number']} ")

    trusted = "0x" + bytes(world.w3.eth.get_block(mine["block"]["number"])["hash"]).hex()
    changed = tamper_one_character(tmp_path / "mine.json")
    checked = patentpool("licence", "check", changed.name, "--block-hash", trusted, "--json")
    assert checked.returncode == 1, checked.stderr
    verdict = json.loads(checked.stdout)
    assert (verdict["verdict"], verdict["failed"].split(" of ")[0]) == ("INVALID", "account proof")

    other = "0x" + "ab" * 32
    checked = patentpool("licence", "check", "mine.json", "--block-hash", other)
    assert checked.returncode == 1
    assert "INVALID (header): the header hashes to" in " ".join(checked.stdout.split())
    assert patentpool("licence", "check", "missing.json", "--block-hash", other).returncode == 2
    refused = patentpool("licence", "certify", "--pool", claim["pool"], "--licensee", claim["licensee"],
                         "--asset", "9999")  # fmt: skip
    assert refused.returncode == 2
    assert " ".join(refused.stderr.split()).startswith("error: asset 9999 does not exist")
    assert "Traceback" not in refused.stderr

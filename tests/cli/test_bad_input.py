"""Bad input to the `patentpool` command: one clear line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eth_typing import HexStr

from registry.node import AnvilNode
from tests.indexer.proxy import RangeRecorder


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "patentpool", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    message = " ".join(lines)
    assert message.startswith("error:"), result.stderr
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_deploy_to_an_unreachable_rpc_fails_with_a_clear_error(tmp_path: Path) -> None:
    result = run("deploy", "--rpc", "http://127.0.0.1:9", "--deployments-dir", str(tmp_path))
    assert_clean_failure(result, "no Ethereum node answers at http://127.0.0.1:9")
    assert not list(tmp_path.iterdir())


_KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("command", [["deploy"], ["index"], ["status"]])
def test_an_api_key_in_an_unreachable_rpc_url_is_not_shown(tmp_path: Path, command: list[str]) -> None:
    result = run(*command, "--rpc", f"http://127.0.0.1:9/v3/{_KEY}", "--deployments-dir", str(tmp_path))
    assert_clean_failure(result, "no Ethereum node answers at http://127.0.0.1:9/v3/***")
    assert _KEY not in result.stdout + result.stderr


def test_an_rpc_url_with_a_key_is_shown_without_it(anvil: AnvilNode, tmp_path: Path) -> None:
    deployed = run("deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), "--json")
    assert deployed.returncode == 0, deployed.stderr
    db = {"DATABASE_URL": f"sqlite:///{tmp_path / 'index.db'}"}
    # anvil answers at / only: its HTTP error names the whole URL, key and all.
    refused = run("index", "--rpc", f"{anvil.url}/v3/{_KEY}", "--deployments-dir", str(tmp_path), env=db)
    assert_clean_failure(refused, f"no Ethereum node answers at {anvil.url}/v3/***", "Not Found for url")
    assert _KEY not in refused.stdout + refused.stderr
    with RangeRecorder(anvil.url) as provider:  # a provider that takes the key in its path
        args = ("index", "--rpc", f"{provider.url}/v3/{_KEY}", "--deployments-dir", str(tmp_path), "--json")
        result = run(*args, env=db)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rpc"] == f"{provider.url}/v3/***"
    assert _KEY not in result.stdout + result.stderr


def test_deploy_to_a_non_http_rpc_fails_with_a_clear_error(tmp_path: Path) -> None:
    result = run("deploy", "--rpc", "localhost:8545", "--deployments-dir", str(tmp_path))
    assert_clean_failure(result, "not an http(s):// URL")


def test_deploy_to_the_wrong_chain_fails_and_deploys_nothing(anvil: AnvilNode, tmp_path: Path) -> None:
    w3 = anvil.web3()
    before = w3.eth.block_number
    result = run("deploy", "--rpc", anvil.url, "--chain-id", "1", "--deployments-dir", str(tmp_path))
    assert_clean_failure(result, "serves chain 31337", "chain 1 was expected")
    assert w3.eth.block_number == before


@pytest.mark.parametrize(
    "key",
    ["0x1234", "not-a-key", "0x" + "zz" * 32, "0x" + "00" * 32],
    ids=["short", "words", "non-hex", "zero"],
)
def test_deploy_with_a_malformed_key_fails_without_echoing_it(anvil: AnvilNode, tmp_path: Path, key: str) -> None:
    w3 = anvil.web3()
    before = w3.eth.block_number
    result = run("deploy", "--rpc", anvil.url, "--private-key", key, "--deployments-dir", str(tmp_path))
    assert_clean_failure(result, "private key")
    if len(key) > 6:
        assert key not in result.stderr + result.stdout
    assert w3.eth.block_number == before


def test_a_malformed_key_from_the_environment_is_refused_too(anvil: AnvilNode, tmp_path: Path) -> None:
    result = run(
        "deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), env={"PATENTPOOL_PRIVATE_KEY": "0xabc"}
    )
    assert_clean_failure(result, "private key is malformed")


def test_deploy_without_artifacts_fails_and_names_the_fix(anvil: AnvilNode, tmp_path: Path) -> None:
    empty = tmp_path / "no-artifacts"
    empty.mkdir()
    result = run(
        "deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), env={"PATENTPOOL_ARTIFACTS_DIR": str(empty)}
    )
    assert_clean_failure(result, "missing contract artifact", "patentpool compile")


def test_a_wrong_keystore_password_is_refused(anvil: AnvilNode, tmp_path: Path) -> None:
    from eth_account import Account

    keystore = tmp_path / "key.json"
    keystore.write_text(
        json.dumps(Account.encrypt(HexStr("0x" + "42" * 32), "right horse", kdf="pbkdf2", iterations=2))
    )
    result = run(
        "deploy",
        "--rpc",
        anvil.url,
        "--keystore",
        str(keystore),
        "--deployments-dir",
        str(tmp_path),
        env={"PATENTPOOL_KEYSTORE_PASSWORD": "wrong battery"},
    )
    assert_clean_failure(result, "wrong password for keystore")


def test_status_with_a_manifest_of_another_chain_fails(anvil: AnvilNode, tmp_path: Path) -> None:
    manifest = tmp_path / "1.json"
    manifest.write_text(json.dumps({"chainId": 1, "deployer": "0x" + "00" * 20, "contracts": {}}))
    result = run("status", "--rpc", anvil.url, "--deployment", str(manifest))
    assert_clean_failure(result, "serves chain 31337", "chain 1 was expected")


def test_status_without_a_manifest_fails_and_names_the_fix(anvil: AnvilNode, tmp_path: Path) -> None:
    result = run("status", "--rpc", anvil.url, "--deployments-dir", str(tmp_path))
    assert_clean_failure(result, "no deployment manifest", "patentpool deploy")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0x123", "is not an Ethereum address"),
        ("0xAbCdEf0000000000000000000000000000000001", "broken checksum"),
    ],
)
def test_licence_verify_rejects_malformed_addresses(anvil: AnvilNode, value: str, fragment: str) -> None:
    result = run("licence", "verify", "--rpc", anvil.url, "--pool", value, "--licensee", value, "--asset", "1")
    assert_clean_failure(result, fragment)


def test_licence_verify_against_an_address_without_code_fails(anvil: AnvilNode) -> None:
    nobody = "0x" + "00" * 19 + "01"
    result = run("licence", "verify", "--rpc", anvil.url, "--pool", nobody, "--licensee", nobody, "--asset", "1")
    assert_clean_failure(result, "no contract at pool address")


def test_an_unknown_option_is_a_usage_error_with_exit_code_2() -> None:
    result = run("deploy", "--no-such-option")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such option" in result.stderr


def test_deploying_twice_keeps_the_first_manifest_unless_forced(
    anvil: AnvilNode, snapshot: None, tmp_path: Path
) -> None:
    w3 = anvil.web3()
    first = run("deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), "--json")
    assert first.returncode == 0, first.stderr
    manifest = tmp_path / "31337.json"
    before, block = manifest.read_text(), w3.eth.block_number
    again = run("deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path))
    assert_clean_failure(again, f"{manifest} already records a deployment on chain 31337", "--force")
    assert manifest.read_text() == before
    assert w3.eth.block_number == block
    assert sorted(p.name for p in tmp_path.iterdir()) == ["31337.json"]
    forced = run("deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    kept = Path(json.loads(forced.stdout)["previousManifest"])
    assert kept.parent == tmp_path
    assert re.fullmatch(r"31337\.\d{8}T\d{6}Z\.json", kept.name), kept.name
    assert kept.read_text() == before
    assert json.loads(manifest.read_text())["contracts"] != json.loads(before)["contracts"]


def _keystore_deploy(anvil: AnvilNode, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(
        "deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), *extra,
        env={"PATENTPOOL_KEYSTORE_PASSWORD": "pw"},
    )  # fmt: skip


def test_a_missing_keystore_file_is_said_to_be_missing(anvil: AnvilNode, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    # Without a password too: the file is looked at before any password is asked for.
    result = run("deploy", "--rpc", anvil.url, "--deployments-dir", str(tmp_path), "--keystore", str(missing))
    assert_clean_failure(result, f"keystore file not found: {missing}")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"address": "0x00", "version": 3}', "is not an Ethereum keystore"),
        ("[1, 2, 3]", "is not an Ethereum keystore"),
        ("not json at all", "is not a readable JSON keystore"),
        ("\udcff\udcfe", "is not a readable JSON keystore: it is not text"),
    ],
    ids=["json-without-crypto", "json-list", "text", "binary"],
)
def test_a_garbage_keystore_is_said_not_to_be_a_keystore(
    anvil: AnvilNode, tmp_path: Path, content: str, fragment: str
) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_bytes(content.encode("utf-8", "surrogateescape"))
    w3 = anvil.web3()
    block = w3.eth.block_number
    assert_clean_failure(_keystore_deploy(anvil, tmp_path, "--keystore", str(keystore)), f"{keystore}", fragment)
    assert w3.eth.block_number == block


def test_a_key_and_a_keystore_together_are_refused(anvil: AnvilNode, tmp_path: Path) -> None:
    from eth_account import Account

    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(HexStr("0x" + "42" * 32), "pw", kdf="pbkdf2", iterations=2)))
    w3 = anvil.web3()
    block = w3.eth.block_number
    result = _keystore_deploy(anvil, tmp_path, "--keystore", str(keystore), "--private-key", "0x" + "43" * 32)
    assert_clean_failure(result, "give --private-key or --keystore, not both")
    assert "43" * 32 not in result.stderr
    assert w3.eth.block_number == block
    assert not (tmp_path / "31337.json").exists()

"""Local nodes start and stop cleanly; signing keys come from the right place, never leak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_typing import HexStr

from registry.errors import SigningKeyError
from registry.keys import account_from_key, load_keystore, resolve_signer
from registry.node import ANVIL_DEV_KEYS, start_anvil

SECRET = "0x" + "5a" * 32


def test_anvil_starts_on_a_free_local_port_and_stops_cleanly() -> None:
    node = start_anvil(chain_id=4242)
    try:
        assert node.url.startswith("http://127.0.0.1:")
        assert node.web3().eth.chain_id == 4242
    finally:
        node.stop()
    assert node.process.poll() is not None
    node.stop()  # idempotent


def test_an_explicit_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTPOOL_PRIVATE_KEY", ANVIL_DEV_KEYS[1])
    assert resolve_signer(31337, SECRET).key.hex() == SECRET[2:]
    assert resolve_signer(31337).address == Account.from_key(ANVIL_DEV_KEYS[1]).address


def test_local_chains_fall_back_to_the_first_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATENTPOOL_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("PATENTPOOL_KEYSTORE", raising=False)
    assert resolve_signer(31337).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_other_chains_need_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATENTPOOL_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("PATENTPOOL_KEYSTORE", raising=False)
    with pytest.raises(SigningKeyError, match="no signing key for chain 11155111"):
        resolve_signer(11155111)


def test_development_keys_are_refused_off_local_chains() -> None:
    with pytest.raises(SigningKeyError, match="refusing a public anvil development key on chain 1"):
        account_from_key(ANVIL_DEV_KEYS[0], chain_id=1)


def test_a_keystore_decrypts_with_its_password_and_errors_never_show_the_key(tmp_path: Path) -> None:
    path = tmp_path / "operator.json"
    path.write_text(json.dumps(Account.encrypt(HexStr(SECRET), "pw", kdf="pbkdf2", iterations=2)))
    assert load_keystore(path, "pw").key.hex() == SECRET[2:]
    with pytest.raises(SigningKeyError) as wrong:
        load_keystore(path, "not it")
    assert SECRET[2:] not in str(wrong.value)
    with pytest.raises(SigningKeyError, match="keystore file not found"):
        load_keystore(tmp_path / "missing.json", "pw")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(SigningKeyError, match="not a readable JSON keystore"):
        load_keystore(tmp_path / "junk.json", "pw")


def test_deploy_refuses_the_development_key_on_a_non_local_chain(tmp_path: Path) -> None:
    node = start_anvil(chain_id=11155111)
    try:
        before = node.web3().eth.block_number
        result = subprocess.run(
            [sys.executable, "-m", "patentpool", "deploy", "--rpc", node.url, "--private-key", ANVIL_DEV_KEYS[0],
             "--deployments-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert "refusing a public anvil development key on chain 11155111" in result.stderr
        assert ANVIL_DEV_KEYS[0] not in result.stderr + result.stdout
        assert node.web3().eth.block_number == before
    finally:
        node.stop()


def test_deploy_signs_with_a_keystore_on_a_non_local_chain(tmp_path: Path) -> None:
    node = start_anvil(chain_id=11155111)
    try:
        w3 = node.web3()
        operator = Account.from_key(SECRET)
        w3.provider.make_request("anvil_setBalance", [operator.address, hex(10**20)])  # type: ignore[arg-type]
        keystore = tmp_path / "operator.json"
        keystore.write_text(json.dumps(Account.encrypt(HexStr(SECRET), "pw", kdf="pbkdf2", iterations=2)))
        result = subprocess.run(
            [sys.executable, "-m", "patentpool", "deploy", "--rpc", node.url, "--keystore", str(keystore), "--json",
             "--deployments-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=120, check=False,
            env={"PATH": "/usr/bin:/bin", "PATENTPOOL_KEYSTORE_PASSWORD": "pw"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        manifest = json.loads(result.stdout)
        assert manifest["chainId"] == 11155111
        assert manifest["deployer"] == operator.address
        assert "TestStablecoin" not in manifest["contracts"]  # not a local chain
        assert SECRET[2:] not in result.stdout + result.stderr
    finally:
        node.stop()

"""The issue's acceptance path: after `patentpool deploy --json`, any web3 client using only the
committed ABIs and the manifest can create a pool, qualify an asset, join and rely on
`isLicensed` — true for the member, false once the asset is suspended."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.logs import DISCARD

from registry.node import ANVIL_DEV_KEYS, AnvilNode

ROOT = Path(__file__).resolve().parents[2]


def abi(name: str) -> list[dict[str, Any]]:
    return json.loads((ROOT / "registry" / "artifacts" / f"{name}.json").read_text())["abi"]  # type: ignore[no-any-return]


def test_a_plain_web3_client_can_run_a_pool_from_the_manifest(anvil: AnvilNode, snapshot: None, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "patentpool",
            "deploy",
            "--rpc",
            anvil.url,
            "--json",
            "--deployments-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest == json.loads((tmp_path / "31337.json").read_text()) | {"manifest": str(tmp_path / "31337.json")}
    assert ANVIL_DEV_KEYS[0] not in result.stdout + result.stderr
    for entry in manifest["contracts"].values():
        assert set(entry) == {"address", "txHash", "blockNumber", "blockHash"}

    w3 = Web3(Web3.HTTPProvider(anvil.url))
    operator, founder, member = (w3.eth.account.from_key(k) for k in ANVIL_DEV_KEYS[:3])

    def send(fn: Any, who: Any) -> Any:
        tx = fn.build_transaction({"from": who.address, "nonce": w3.eth.get_transaction_count(who.address)})
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(who.sign_transaction(tx).raw_transaction)
        )
        assert receipt["status"] == 1
        return receipt

    c = manifest["contracts"]
    factory = w3.eth.contract(address=c["PoolFactory"]["address"], abi=abi("PoolFactory"))
    assets = w3.eth.contract(address=c["PatentAsset"]["address"], abi=abi("PatentAsset"))
    coin = w3.eth.contract(address=c["TestStablecoin"]["address"], abi=abi("TestStablecoin"))

    receipt = send(factory.functions.createPool("LiDAR", 2, "lidar", coin.address, operator.address), operator)
    pool_address = factory.events.PoolCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["pool"]
    pool = w3.eth.contract(address=pool_address, abi=abi("PatentPool"))

    receipt = send(assets.functions.registerFamily("FAM-1", "Solid-state LiDAR", b"\x01" * 32, "ipfs://fam-1"), founder)
    asset_id = assets.events.FamilyRegistered().process_receipt(receipt, errors=DISCARD)[0]["args"]["assetId"]
    t = w3.eth.get_block("latest")["timestamp"]
    for n, office in enumerate((b"US", b"CN")):
        send(assets.functions.addPatent(asset_id, office, f"{office.decode()}-{n}"), founder)
        send(assets.functions.verifyPatent(asset_id, n, 1, t - 1, t + 10**8), operator)
    send(assets.functions.recordEvaluation(asset_id, 7500, b"\x02" * 32, "scorecard-1"), operator)

    send(pool.functions.admitFounder(founder.address), operator)
    send(pool.functions.contribute(asset_id), founder)
    send(pool.functions.setTierFee(0, 500 * 10**6), operator)
    send(pool.functions.activate(), operator)
    send(coin.functions.mint(member.address, 500 * 10**6), member)
    send(coin.functions.approve(pool.address, 500 * 10**6), member)
    send(pool.functions.join(0, 500 * 10**6), member)

    now = w3.eth.get_block("latest")["timestamp"]
    assert pool.functions.isLicensed(member.address, asset_id, now).call() is True
    assert pool.functions.isLicensed(founder.address, asset_id, now).call() is False

    receipt = send(pool.functions.openDispute(asset_id, b"\x03" * 32), member)
    dispute_id = pool.events.DisputeOpened().process_receipt(receipt, errors=DISCARD)[0]["args"]["disputeId"]
    receipt = send(pool.functions.resolveDispute(dispute_id, True, b"\x04" * 32), operator)
    # Suspended from the ruling's second on; before it the answer stays what it was (issue 14,
    # point 5), so the ruling's own time is the one to ask about.
    ruled = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert pool.functions.isLicensed(member.address, asset_id, ruled).call() is False
    assert pool.functions.isLicensed(member.address, asset_id, now).call() is (now < ruled)

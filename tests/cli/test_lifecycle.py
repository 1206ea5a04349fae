"""A pool's whole life through the command (pause, treasury, roles, cancelled offers, dossier
updates, withdrawals, the admin's hand-over, closing), and the sending controls of every write:
`--dry-run` and `--safe-json` send nothing (nonce and balances unchanged), fee caps reach the
transaction, and a timed-out transaction is replaced by rerunning with its nonce."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry.client import role_id
from registry.node import ANVIL_DEV_KEYS
from tests.cli.test_workflow_bad_input import refused, run
from tests.conftest import USDC, World, advance

FOUNDER, MEMBER, OTHER, NEW_ADMIN = 1, 2, 5, 6
DOSSIER = Path(__file__).resolve().parents[2] / "examples" / "dossiers" / "lidar-flash-us-cn.json"


def ok(world: World, manifest: Path, *args: str, who: int = 0) -> subprocess.CompletedProcess[str]:
    result = run(world, manifest, *args, who=who)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def test_a_pool_runs_from_activation_to_closure_with_the_command(
    setup: tuple[World, Path, str, int], tmp_path: Path
) -> None:
    world, manifest, pool, asset_id = setup
    other, new_admin = world.keys[OTHER].address, world.keys[NEW_ADMIN].address

    ok(world, manifest, "pool", "pause", pool)
    assert world.pool.paused()
    assert "already paused" in refused(world, manifest, "pool", "pause", pool)
    ok(world, manifest, "pool", "unpause", pool)
    assert not world.pool.paused()

    ok(world, manifest, "pool", "set-treasury", pool, other)
    assert world.pool.profile()["treasury"] == other

    # Roles by name, on the pool and on the registry; never shown as a hash.
    granted = ok(world, manifest, "role", "grant", "arbiter", other, "--pool", pool)
    assert "granted ARBITER_ROLE to" in granted.stdout
    assert world.pool.has_role("ARBITER_ROLE", other)
    shown = json.loads(ok(world, manifest, "role", "show", other, "--pool", pool, "--json").stdout)
    held = {row["role"] for row in shown["roles"] if row["held"]}
    assert held == {"arbiter"}
    assert "0x" + role_id("ARBITER_ROLE").hex() not in json.dumps(shown)
    ok(world, manifest, "role", "revoke", "arbiter", other, "--pool", pool)
    assert not world.pool.has_role("ARBITER_ROLE", other)
    ok(world, manifest, "role", "grant", "verifier", other)
    assert world.assets.has_role("VERIFIER_ROLE", other)
    message = refused(world, manifest, "role", "grant", "operator", other, "--pool", pool, who=OTHER)
    assert "lacks the role this needs (DEFAULT_ADMIN_ROLE)" in message

    # An offer made, then cancelled.
    ok(world, manifest, "licence", "offer", pool, "--licensee", other, "--price", "10", "--days", "30")
    ok(world, manifest, "licence", "cancel", pool, "1")
    assert not world.pool.offer(1)["open"]
    assert "already accepted or cancelled" in refused(world, manifest, "licence", "cancel", pool, "1")

    # A dossier registered, then updated by its owner (same family, new content).
    registered = json.loads(ok(world, manifest, "asset", "register", str(DOSSIER), "--json", who=FOUNDER).stdout)
    new_id = registered["assetId"]
    revised = tmp_path / "revised.json"
    document = json.loads(DOSSIER.read_text())
    document["title"] += " (revised claims)"
    revised.write_text(json.dumps(document))
    ok(world, manifest, "asset", "update-dossier", str(new_id), str(revised), who=FOUNDER)
    family = world.assets.family(new_id)
    assert family["dossierURI"].startswith("sha256:")
    from registry.dossier import dossier_hash

    assert family["dossierHash"] == dossier_hash(revised)

    # The founder withdraws its asset: announced, refused before the notice runs out, completed after.
    announced = json.loads(
        ok(world, manifest, "pool", "announce-withdrawal", pool, str(asset_id), "--json", who=FOUNDER).stdout
    )
    message = refused(world, manifest, "pool", "complete-withdrawal", pool, str(asset_id), who=MEMBER)
    assert f"the withdrawal of asset {asset_id} is not due until" in message
    advance(world.w3, announced["effectiveAt"] - int(world.w3.eth.get_block("latest")["timestamp"]) + 1)
    ok(world, manifest, "pool", "complete-withdrawal", pool, str(asset_id), who=MEMBER)
    assert world.pool.pool_asset(asset_id)["withdrawnAt"] > 0

    # The admin role changes hands in two steps.
    ok(world, manifest, "pool", "transfer-admin", pool, new_admin)
    assert "offered to" in refused(world, manifest, "pool", "accept-admin", pool, who=OTHER)
    ok(world, manifest, "pool", "accept-admin", pool, who=NEW_ADMIN)
    assert world.pool.default_admin()["admin"] == new_admin

    ok(world, manifest, "pool", "close", pool)
    assert world.pool.profile()["lifecycle"] == 2


# --- --dry-run and --safe-json ----------------------------------------------------------------------


def _state(world: World) -> tuple[int, list[int], list[int], list[int]]:
    accounts = [world.keys[i].address for i in (0, FOUNDER, MEMBER)]
    return (
        int(world.w3.eth.block_number),
        [int(world.w3.eth.get_transaction_count(a, "pending")) for a in accounts],
        [int(world.w3.eth.get_balance(a)) for a in accounts],
        [world.coin.balance_of(a) for a in accounts],
    )


@pytest.mark.parametrize(
    ("args", "who", "calls"),
    [
        (("pool", "pause", "{pool}"), 0, ["PatentPool.pause"]),
        (
            ("pool", "configure", "{pool}", "--tier-fee", "startup=600", "--tier-fee", "sme=2000"),
            0,
            ["PatentPool.setTierFee", "PatentPool.setTierFee"],
        ),
        (("member", "join", "{pool}", "--tier", "startup"), MEMBER, ["TestStablecoin.approve", "PatentPool.join"]),
        (("role", "grant", "evaluator", "{other}"), 0, ["PatentAsset.grantRole"]),
        (("asset", "register", str(DOSSIER)), FOUNDER, ["PatentAsset.registerFamily"] + ["PatentAsset.addPatent"] * 4),
        (("token", "mint", "--amount", "5"), MEMBER, ["TestStablecoin.mint"]),
        (("pool", "create", "--name", "Dry", "--kind", "technology", "--field", "f"), 0, ["PoolFactory.createPool"]),
    ],
    ids=["pause", "configure", "join-with-approval", "role", "register-with-patents", "mint", "create"],
)
def test_a_dry_run_prints_the_decoded_calls_and_sends_nothing(
    setup: tuple[World, Path, str, int], args: tuple[str, ...], who: int, calls: list[str]
) -> None:
    world, manifest, pool, _ = setup
    world.coin.mint(world.keys[MEMBER].address, 500 * USDC)
    before = _state(world)
    filled = [a.format(pool=pool, other=world.keys[OTHER].address) for a in args]
    result = ok(world, manifest, *filled, "--dry-run", "--json", who=who)
    plan = json.loads(result.stdout)
    assert _state(world) == before, "a dry run sent something"
    assert plan["sent"] is False and plan["from"] == world.keys[who].address
    assert [f"{c['contract']}.{c['function']}" for c in plan["calls"]] == calls
    assert all(c["gas"] > 20_000 for c in plan["calls"])
    assert plan["totalGas"] == sum(c["gas"] for c in plan["calls"])
    text = ok(world, manifest, *filled, "--dry-run", who=who).stdout
    assert "dry run, nothing was sent" in text and calls[-1].split(".")[1] + "(" in text
    assert ANVIL_DEV_KEYS[who] not in text + result.stdout
    assert _state(world) == before


def test_a_dry_run_shows_the_arguments_decoded(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    plan = json.loads(
        ok(world, manifest, "pool", "configure", pool, "--tier-fee", "sme=2000", "--dry-run", "--json").stdout
    )
    assert plan["calls"][0]["args"] == {"tier": 1, "annualFee": 2000 * USDC}
    assert plan["calls"][0]["to"] == pool


def test_a_dry_run_of_a_refused_call_is_refused_and_sends_nothing(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    message = refused(world, manifest, "pool", "pause", pool, "--dry-run", who=MEMBER)
    assert "lacks the role this needs (OPERATOR_ROLE)" in message


def test_safe_json_writes_a_transaction_builder_batch_and_signs_nothing(
    setup: tuple[World, Path, str, int], tmp_path: Path
) -> None:
    world, manifest, pool, _ = setup
    operator = world.keys[0].address  # stands in for the Safe that holds the operator role
    before = _state(world)
    batch_file = tmp_path / "batch.json"
    result = ok(
        world, manifest, "pool", "configure", pool, "--tier-fee", "sme=2000", "--operator-share", "1500",
        "--safe-json", str(batch_file), "--from", operator, who=-1,
    )  # fmt: skip
    assert _state(world) == before
    assert f"wrote 2 call(s) for the Safe {operator} to {batch_file}" in " ".join(result.stdout.split())
    batch = json.loads(batch_file.read_text())
    assert batch["version"] == "1.0" and batch["chainId"] == "31337"
    assert batch["meta"]["createdFromSafeAddress"] == operator
    from patentpool.sending import batch_checksum

    assert batch["meta"]["checksum"] == batch_checksum(batch)
    first, second = batch["transactions"]
    assert first["to"] == pool and first["value"] == "0"
    assert first["data"] == world.pool.contract.encode_abi("setTierFee", args=[1, 2000 * USDC])
    assert first["contractMethod"]["name"] == "setTierFee"
    assert first["contractInputsValues"] == {"tier": "1", "annualFee": str(2000 * USDC)}
    assert second["contractMethod"]["name"] == "setOperatorShare"
    # The batch, executed by the Safe (here: sent as the operator), does what the command said.
    for tx in batch["transactions"]:
        world.w3.eth.send_transaction({"from": operator, "to": tx["to"], "data": tx["data"]})
    assert world.pool.pending_change(5)["value"] == 2000 * USDC


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--safe-json", "x.json"), "--safe-json needs --from SAFE"),
        (("--from", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), "--from is for --dry-run and --safe-json"),
        (("--dry-run", "--safe-json", "x.json", "--from", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
         "give --dry-run or --safe-json, not both"),
        (("--dry-run", "--from", "0x123"), "'0x123' is not an Ethereum address"),
        (("--max-fee-per-gas", "1", "--max-priority-fee-per-gas", "2"), "tip cannot exceed the fee cap"),
        (("--max-fee-per-gas", "3e9"), "is not a plain decimal amount"),
        (("--max-fee-per-gas", "0"), "--max-fee-per-gas must be more than zero"),
        (("--max-fee-per-gas", "0.0000000001"), "more than 9 decimal places"),
        (("--nonce", "0"), "nonce 0 of 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 is already used"),
        (("--confirmations", "0"), "Invalid value for '--confirmations'"),
    ],
)  # fmt: skip
def test_bad_sending_options_are_refused_and_nothing_is_sent(
    setup: tuple[World, Path, str, int], extra: tuple[str, ...], fragment: str, tmp_path: Path
) -> None:
    world, manifest, pool, _ = setup
    before = _state(world)
    args = [str(tmp_path / a) if a.endswith(".json") else a for a in extra]
    result = run(world, manifest, "pool", "pause", pool, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert fragment in " ".join(result.stderr.split()), result.stderr
    assert _state(world) == before
    assert not world.pool.paused()
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("role", "grant", "janitor", "{other}"), "unknown role 'janitor'"),
        (("role", "grant", "operator", "{other}"), "the operator role is a pool's: say which with --pool"),
        (("role", "grant", "verifier", "{other}", "--pool", "{pool}"), "held on the PatentAsset registry"),
        (("role", "revoke", "arbiter", "{other}", "--pool", "{pool}"), "does not hold ARBITER_ROLE"),
        (("role", "grant", "operator", "{me}", "--pool", "{pool}"), "already holds OPERATOR_ROLE"),
        (("pool", "set-treasury", "{pool}", "0x" + "00" * 20), "cannot be the zero address"),
        (("pool", "set-treasury", "{pool}", "{me}"), "is already the treasury"),
        (("pool", "unpause", "{pool}"), "is not paused"),
        (("pool", "complete-withdrawal", "{pool}", "{asset}"), "was never announced"),
        (("pool", "announce-withdrawal", "{pool}", "999"), "asset 999 is not in pool"),
        (("pool", "accept-admin", "{pool}"), "is offered to nobody"),
        (("licence", "cancel", "{pool}", "7"), "offer 7 does not exist"),
        (("asset", "update-dossier", "{asset}", str(DOSSIER)), "is the dossier of family '70512233'"),
        (("asset", "reject-patent", "{asset}", "9", "--reason", "x"), "has no patent 9"),
        (("pool", "configure", "{pool}", "--max-licence-days", "0"), "Invalid value for '--max-licence-days'"),
    ],
)  # fmt: skip
def test_lifecycle_commands_refuse_bad_input_and_send_nothing(
    setup: tuple[World, Path, str, int], args: tuple[str, ...], fragment: str
) -> None:
    world, manifest, pool, asset_id = setup
    before = _state(world)
    filled = [
        a.format(pool=pool, other=world.keys[OTHER].address, me=world.keys[0].address, asset=asset_id) for a in args
    ]
    result = run(world, manifest, *filled)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert fragment in " ".join(result.stderr.split()), result.stderr
    assert _state(world) == before


# --- fees, confirmations, timeouts and nonces -------------------------------------------------------


def test_fee_caps_reach_the_transaction(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    result = ok(
        world, manifest, "pool", "pause", pool, "--max-fee-per-gas", "7.5", "--max-priority-fee-per-gas", "1.25",
        "--json",
    )  # fmt: skip
    tx = world.w3.eth.get_transaction(json.loads(result.stdout)["tx"]["txHash"])
    assert tx["maxFeePerGas"] == 7_500_000_000
    assert tx["maxPriorityFeePerGas"] == 1_250_000_000


def test_waiting_for_confirmations_times_out_with_a_clear_message(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    # anvil mines only when a transaction comes: the second confirmation never arrives.
    result = run(world, manifest, "pool", "pause", pool, "--confirmations", "2", "--timeout", "2")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "has 1 of 2 confirmations after 2 s" in message, message
    assert world.pool.paused()  # it was sent and mined; only the wait gave up


def test_a_timed_out_transaction_is_replaced_by_rerunning_with_its_nonce(
    setup: tuple[World, Path, str, int],
) -> None:
    world, manifest, pool, _ = setup
    w3 = world.w3
    operator = world.keys[0].address
    nonce = int(w3.eth.get_transaction_count(operator))
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        stuck = run(world, manifest, "pool", "pause", pool, "--timeout", "2")
        assert stuck.returncode == 2, stuck.stderr
        message = " ".join(stuck.stderr.split())
        assert f"nonce {nonce}) was sent but not mined within 2 s" in message, message
        assert f"rerunning with --nonce {nonce}" in message
        # The retry reuses the nonce with higher fees; a block is mined while it waits.
        retry = subprocess.Popen(
            [sys.executable, "-m", "patentpool", "pool", "pause", pool, "--deployment", str(manifest),
             "--nonce", str(nonce), "--max-fee-per-gas", "100", "--max-priority-fee-per-gas", "10", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**_env(world), "PATENTPOOL_PRIVATE_KEY": ANVIL_DEV_KEYS[0]},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while retry.poll() is None and time.monotonic() < deadline:
            content = w3.provider.make_request("txpool_content", [])  # type: ignore[arg-type]
            # txpool_content names senders in whatever case the node likes (anvil: lower case).
            pending = [
                tx
                for sender, txs in content["result"]["pending"].items()
                if sender.lower() == operator.lower()
                for tx in txs.values()
            ]
            if any(int(tx["maxPriorityFeePerGas"], 16) == 10 * 10**9 for tx in pending):
                break
            time.sleep(0.2)
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        stdout, stderr = retry.communicate(timeout=60)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert retry.returncode == 0, stderr
    mined = w3.eth.get_transaction(json.loads(stdout)["tx"]["txHash"])
    assert mined["nonce"] == nonce and mined["maxPriorityFeePerGas"] == 10 * 10**9
    assert int(w3.eth.get_transaction_count(operator)) == nonce + 1  # one transaction, not two
    assert world.pool.paused()


def _env(world: World) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    env["PATENTPOOL_RPC_URL"] = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    return env


def test_a_suspended_asset_cannot_be_announced_for_withdrawal(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, asset_id = setup
    dispute = world.pool_as(FOUNDER).open_dispute(asset_id, b"\x01" * 32).value
    world.pool.resolve_dispute(dispute, True, b"\x02" * 32)
    message = refused(world, manifest, "pool", "announce-withdrawal", pool, str(asset_id), who=FOUNDER)
    assert f"asset {asset_id} is suspended by an upheld dispute" in message


def test_the_longest_licence_is_an_announced_change(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    result = ok(world, manifest, "pool", "configure", pool, "--max-licence-days", "730", "--json")
    change = json.loads(result.stdout)["changes"][0]
    assert change["setting"] == "maxLicenceLength" and change["effectiveAt"]
    assert world.pool.pending_change(2) == {"value": 730 * 86_400, "effectiveAt": change["effectiveAt"]}


def test_a_dry_run_deploy_writes_no_manifest_and_sends_nothing(
    setup: tuple[World, Path, str, int], tmp_path: Path
) -> None:
    world, manifest, _, _ = setup
    before = _state(world)
    directory = tmp_path / "fresh"
    result = run(world, manifest, "deploy", "--deployments-dir", str(directory), "--dry-run", "--json")
    # run() appends --deployment, which deploy does not take: call it directly instead.
    if result.returncode == 2 and "No such option" in result.stderr:
        result = subprocess.run(
            [sys.executable, "-m", "patentpool", "deploy", "--deployments-dir", str(directory), "--dry-run", "--json"],
            capture_output=True, text=True, env={**_env(world), "PATENTPOOL_PRIVATE_KEY": ANVIL_DEV_KEYS[0]},
            timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [c["contract"] for c in plan["calls"]] == [
        "PatentAsset",
        "PatentPoolDisputes",
        "PatentPool",
        "PoolFactory",
        "PatentAsset",
        "TestStablecoin",
    ]
    creations = [c for i, c in enumerate(plan["calls"]) if i != 4]
    assert all(c["function"] == "constructor" and c["creates"] for c in creations)
    asset, disputes, pool, factory = (call["creates"] for call in plan["calls"][:4])
    assert plan["calls"][2]["args"]["disputes"] == disputes
    assert plan["calls"][3]["args"]["implementation_"] == pool
    assert plan["calls"][3]["args"]["assetRegistry_"] == asset
    # The factory may register its pools with the asset registry (issue 14, point 2).
    grant = plan["calls"][4]
    assert grant["function"] == "grantRole" and grant["to"] == asset
    assert grant["args"]["account"] == factory
    assert not directory.exists()
    assert _state(world) == before


@pytest.mark.parametrize(
    ("key_from", "keystore_from", "signer"),
    [("env", "option", "keystore"), ("option", "env", "key"), ("env", "env", "key")],
)
def test_an_explicit_key_or_keystore_wins_over_the_environment(
    setup: tuple[World, Path, str, int], tmp_path: Path, key_from: str, keystore_from: str, signer: str
) -> None:
    from eth_account import Account
    from eth_typing import HexStr

    world, manifest, _, _ = setup
    keystore = tmp_path / "member.json"
    keystore.write_text(json.dumps(Account.encrypt(HexStr(ANVIL_DEV_KEYS[MEMBER]), "pw", kdf="pbkdf2", iterations=2)))
    env = {**_env(world), "PATENTPOOL_KEYSTORE_PASSWORD": "pw"}
    args = ["token", "mint", "--amount", "1", "--dry-run", "--json", "--deployment", str(manifest)]
    if key_from == "env":
        env["PATENTPOOL_PRIVATE_KEY"] = ANVIL_DEV_KEYS[FOUNDER]
    else:
        args += ["--private-key", ANVIL_DEV_KEYS[FOUNDER]]
    if keystore_from == "env":
        env["PATENTPOOL_KEYSTORE"] = str(keystore)
    else:
        args += ["--keystore", str(keystore)]
    result = subprocess.run(
        [sys.executable, "-m", "patentpool", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    expected = world.keys[MEMBER if signer == "keystore" else FOUNDER].address
    assert json.loads(result.stdout)["from"] == expected


def test_the_safe_batch_checksum_is_the_transaction_builders() -> None:
    """Known answer: a batch exported by the Safe Transaction Builder 1.18.2 with its checksum."""
    from patentpool.sending import batch_checksum

    batch = {
        "version": "1.0",
        "chainId": "1",
        "createdAt": 1761326849944,
        "meta": {
            "name": "Transactions Batch",
            "description": "",
            "txBuilderVersion": "1.18.2",
            "createdFromSafeAddress": "0xA77DE01e157f9f57C7c4A326eeE9C4874D0598b6",
            "createdFromOwnerAddress": "",
            "checksum": "0x8b5032f716845c8b08bab3d63dbd9ba92e056f3557793cd041e59b84e16aa989",
        },
        "transactions": [
            {
                "to": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                "value": "0",
                "data": None,
                "contractMethod": {
                    "inputs": [
                        {"internalType": "address", "name": "spender", "type": "address"},
                        {"internalType": "uint256", "name": "value", "type": "uint256"},
                    ],
                    "name": "approve",
                    "payable": False,
                },
                "contractInputsValues": {
                    "spender": "0x474e5Ded6b5D078163BFB8F6dBa355C3aA5478C8",
                    "value": "100000000000",
                },
            }
        ],
    }
    assert batch_checksum(batch) == batch["meta"]["checksum"]  # type: ignore[index]

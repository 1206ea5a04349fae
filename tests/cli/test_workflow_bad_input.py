"""The operator and member commands refuse bad input with one clear line and exit code 2,
never a traceback, and send nothing to the chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_typing import HexStr

from registry.deploy import write_deployment
from registry.node import ANVIL_DEV_KEYS
from tests.conftest import USDC, World

FOUNDER, MEMBER, STRANGER = 1, 2, 3


@pytest.fixture
def setup(world: World, tmp_path: Path) -> tuple[World, Path, str, int]:
    """An active pool with a startup fee of 500, one contributed asset, and a manifest file."""
    asset_id = world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, 500 * USDC)
    world.pool.activate()
    manifest = write_deployment(world.deployment, tmp_path / "deployments")
    return world, manifest, world.pool.address, asset_id


def run(
    world: World, manifest: Path, *args: str, who: int = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    full_env["PATENTPOOL_RPC_URL"] = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    if who >= 0:
        full_env["PATENTPOOL_PRIVATE_KEY"] = ANVIL_DEV_KEYS[who]
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "patentpool", *args, "--deployment", str(manifest)],
        capture_output=True, text=True, env=full_env, timeout=120, check=False,
    )  # fmt: skip


def refused(world: World, manifest: Path, *args: str, who: int = 0, env: dict[str, str] | None = None) -> str:
    """Run a command that must fail cleanly without touching the chain; return its message."""
    block = world.w3.eth.block_number
    result = run(world, manifest, *args, who=who, env=env)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith("error:"), message
    assert world.w3.eth.block_number == block, "a refused command sent a transaction"
    return message


def test_a_malformed_address_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    assert "'0x123' is not an Ethereum address" in refused(world, manifest, "member", "show", pool, "0x123")


def test_a_checksum_broken_address_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    broken = pool[:2] + pool[2:].swapcase()
    if broken.lower() == broken or broken.upper()[2:] == broken[2:]:
        broken = pool[:-1] + ("a" if pool[-1] != "a" else "b")
    assert "broken checksum" in refused(world, manifest, "pool", "show", broken)


def test_an_unknown_pool_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, _, _ = setup
    message = refused(world, manifest, "pool", "show", world.coin.address)
    assert f"{world.coin.address} is not a pool of the PoolFactory" in message


def test_contributing_an_asset_someone_else_owns_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    world.pool.admit_founder(world.keys[STRANGER].address)
    asset_id = world.family(FOUNDER, {"US": 1, "CN": 1})
    message = refused(world, manifest, "pool", "contribute", pool, str(asset_id), who=STRANGER)
    assert "the contract refused: PatentPoolNotAssetOwner" in message
    assert (
        f"asset {asset_id} belongs to {world.keys[FOUNDER].address}, not to {world.keys[STRANGER].address}" in message
    )


def test_an_unqualified_asset_is_refused_in_plain_words(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    asset_id = world.family(FOUNDER, {"US": 1, "EP": 1})
    message = refused(world, manifest, "pool", "contribute", pool, str(asset_id), who=FOUNDER)
    assert (
        f"asset {asset_id} has 1 verified grant(s) in the pool's required jurisdictions; this pool needs 2" in message
    )


def test_joining_without_enough_tokens_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    message = refused(world, manifest, "member", "join", pool, "--tier", "startup", who=MEMBER)
    assert "holds 0.00 of the payment token; joining costs 500.00" in message


def test_joining_without_allowance_is_refused_when_approval_is_off(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    world.coin.mint(world.keys[MEMBER].address, 500 * USDC)
    message = refused(world, manifest, "member", "join", pool, "--tier", "startup", "--no-approve", who=MEMBER)
    assert "the pool may spend 0.00 of your payment token; joining costs 500.00" in message


def test_a_fee_above_max_fee_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    message = refused(world, manifest, "member", "join", pool, "--tier", "startup", "--max-fee", "499.99", who=MEMBER)
    assert "above your --max-fee" in message


def test_a_wrong_keystore_password_is_refused(setup: tuple[World, Path, str, int], tmp_path: Path) -> None:
    world, manifest, pool, _ = setup
    keystore = tmp_path / "member.json"
    keystore.write_text(
        json.dumps(Account.encrypt(HexStr(ANVIL_DEV_KEYS[MEMBER]), "right", kdf="pbkdf2", iterations=2))
    )
    message = refused(
        world, manifest, "member", "join", pool, "--tier", "startup", "--keystore", str(keystore),
        who=-1, env={"PATENTPOOL_KEYSTORE_PASSWORD": "wrong"},
    )  # fmt: skip
    assert "wrong password for keystore" in message


def test_an_unreachable_node_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    message = refused(world, manifest, "pool", "show", pool, env={"PATENTPOOL_RPC_URL": "http://127.0.0.1:9"})
    assert "no Ethereum node answers at http://127.0.0.1:9" in message


def test_joining_a_pool_that_is_not_active_is_refused(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, _, _ = setup
    incubating = world.new_pool("Incubating pool")
    incubating.set_tier_fee(0, 500 * USDC)
    message = refused(world, manifest, "member", "join", incubating.address, "--tier", "startup", who=MEMBER)
    assert "the pool is incubating, not active" in message


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("pool", "create", "--name", "X", "--kind", "planetary", "--field", "f"), "kind 'planetary' is not one"),
        (("pool", "configure", "{pool}", "--tier-fee", "startup=-5"), "is negative"),
        (("pool", "configure", "{pool}", "--tier-fee", "startup=1.0000001"), "more than 6 decimal places"),
        (("pool", "configure", "{pool}", "--tier-fee", "gold=5"), "tier 'gold' is not one of"),
        (("pool", "configure", "{pool}"), "nothing to configure"),
        (("asset", "verify-patent", "1", "0", "--status", "granted"), "a granted patent needs --grant-date"),
        (("licence", "offer", "{pool}", "--licensee", "{me}", "--price", "1", "--days", "1", "--end", "2030-01-01"),
         "give --end or --days, not both"),
        (("dispute", "resolve", "{pool}", "1", "--ruling", "x"), "say --upheld or --dismissed"),
    ],
)  # fmt: skip
def test_malformed_arguments_are_refused(
    setup: tuple[World, Path, str, int], args: tuple[str, ...], fragment: str
) -> None:
    world, manifest, pool, _ = setup
    filled = [a.format(pool=pool, me=world.keys[0].address) for a in args]
    assert fragment in refused(world, manifest, *filled)


def test_a_missing_manifest_is_refused(setup: tuple[World, Path, str, int], tmp_path: Path) -> None:
    world, _, pool, _ = setup
    message = refused(world, tmp_path / "nowhere.json", "pool", "show", pool)
    assert "no deployment manifest at" in message

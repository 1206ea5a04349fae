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

from registry.node import ANVIL_DEV_KEYS
from registry.types import Parameter
from tests.conftest import USDC, World, advance, now

FOUNDER, MEMBER, STRANGER = 1, 2, 3


def apply_announced(world: World) -> None:
    """Wait out the pool's change delay and apply every announced tier-fee change."""
    pending = [
        p
        for p in (Parameter.TIER_FEE_0, Parameter.TIER_FEE_1, Parameter.TIER_FEE_2)
        if world.pool.pending_change(p)["effectiveAt"]
    ]
    if not pending:
        return
    advance(world.w3, max(int(world.pool.pending_change(p)["effectiveAt"]) for p in pending) - now(world.w3) + 1)
    for parameter in pending:
        world.pool.apply_parameter_change(parameter)


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
        (("role", "grant", "janitor", "{me}"), "unknown role 'janitor'"),
        (("pool", "set-treasury", "{pool}", "0x" + "00" * 20), "the treasury cannot be the zero address"),
        (("pool", "pause", "{pool}", "--safe-json", "batch.json"), "--safe-json needs --from SAFE"),
        (("pool", "pause", "{pool}", "--from", "{me}"), "--from is for --dry-run and --safe-json"),
        (("pool", "pause", "{pool}", "--max-fee-per-gas", "1", "--max-priority-fee-per-gas", "2"),
         "the tip cannot exceed the fee cap"),
        (("pool", "pause", "{pool}", "--nonce", "0"), "is already used by a mined transaction"),
        (("licence", "cancel", "{pool}", "9"), "offer 9 does not exist"),
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


# --- amounts are parsed exactly or refused -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("pool", "configure", "{pool}", "--tier-fee", "sme=1e80"), "'1e80' is not a plain decimal amount"),
        (("pool", "configure", "{pool}", "--tier-fee", "startup=600", "--tier-fee", "sme=1e80"), "'1e80'"),
        (("pool", "configure", "{pool}", "--tier-fee", "sme=NaN"), "is not a plain decimal amount"),
        (("pool", "configure", "{pool}", "--tier-fee", "sme=" + "9" * 80), "more than the largest amount"),
        (("pool", "configure", "{pool}", "--tier-fee", f"sme={2**256 // 10**6 + 1}"), "more than the largest amount"),
        (("pool", "configure", "{pool}", "--tier-fee", "sme=0.0000001"), "more than 6 decimal places"),
        (("pool", "configure", "{pool}", "--tier-fee", "sme=1,5"), "has a comma that does not separate thousands"),
        (("pool", "configure", "{pool}", "--tier-fee", "sme=" + "0" * 5000 + "1e3"), "is not a plain decimal amount"),
        (("token", "mint", "--amount", "0"), "--amount must be more than zero"),
        (("token", "mint", "--amount", "0.000"), "--amount must be more than zero"),
        (("token", "mint", "--amount", "-1"), "is negative"),
        (("member", "join", "{pool}", "--tier", "startup", "--max-fee", "5e2"), "is not a plain decimal amount"),
    ],
)  # fmt: skip
def test_amounts_that_are_not_exact_token_amounts_are_refused(
    setup: tuple[World, Path, str, int], args: tuple[str, ...], fragment: str
) -> None:
    world, manifest, pool, _ = setup
    fees = [world.pool.tier_fee(t) for t in range(3)]
    assert fragment in refused(world, manifest, *(a.format(pool=pool) for a in args))
    assert [world.pool.tier_fee(t) for t in range(3)] == fees


def test_an_amount_with_more_digits_than_a_decimal_context_keeps_every_digit(
    setup: tuple[World, Path, str, int],
) -> None:
    world, manifest, pool, _ = setup
    result = run(
        world, manifest, "pool", "configure", pool, "--tier-fee", "enterprise=12345678901234567890123456789.123456"
    )
    assert result.returncode == 0, result.stderr
    # The pool is active: the fee is announced, exactly, and in force once applied.
    apply_announced(world)
    assert world.pool.tier_fee(2) == 12345678901234567890123456789123456
    shown = run(world, manifest, "pool", "show", pool, who=-1)
    assert "12,345,678,901,234,567,890,123,456,789.123456" in " ".join(shown.stdout.split())


# --- one-line errors, not tracebacks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        ("99999999999999999999999", "is after the year 9999"),
        ("9" * 5000, "is after the year 9999"),
        ("1767225600000", "looks like milliseconds (2026-01-01T00:00:00+00:00 in seconds)"),
        ("1969-12-31", "is before 1970-01-01"),
        ("0001-01-01T00:00:00+14:00", "is before 1970-01-01"),
    ],
)
def test_licence_verify_refuses_a_time_out_of_range(
    setup: tuple[World, Path, str, int], at: str, fragment: str
) -> None:
    world, manifest, pool, asset_id = setup
    me = world.keys[MEMBER].address
    args = ("licence", "verify", "--pool", pool, "--licensee", me, "--asset", str(asset_id), "--at", at)
    assert fragment in refused(world, manifest, *args, who=-1)


def test_licence_verify_of_an_erc20_is_refused_even_without_a_manifest(setup: tuple[World, Path, str, int]) -> None:
    world, _, _, asset_id = setup
    me = world.keys[MEMBER].address
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    args = ["--pool", world.coin.address, "--licensee", me, "--asset", str(asset_id)]
    rpc = ["--rpc", world.w3.provider.endpoint_uri]  # type: ignore[attr-defined]
    result = subprocess.run(
        [sys.executable, "-m", "patentpool", "licence", "verify", *args, *rpc],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"{world.coin.address} is not a PatentPool" in " ".join(result.stderr.split())


def test_an_unfunded_key_is_told_it_cannot_pay_for_gas(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, _, _ = setup
    poor = Account.from_key("0x" + "5e" * 32)
    message = refused(
        world, manifest, "token", "mint", "--amount", "5", who=-1, env={"PATENTPOOL_PRIVATE_KEY": poor.key.hex()}
    )
    assert f"{poor.address} has insufficient funds to pay for gas of mint: it holds 0 ETH (0 wei)" in message
    assert world.w3.eth.get_transaction_count(poor.address) == 0


# --- nothing is sent unless the whole sequence would succeed -------------------------------------


def test_accepting_an_overlapping_offer_sends_no_approval(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    member = world.keys[MEMBER].address
    start = int(world.w3.eth.get_block("latest")["timestamp"])
    first = world.pool.offer_licence(member, [], start, start + 365 * 86_400, 100 * USDC, b"\x01" * 32).value
    second = world.pool.offer_licence(member, [], start + 86_400, start + 30 * 86_400, 50 * USDC, b"\x02" * 32).value
    world.fund(MEMBER, 100 * USDC)
    world.pool_as(MEMBER).accept_offer(first)
    world.coin.mint(member, 50 * USDC)
    nonce, balance = world.w3.eth.get_transaction_count(member), world.coin.balance_of(member)
    message = refused(world, manifest, "licence", "accept", pool, str(second), who=MEMBER)
    assert f"nothing was sent: accepting offer {second} would be refused by the contract" in message
    assert "PatentPoolLicenceOverlaps" in message
    assert world.coin.allowance(member, pool) == 0
    assert world.w3.eth.get_transaction_count(member) == nonce
    assert world.coin.balance_of(member) == balance


def test_a_configuration_the_contract_would_refuse_midway_sends_no_step(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    rule = world.pool.qualification()
    args = ("pool", "configure", pool, "--tier-fee", "startup=600", "--jurisdictions", "US,US")
    message = refused(world, manifest, *args)
    assert "nothing was sent: qualification would be refused by the contract: PatentPoolInvalidQualification" in message
    assert "a rule needs 1 to 16 distinct two-letter offices" in message
    assert world.pool.tier_fee(0) == 500 * USDC
    assert world.pool.qualification() == rule


def test_a_configuration_sends_every_change_in_order(setup: tuple[World, Path, str, int]) -> None:
    world, manifest, pool, _ = setup
    args = ("pool", "configure", pool, "--tier-fee", "startup=600", "--tier-fee", "sme=1500.5", "--json")
    result = run(world, manifest, *args, "--territory", "EU")
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [c["setting"] for c in changes] == ["tierFee.startup", "tierFee.sme", "territory"]
    # The pool is active: the fees are announced (the territory is not a bounded parameter).
    assert [c["effectiveAt"] is not None for c in changes] == [True, True, False]
    apply_announced(world)
    assert [world.pool.tier_fee(0), world.pool.tier_fee(1)] == [600 * USDC, 1_500_500_000]
    assert world.pool.profile()["territory"] == "EU"


# --- strings bound for the chain are bounded here (the contracts take any length) ----------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("pool", "create", "--name", "N" * 5000, "--kind", "technology", "--field", "f"),
         "--name is 5,000 characters long; at most 200 are accepted"),
        (("pool", "create", "--name", "   ", "--kind", "technology", "--field", "f"), "--name must not be empty"),
        (("pool", "create", "--name", "N", "--kind", "technology", "--field", "F" * 201),
         "--field is 201 characters long"),
        (("pool", "configure", "{pool}", "--tier-fee", "startup=1", "--territory", "T" * 300),
         "--territory is 300 characters long"),
        (("asset", "add-patent", "{asset}", "--office", "US", "--number", "9" * 1000), "--number is 1,000 characters"),
    ],
)  # fmt: skip
def test_overlong_strings_are_refused_before_sending(
    setup: tuple[World, Path, str, int], args: tuple[str, ...], fragment: str
) -> None:
    world, manifest, pool, asset_id = setup
    pools = world.factory.pool_count()
    filled = [a.format(pool=pool, asset=asset_id) for a in args]
    assert fragment in refused(world, manifest, *filled, who=FOUNDER if "asset" in args else 0)
    assert world.factory.pool_count() == pools
    assert world.pool.tier_fee(0) == 500 * USDC


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dossiers"


def test_a_dossier_registered_without_a_uri_gets_its_content_address(
    setup: tuple[World, Path, str, int], tmp_path: Path
) -> None:
    import hashlib

    world, manifest, _, _ = setup
    dossier = tmp_path / "lidar.json"
    dossier.write_bytes((EXAMPLES / "lidar-flash-us-cn.json").read_bytes())
    result = run(world, manifest, "asset", "register", str(dossier), "--json", who=FOUNDER)
    assert result.returncode == 0, result.stderr
    registered = json.loads(result.stdout)
    expected = "sha256:" + hashlib.sha256(dossier.read_bytes()).hexdigest()
    assert registered["dossierURI"] == expected
    assert world.assets.family(registered["assetId"])["dossierURI"] == expected


def test_a_file_uri_for_a_dossier_is_refused(setup: tuple[World, Path, str, int], tmp_path: Path) -> None:
    world, manifest, _, _ = setup
    dossier = tmp_path / "lidar.json"
    dossier.write_bytes((EXAMPLES / "lidar-flash-us-cn.json").read_bytes())
    total = world.assets.total_assets()
    message = refused(world, manifest, "asset", "register", str(dossier), "--uri", dossier.as_uri(), who=FOUNDER)
    assert "is a path on this machine" in message
    assert world.assets.total_assets() == total


def test_a_step_the_chain_refuses_midway_is_named_with_the_steps_already_sent(
    setup: tuple[World, Path, str, int],
) -> None:
    world, manifest, pool, _ = setup
    operator = Account.from_key("0x" + "0f" * 32)
    world.pool.grant_role("OPERATOR_ROLE", operator.address)
    # Ether for the first transaction and a fifth more: the second cannot be paid for, which no
    # simulation can foresee (simulations do not charge gas), so the chain refuses it mid-way. The
    # first one's gas limit is its estimate with registry.chain's margin (a fifth, at least 30,000).
    call = world.pool.contract.functions.setTierFee(0, 600 * USDC)
    gas = call.estimate_gas({"from": operator.address})
    gas += max(gas // 5, 30_000)
    base = int(world.w3.eth.get_block("latest")["baseFeePerGas"])
    need = gas * (int(world.w3.eth.max_priority_fee) + 2 * base)
    world.w3.provider.make_request("anvil_setBalance", [operator.address, hex(need * 6 // 5)])  # type: ignore[arg-type]
    args = ("pool", "configure", pool, "--tier-fee", "startup=600", "--tier-fee", "sme=700")
    result = run(world, manifest, *args, who=-1, env={"PATENTPOOL_PRIVATE_KEY": operator.key.hex()})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith("error: step 2 of 2 (tierFee.sme) failed:"), message
    assert f"{operator.address} has insufficient funds to pay for gas of setTierFee" in message
    assert "already sent: tierFee.startup (tx 0x" in message
    apply_announced(world)
    assert (world.pool.tier_fee(0), world.pool.tier_fee(1)) == (600 * USDC, 0)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("pool", "contribute", "{pool}", str(10**80)), "a value does not fit the contract's argument types"),
        (("licence", "show", "{pool}", str(2**256)), "is not compatible with type `uint256`"),
        (("dispute", "open", "{pool}", str(2**256), "--evidence", "x"), "is not compatible with type `uint256`"),
        (("pool", "configure", "{pool}", "--min-score", "70000"), "--min-score 70000 is above 10000 bps"),
    ],
)
def test_numbers_too_large_for_the_contract_are_one_line_errors(
    setup: tuple[World, Path, str, int], args: tuple[str, ...], fragment: str
) -> None:
    world, manifest, pool, _ = setup
    assert fragment in refused(world, manifest, *(a.format(pool=pool) for a in args), who=FOUNDER)


def test_a_member_with_gas_money_for_the_approval_only_sends_neither_approval_nor_join(
    setup: tuple[World, Path, str, int],
) -> None:
    world, manifest, pool, _ = setup
    member = Account.from_key("0x" + "1d" * 32)
    world.coin.mint(member.address, 500 * USDC)
    approve = world.coin.contract.functions.approve(pool, 500 * USDC)
    world.w3.provider.make_request("anvil_setBalance", [member.address, hex(10**18)])  # type: ignore[arg-type]
    gas = approve.estimate_gas({"from": member.address})
    base = int(world.w3.eth.get_block("latest")["baseFeePerGas"])
    need = gas * (int(world.w3.eth.max_priority_fee) + 2 * base)
    world.w3.provider.make_request("anvil_setBalance", [member.address, hex(need * 3 // 2)])  # type: ignore[arg-type]
    args = ("member", "join", pool, "--tier", "startup")
    message = refused(world, manifest, *args, who=-1, env={"PATENTPOOL_PRIVATE_KEY": member.key.hex()})
    assert f"nothing was sent: {member.address} holds" in message
    assert "approving 500.00 and joining need about" in message
    assert world.coin.allowance(member.address, pool) == 0
    assert world.w3.eth.get_transaction_count(member.address) == 0

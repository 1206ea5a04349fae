"""Licence certificates on the session's anvil: made by registry/certificate.py, checked by the
stand-alone scripts/check_certificate.py against anvil's block hash. Each kind of licensee checks
VALID and says the right thing; every kind of tampering is INVALID and names what failed; a
certificate keeps proving its block after the chain moved on."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.certificate import CERTIFICATE_FORMAT, MadeCertificate, make_certificate
from tests.conftest import USDC, YEAR, World, advance

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_certificate.py"
FOUNDER, MEMBER, STRANGER = 1, 2, 3


def load_checker() -> ModuleType:
    """The script as a module, loaded from its file as a third party would run it."""
    spec = importlib.util.spec_from_file_location("check_certificate_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checker = load_checker()


@pytest.fixture
def pool_world(world: World) -> tuple[World, int]:
    """An active pool with a startup fee of 500 and one contributed asset."""
    asset_id = world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, 500 * USDC)
    world.pool.activate()
    return world, asset_id


def join(world: World, who: int) -> None:
    world.fund(who, 500 * USDC)
    world.pool_as(who).join(0, 500 * USDC)


def grant_licence(world: World, who: int, asset_id: int) -> int:
    licensee = world.keys[who].address
    start = int(world.w3.eth.get_block("latest")["timestamp"])
    offer = world.pool.offer_licence(licensee, [asset_id], start, start + YEAR, 100 * USDC, b"\x01" * 32).value
    world.fund(who, 100 * USDC)
    return int(world.pool_as(who).accept_offer(offer).value)


def certify(world: World, who: int, asset_id: int, **kwargs: Any) -> MadeCertificate:
    return make_certificate(world.w3, world.pool.address, world.keys[who].address, asset_id, **kwargs)


def block_hash(world: World, number: int) -> bytes:
    return bytes(world.w3.eth.get_block(number)["hash"])


def verdict(world: World, document: dict[str, Any], **kwargs: Any) -> Any:
    """The checker's verdict against anvil's hash of the certificate's block."""
    number = int(document["block"]["number"])
    return checker.check(document, block_hash=kwargs.pop("trusted", None) or block_hash(world, number), **kwargs)


def assert_valid(world: World, made: MadeCertificate, licensed: bool, reason: str) -> Any:
    doc = made.document
    assert doc["format"] == CERTIFICATE_FORMAT
    assert (doc["claim"]["licensed"], doc["claim"]["reason"]) == (licensed, reason)
    result = verdict(world, doc)
    assert result.valid, result.sentence
    assert result.part is None
    who = doc["claim"]["licensee"]
    state = "was licensed" if licensed else "was NOT licensed"
    assert f"proves that {who} {state} for asset {doc['claim']['assetId']} of pool {doc['claim']['pool']}" in (
        result.sentence
    )
    assert result.sentence.startswith(f"VALID: block {doc['block']['number']} ")
    # and the pool agrees today
    assert world.pool.is_licensed(who, doc["claim"]["assetId"], doc["claim"]["at"], doc["block"]["number"]) is licensed
    return result


def assert_invalid(world: World, document: dict[str, Any], part: str, words: str = "", **kwargs: Any) -> Any:
    result = verdict(world, document, **kwargs)
    assert not result.valid, f"tampered certificate checked VALID: {result.sentence}"
    assert result.sentence.startswith(f"INVALID ({result.part}): ")
    assert part in str(result.part), result.sentence
    assert words in result.sentence, result.sentence
    return result


# ------------------------------------------------------------------ what a certificate proves


def test_a_member_is_proven_licensed(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    join(world, MEMBER)
    made = certify(world, MEMBER, asset_id)
    assert_valid(world, made, True, "membership")
    # the pool is an EIP-1167 clone: its code and its implementation's are both held
    codes = [a for a in made.document["accounts"] if "code" in a]
    assert {a["address"] for a in codes} >= {world.pool.address}
    assert len(codes) >= 2
    assert any(len(a["code"]) < 200 for a in codes), "the clone's code"


def test_a_unified_licensee_is_proven_licensed(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    licence_id = grant_licence(world, STRANGER, asset_id)
    made = certify(world, STRANGER, asset_id)
    assert made.document["claim"]["licenceId"] == licence_id
    assert_valid(world, made, True, "licence")


def test_a_non_member_is_proven_not_licensed(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    result = assert_valid(world, certify(world, STRANGER, asset_id), False, "not_member")
    assert "was NOT licensed" in result.sentence


def test_a_revoked_licensee_before_and_after_the_revocation(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    licence_id = grant_licence(world, STRANGER, asset_id)
    before = certify(world, STRANGER, asset_id)
    advance(world.w3, 60)
    revoked = world.pool.revoke_licence(licence_id, b"\x02" * 32)
    revoked_at = int(world.w3.eth.get_block(revoked.block_number)["timestamp"])
    assert_valid(world, before, True, "licence")
    after = certify(world, STRANGER, asset_id)
    assert after.document["claim"]["revokedAt"] == revoked_at
    assert_valid(world, after, False, "licence_revoked")
    # A moment before the revocation, asked after it: the revocation takes effect when it happens
    # (contracts v2), so the licence still covers that moment, and the certificate proves it.
    earlier = certify(world, STRANGER, asset_id, at=revoked_at - 30)
    assert earlier.document["claim"]["licenceId"] == licence_id
    assert_valid(world, earlier, True, "licence")


def test_a_suspended_asset_is_proven_not_licensed(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    join(world, MEMBER)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_id, b"\x03" * 32).value
    world.pool.grant_role("ARBITER_ROLE", world.keys[0].address)
    advance(world.w3, 60)
    world.pool.resolve_dispute(dispute_id, True, b"\x04" * 32)
    made = certify(world, MEMBER, asset_id)
    assert made.document["claim"]["disputeId"] == dispute_id
    assert_valid(world, made, False, "asset_suspended")
    # A moment before the suspension, asked after it: the member was licensed then, and stays so.
    suspended_at = int(world.pool.pool_asset(asset_id)["suspendedAt"])
    assert_valid(world, certify(world, MEMBER, asset_id, at=suspended_at - 1), True, "membership")


def test_a_certificate_still_proves_its_block_after_the_chain_moved_on(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    join(world, MEMBER)
    licence_id = grant_licence(world, STRANGER, asset_id)
    member_then = certify(world, MEMBER, asset_id)
    licensee_then = certify(world, STRANGER, asset_id)
    world.pool.revoke_licence(licence_id, b"\x02" * 32)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_id, b"\x03" * 32).value
    world.pool.grant_role("ARBITER_ROLE", world.keys[0].address)
    world.pool.resolve_dispute(dispute_id, True, b"\x04" * 32)
    advance(world.w3, 3600)
    assert_valid(world, member_then, True, "membership")
    assert_valid(world, licensee_then, True, "licence")
    # against nodes too: the node still gives block N's hash
    url = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    assert checker.check(member_then.document, rpc_urls=[url]).valid
    # a newer certificate shows the new state
    assert_valid(world, certify(world, MEMBER, asset_id), False, "asset_suspended")
    assert_valid(world, certify(world, STRANGER, asset_id), False, "asset_suspended")


def test_a_certificate_at_an_earlier_block_and_time(pool_world: tuple[World, int]) -> None:
    world, asset_id = pool_world
    before = world.w3.eth.block_number
    advance(world.w3, 60)
    join(world, MEMBER)
    made = certify(world, MEMBER, asset_id, block=before)
    assert made.document["block"]["number"] == before
    assert_valid(world, made, False, "not_member")


# ------------------------------------------------------------------ tampering


@pytest.fixture
def member_certificate(pool_world: tuple[World, int]) -> tuple[World, dict[str, Any]]:
    world, asset_id = pool_world
    join(world, MEMBER)
    return world, certify(world, MEMBER, asset_id).document


def flip(value: str, position: int, xor: int = 1) -> str:
    data = bytearray(bytes.fromhex(value[2:]))
    data[position % len(data)] ^= xor
    return "0x" + data.hex()


def test_a_byte_of_the_header(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    bad = copy.deepcopy(doc)
    bad["block"]["header"] = flip(doc["block"]["header"], 200)
    assert_invalid(world, bad, "header", "the header hashes to")


def test_the_header_of_another_block(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    from registry.certificate import header_rlp

    number = doc["block"]["number"] - 1
    raw = world.w3.provider.make_request("eth_getBlockByNumber", [hex(number), False])["result"]  # type: ignore[arg-type]
    bad = copy.deepcopy(doc)
    bad["block"]["header"] = "0x" + header_rlp(raw).hex()
    assert_invalid(world, bad, "header")
    # and trusting that other block's hash instead: the certificate names another block number
    assert_invalid(world, bad, "block", trusted=block_hash(world, number))


def test_a_byte_of_the_code(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    for n, account in enumerate(doc["accounts"]):
        if "code" not in account:
            continue
        bad = copy.deepcopy(doc)
        bad["accounts"][n]["code"] = flip(account["code"], 7)
        assert_invalid(world, bad, f"code of {account['address']}", "does not hash to its proven code hash")


def test_the_return_data_and_the_claimed_answer(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    bad = copy.deepcopy(doc)
    bad["call"]["returnData"] = flip(doc["call"]["returnData"], 31)
    assert_invalid(world, bad, "return data", "the re-executed call returned")
    bad = copy.deepcopy(doc)
    bad["claim"]["licensed"] = False
    assert_invalid(world, bad, "answer", "the claim says licensed=False, but isLicensed answers True")
    bad = copy.deepcopy(doc)
    bad["claim"]["licensed"] = False
    bad["call"]["returnData"] = "0x" + "00" * 32
    assert_invalid(world, bad, "return data")


def test_a_claim_about_another_licensee_asset_or_time(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    for field, value in (("licensee", world.keys[STRANGER].address), ("assetId", 99), ("at", doc["claim"]["at"] + 1)):
        bad = copy.deepcopy(doc)
        bad["claim"][field] = value
        assert_invalid(world, bad, "calldata")


def test_a_dropped_slot(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    slots = [(n, m) for n, a in enumerate(doc["accounts"]) for m in range(len(a["storage"]))]
    assert slots
    for n, m in slots:
        bad = copy.deepcopy(doc)
        key = bad["accounts"][n]["storage"].pop(m)["key"]
        result = assert_invalid(world, bad, "proven state", "which the certificate does not prove")
        assert key in result.sentence


def test_a_dropped_account(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    for n, account in enumerate(doc["accounts"]):
        bad = copy.deepcopy(doc)
        del bad["accounts"][n]
        assert_invalid(world, bad, "proven state", account["address"])


def test_a_changed_slot_value_or_account_field(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    n = next(n for n, a in enumerate(doc["accounts"]) if a["storage"])
    bad = copy.deepcopy(doc)
    bad["accounts"][n]["storage"][0]["value"] = hex(int(doc["accounts"][n]["storage"][0]["value"], 16) + 1)
    assert_invalid(world, bad, "storage proof", "is not the one its proof proves")
    bad = copy.deepcopy(doc)
    bad["accounts"][n]["balance"] += 1
    assert_invalid(world, bad, "account", "the balance of")


def test_another_chain_id(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    bad = copy.deepcopy(doc)
    bad["claim"]["chainId"] = 1
    url = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    result = checker.check(bad, rpc_urls=[url])
    assert not result.valid and result.part == "chain id"
    assert "the certificate names chain 1, but the node at" in result.sentence
    assert_invalid(world, bad, "chain id", "not chain 31337", chain_id=31337)


def test_any_byte_of_any_trie_node(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    trusted = block_hash(world, doc["block"]["number"])
    addresses = [a["address"] for a in doc["accounts"]]

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 255))
    def tampered(node: int, position: int, xor: int) -> None:
        bad = copy.deepcopy(doc)
        nodes = bad["trieNodes"]
        nodes[node % len(nodes)] = flip(nodes[node % len(nodes)], position, xor)
        result = checker.check(bad, block_hash=trusted)
        assert not result.valid, result.sentence
        assert result.part is not None, result.sentence
        if result.part != "trie nodes":  # a node that is no longer RLP
            assert result.part.startswith(("account proof of ", "storage proof of ")), result.sentence
            assert any(address in result.part for address in addresses)
            assert "does not verify against its root" in result.sentence

    tampered()


def test_a_dropped_trie_node(member_certificate: tuple[World, dict[str, Any]]) -> None:
    world, doc = member_certificate
    for n in range(len(doc["trieNodes"])):
        bad = copy.deepcopy(doc)
        del bad["trieNodes"][n]
        assert_invalid(world, bad, "proof of", "a node is missing or altered")


def test_no_trusted_hash_or_not_a_certificate_is_unusable(member_certificate: tuple[World, dict[str, Any]]) -> None:
    _, doc = member_certificate
    with pytest.raises(checker.Unusable, match="nothing to trust"):
        checker.check(doc)
    with pytest.raises(checker.Unusable, match="not a licence certificate"):
        checker.check({"hello": 1}, block_hash=b"\0" * 32)
    with pytest.raises(checker.Unusable, match="version 99"):
        checker.check({**doc, "version": 99}, block_hash=b"\0" * 32)

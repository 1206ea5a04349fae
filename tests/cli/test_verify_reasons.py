"""`patentpool licence verify` says why: the reason codes of the API's explanation, read from the
chain's views at one block, in text and JSON; a question without an answer is exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.test_workflow_bad_input import FOUNDER, MEMBER, STRANGER, refused, run
from tests.conftest import USDC, YEAR, World, advance

Setup = tuple[World, Path, str, int]


def verify(world: World, manifest: Path, pool: str, who: int, asset_id: int, *extra: str) -> tuple[int, Any]:
    args = ("licence", "verify", "--pool", pool, "--licensee", world.keys[who].address, "--asset", str(asset_id))
    result = run(world, manifest, *args, *extra, "--json", who=-1)
    assert result.returncode in (0, 1), result.stderr
    data = json.loads(result.stdout)
    assert data["licensed"] is (result.returncode == 0)
    assert data["licensed"] is world.pool.is_licensed(
        world.keys[who].address, asset_id, data["at"], data["blockNumber"]
    )
    return result.returncode, data


def join(world: World, who: int) -> int:
    world.fund(who, 500 * USDC)
    return world.pool_as(who).join(0, 500 * USDC).value


def test_a_stranger_is_not_a_member(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    code, data = verify(world, manifest, pool, STRANGER, asset_id)
    assert (code, data["reason"]) == (1, "not_member")
    assert "has never been a member of this pool" in data["explanation"]


def test_a_member_is_licensed_by_membership_and_then_not_when_it_ended(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    until = join(world, MEMBER)
    code, data = verify(world, manifest, pool, MEMBER, asset_id)
    assert (code, data["reason"], data["memberUntil"]) == (0, "membership", until)
    code, data = verify(world, manifest, pool, MEMBER, asset_id, "--at", str(until))
    assert (code, data["reason"]) == (1, "membership_ended")
    assert "its latest term ended at" in data["explanation"]
    text = run(world, manifest, "licence", "verify", "--pool", pool, "--licensee", world.keys[MEMBER].address,
               "--asset", str(asset_id), "--at", str(until), who=-1)  # fmt: skip
    assert text.returncode == 1
    assert "NOT LICENSED (membership_ended)" in text.stdout
    assert "its latest term ended at" in " ".join(text.stdout.split())


def test_a_licence_covers_until_it_is_revoked(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    licensee = world.keys[STRANGER].address
    start = int(world.w3.eth.get_block("latest")["timestamp"])
    offer = world.pool.offer_licence(licensee, [asset_id], start, start + YEAR, 100 * USDC, b"\x01" * 32).value
    world.fund(STRANGER, 100 * USDC)
    licence_id = world.pool_as(STRANGER).accept_offer(offer).value
    code, data = verify(world, manifest, pool, STRANGER, asset_id)
    assert (code, data["reason"], data["licenceId"]) == (0, "licence", licence_id)
    advance(world.w3, 10)  # the revocation strictly after the licence began (an idle machine shares seconds)
    revoked = world.pool.revoke_licence(licence_id, b"\x02" * 32)
    revoked_at = int(world.w3.eth.get_block(revoked.block_number)["timestamp"])
    code, data = verify(world, manifest, pool, STRANGER, asset_id)
    assert (code, data["reason"], data["licenceId"], data["revokedAt"]) == (
        1,
        "licence_revoked",
        licence_id,
        revoked_at,
    )
    assert (
        f"licence {licence_id}" in data["explanation"] and "was revoked by the pool's operator" in data["explanation"]
    )
    # The revocation takes effect when it happens: a moment before it stays licensed (contracts v2).
    code, data = verify(world, manifest, pool, STRANGER, asset_id, "--at", str(revoked_at - 1))
    assert (code, data["reason"], data["licenceId"]) == (0, "licence", licence_id)


def test_an_asset_suspended_by_a_dispute_names_the_dispute(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    join(world, MEMBER)
    dispute_id = world.pool_as(MEMBER).open_dispute(asset_id, b"\x03" * 32).value
    world.pool.grant_role("ARBITER_ROLE", world.keys[0].address)
    advance(world.w3, 10)
    ruled = world.pool.resolve_dispute(dispute_id, True, b"\x04" * 32)
    suspended_at = int(world.w3.eth.get_block(ruled.block_number)["timestamp"])
    code, data = verify(world, manifest, pool, MEMBER, asset_id)
    assert (code, data["reason"], data["disputeId"]) == (1, "asset_suspended", dispute_id)
    assert f"by the upheld dispute {dispute_id}" in data["explanation"]
    # The suspension takes effect when the dispute is upheld: a moment before it stays licensed.
    code, data = verify(world, manifest, pool, MEMBER, asset_id, "--at", str(suspended_at - 1))
    assert (code, data["reason"]) == (0, "membership")


def test_a_whole_pool_licence_does_not_cover_an_asset_contributed_after_it(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    licensee = world.keys[STRANGER].address
    start = int(world.w3.eth.get_block("latest")["timestamp"])
    offer = world.pool.offer_licence(licensee, [], start, start + YEAR, 100 * USDC, b"\x01" * 32).value
    world.fund(STRANGER, 100 * USDC)
    licence_id = world.pool_as(STRANGER).accept_offer(offer).value
    advance(world.w3, 10)
    later = world.founder_with_asset(FOUNDER)
    code, data = verify(world, manifest, pool, STRANGER, asset_id)
    assert (code, data["reason"], data["licenceId"]) == (0, "licence", licence_id)
    code, data = verify(world, manifest, pool, STRANGER, later)
    assert (code, data["reason"], data["licenceId"]) == (1, "asset_joined_after_licence", licence_id)
    assert f"whole-pool licence {licence_id}" in data["explanation"]


def test_a_term_paid_after_the_withdrawal_does_not_cover_the_withdrawn_asset(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    world.founder_with_asset(STRANGER)  # the pool keeps a weighted asset
    world.pool_as(FOUNDER).announce_withdrawal(asset_id)
    # The pool is active: a new withdrawal notice would only be announced, so the default one is waited out.
    effective_at = world.pool.pool_asset(asset_id)["withdrawalEffectiveAt"]
    advance(world.w3, effective_at - int(world.w3.eth.get_block("latest")["timestamp"]))
    world.pool_as(FOUNDER).complete_withdrawal(asset_id)
    advance(world.w3, 10)
    join(world, MEMBER)
    code, data = verify(world, manifest, pool, MEMBER, asset_id)
    assert (code, data["reason"]) == (1, "asset_withdrawn")
    assert data["withdrawnAt"] > 0


def test_an_asset_never_contributed_is_not_in_the_pool(setup: Setup) -> None:
    world, manifest, pool, _ = setup
    join(world, MEMBER)
    outside = world.family(FOUNDER, {"US": 1, "CN": 1})
    code, data = verify(world, manifest, pool, MEMBER, outside)
    assert (code, data["reason"]) == (1, "asset_not_in_pool")


def test_block_asks_the_chain_as_it_was(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    before = world.w3.eth.block_number
    advance(world.w3, 60)
    join(world, MEMBER)
    code, data = verify(world, manifest, pool, MEMBER, asset_id, "--block", str(before))
    assert (code, data["reason"], data["blockNumber"]) == (1, "not_member", before)
    assert data["at"] == world.w3.eth.get_block(before)["timestamp"]
    # At the latest block, the moment before the join: a member now, but not then.
    code, data = verify(world, manifest, pool, MEMBER, asset_id, "--at", str(data["at"]))
    assert (code, data["reason"]) == (1, "not_member")
    assert "but no term of its membership covered" in data["explanation"]
    code, data = verify(world, manifest, pool, MEMBER, asset_id)
    assert (code, data["reason"]) == (0, "membership")


def test_questions_without_an_answer_are_exit_2(setup: Setup) -> None:
    world, manifest, pool, asset_id = setup
    me = world.keys[MEMBER].address
    base = ("licence", "verify", "--pool", pool, "--licensee", me)
    assert "asset 9999 does not exist" in refused(world, manifest, *base, "--asset", "9999", who=-1)
    latest = world.w3.eth.block_number
    message = refused(world, manifest, *base, "--asset", str(asset_id), "--block", str(latest + 100), who=-1)
    assert f"block {latest + 100} does not exist: the chain's latest block is {latest}" in message

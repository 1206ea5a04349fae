"""`/v1/licences/verify`: the chain's own isLicensed answer, the mirror's beside it, and why.

Every answer is compared with a direct web3 `isLicensed` call at the block the API says it read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentPoolClient, StablecoinClient, contract_at
from tests.api.conftest import Seeded
from tests.conftest import YEAR, advance

NOBODY = "0x000000000000000000000000000000000000dEaD"


def chain_says(w3: Web3, pool: str, licensee: str, asset: int, at: int, block: int) -> bool:
    """isLicensed read straight from the node, as `cast call --block` would."""
    contract = contract_at(w3, "PatentPool", pool)
    return bool(
        contract.functions.isLicensed(Web3.to_checksum_address(licensee), asset, at).call(block_identifier=block)
    )


def verify(client: httpx.Client, w3: Web3, pool: str, licensee: str, asset: int, **params: Any) -> dict[str, Any]:
    """The route's answer, checked against the node at the block the route says it read."""
    query: dict[str, Any] = {"pool": pool, "licensee": licensee, "asset": asset, **params}
    response = client.get("/v1/licences/verify", params=query)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    body = response.json()
    data: dict[str, Any] = body["data"]
    block = w3.eth.get_block(data["blockNumber"])
    assert data["blockHash"] == "0x" + bytes(block["hash"]).hex()
    assert data["licensed"] == chain_says(w3, pool, licensee, asset, data["at"]["unix"], data["blockNumber"])
    assert data["indexedBlockNumber"] == body["indexed"]["blockNumber"] == int(response.headers["x-indexed-block"])
    assert data["agree"] == (data["licensed"] == data["indexedLicensed"])
    return data


def test_a_member_is_licensed_by_its_membership_term(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    result = seeded.pool("blockchain")
    member, asset = result.member_sample[0], result.asset_sample[0]
    data = verify(client, w3, result.address, member.lower(), asset)
    assert data["licensed"] is True and data["agree"] is True
    assert data["licensee"] == member
    assert data["at"]["unix"] == w3.eth.get_block(data["blockNumber"])["timestamp"]
    reason = data["reason"]
    assert reason["code"] == "membership"
    term = reason["membership"]
    assert term["event"] == "MemberJoined"
    view = contract_at(w3, "PatentPool", result.address).functions.membership(member).call()
    assert term["validUntil"]["unix"] == view[1]
    assert term["validUntil"]["unix"] - term["validFrom"]["unix"] == YEAR
    receipt = w3.eth.get_transaction_receipt(term["provenance"]["txHash"])
    assert receipt["blockNumber"] == term["provenance"]["blockNumber"]
    assert any(log["logIndex"] == term["provenance"]["logIndex"] for log in receipt["logs"])
    assert term["paidAt"]["unix"] == w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert reason["asset"]["assetId"] == asset and reason["asset"]["status"] == "active"
    assert "agrees" in data["agreement"]


def test_a_unified_licensee_is_licensed_by_its_whole_pool_licence(
    client: httpx.Client, seeded: Seeded, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    licensee, asset = result.unified_licensees[0], result.asset_sample[1]
    data = verify(client, w3, result.address, licensee, asset)
    assert data["licensed"] is True and data["agree"] is True
    reason = data["reason"]
    assert reason["code"] == "licence" and reason["membership"] is None
    licence = reason["licence"]
    view = contract_at(w3, "PatentPool", result.address).functions.licence(licence["licenceId"]).call()
    assert view[0] == licensee and licence["licensee"] == licensee
    assert licence["wholePool"] is True and licence["assetIds"] == []
    assert (licence["start"]["unix"], licence["end"]["unix"]) == (view[2], view[3])
    assert licence["status"] == "active" and licence["revokedAt"] is None
    assert licence["price"]["value"] == str(view[5])


def test_a_revoked_licensee_is_not_licensed_and_the_revocation_is_shown(
    client: httpx.Client, seeded: Seeded, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    licensee = result.revoked_licensees[0]
    data = verify(client, w3, result.address, licensee, result.asset_sample[0])
    assert data["licensed"] is False and data["agree"] is True
    reason = data["reason"]
    assert reason["code"] == "licence_revoked"
    [revoked] = reason["revokedLicences"]
    assert revoked["status"] == "revoked" and revoked["licensee"] == licensee
    assert revoked["reasonHash"] == "0x" + keccak(text="demo: terms breached").hex()
    assert contract_at(w3, "PatentPool", result.address).functions.licence(revoked["licenceId"]).call()[7] is True
    receipt = w3.eth.get_transaction_receipt(revoked["provenance"]["txHash"])
    assert revoked["revokedAt"]["unix"] == w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert f"licence {revoked['licenceId']}" in reason["explanation"]


def test_an_address_that_never_joined_is_not_a_member(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    result = seeded.pool("blockchain")
    data = verify(client, w3, result.address, NOBODY.lower(), result.asset_sample[0])
    assert data["licensed"] is False and data["agree"] is True
    assert data["reason"]["code"] == "not_member"
    assert data["reason"]["membership"] is None and data["reason"]["licence"] is None


def test_a_suspended_asset_licenses_nobody_and_names_its_dispute(
    client: httpx.Client, seeded: Seeded, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    asset = result.suspended_assets[0]
    data = verify(client, w3, result.address, result.member_sample[0], asset)
    assert data["licensed"] is False and data["agree"] is True
    reason = data["reason"]
    assert reason["code"] == "asset_suspended"
    dispute = reason["dispute"]
    assert dispute["status"] == "upheld"
    assert reason["asset"]["suspended"] is True and reason["asset"]["suspendedByDispute"] == dispute["disputeId"]
    view = contract_at(w3, "PatentPool", result.address).functions.dispute(dispute["disputeId"]).call()
    assert view[0] == asset and view[3] == 2  # DisputeStatus: None, Open, Upheld, Dismissed
    assert f"dispute {dispute['disputeId']}" in reason["explanation"]


def test_an_asset_of_another_pool_is_not_in_this_pool(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    here, there = seeded.pool("blockchain"), seeded.pool("metaverse")
    asset = there.asset_sample[0]
    data = verify(client, w3, here.address, here.member_sample[0], asset)
    assert data["licensed"] is False and data["agree"] is True
    assert data["reason"]["code"] == "asset_not_in_pool" and data["reason"]["asset"] is None
    assert contract_at(w3, "PatentPool", here.address).functions.poolAsset(asset).call()[2] == 0


def test_an_unknown_asset_or_pool_is_a_404_not_an_answer(client: httpx.Client, seeded: Seeded) -> None:
    result = seeded.pool("blockchain")
    member = result.member_sample[0]
    response = client.get("/v1/licences/verify", params={"pool": result.address, "licensee": member, "asset": 10**12})
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"no asset {10**12} in this registry"
    unknown_pool = "0x" + "12" * 20
    response = client.get(
        "/v1/licences/verify", params={"pool": unknown_pool, "licensee": member, "asset": result.asset_sample[0]}
    )
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert "no pool at" in response.json()["detail"]


def test_a_moment_before_the_membership_began_is_not_covered(
    client: httpx.Client,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    chain_change: Callable[[], None],
) -> None:
    result = seeded.pool("blockchain")
    asset = result.asset_sample[0]
    # A member who joins a day after the demo (anvil key 2): the asset was in the pool before it.
    advance(w3, 86_400)
    _join(w3, keys[2], seeded, result.address)
    chain_change()
    now = verify(client, w3, result.address, keys[2].address, asset)
    began = now["reason"]["membership"]["validFrom"]["unix"]
    assert contract_at(w3, "PatentPool", result.address).functions.poolAsset(asset).call()[2] < began
    data = verify(client, w3, result.address, keys[2].address, asset, at=began - 1)
    assert data["licensed"] is False and data["agree"] is True
    assert data["reason"]["code"] == "not_member"
    assert now["reason"]["membership"]["validFrom"]["iso"] in data["reason"]["explanation"]
    assert verify(client, w3, result.address, keys[2].address, asset, at=began)["licensed"] is True


def test_a_moment_before_the_asset_was_contributed_is_not_covered(
    client: httpx.Client, seeded: Seeded, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    asset = result.asset_sample[0]
    contributed = contract_at(w3, "PatentPool", result.address).functions.poolAsset(asset).call()[2]
    data = verify(client, w3, result.address, result.unified_licensees[0], asset, at=contributed - 1)
    assert data["licensed"] is False and data["agree"] is True
    assert data["reason"]["code"] == "asset_not_yet_in_pool"


def test_a_moment_after_a_licence_or_a_term_ended_is_not_covered(
    client: httpx.Client, seeded: Seeded, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    asset = result.asset_sample[0]
    licence = verify(client, w3, result.address, result.unified_licensees[0], asset)["reason"]["licence"]
    ended = verify(client, w3, result.address, result.unified_licensees[0], asset, at=licence["end"]["unix"])
    assert ended["licensed"] is False and ended["agree"] is True
    assert (
        ended["reason"]["code"] == "licence_ended" and ended["reason"]["licence"]["licenceId"] == licence["licenceId"]
    )
    term = verify(client, w3, result.address, result.member_sample[0], asset)["reason"]["membership"]
    lapsed = verify(client, w3, result.address, result.member_sample[0], asset, at=term["validUntil"]["unix"])
    assert lapsed["licensed"] is False and lapsed["agree"] is True
    assert lapsed["reason"]["code"] == "membership_ended"
    last = verify(client, w3, result.address, result.member_sample[0], asset, at=term["validUntil"]["unix"] - 1)
    assert last["licensed"] is True and last["reason"]["code"] == "membership"


def test_at_accepts_unix_seconds_and_iso_dates(client: httpx.Client, seeded: Seeded, w3: Web3) -> None:
    result = seeded.pool("blockchain")
    member, asset = result.member_sample[0], result.asset_sample[0]
    head = verify(client, w3, result.address, member, asset)
    ts = head["at"]["unix"]
    as_iso = verify(client, w3, result.address, member, asset, at=head["at"]["iso"])
    as_offset = verify(client, w3, result.address, member, asset, at=f"{head['at']['iso'][:-1]}+00:00")
    as_unix = verify(client, w3, result.address, member, asset, at=str(ts))
    assert as_iso["at"] == as_offset["at"] == as_unix["at"] == head["at"]
    day = verify(client, w3, result.address, member, asset, at="2001-02-03")
    assert day["at"] == {"unix": 981158400, "iso": "2001-02-03T00:00:00Z"}
    assert day["licensed"] is False and day["reason"]["code"] == "asset_not_yet_in_pool"


def test_bad_verify_input_is_a_4xx_problem(client: httpx.Client, seeded: Seeded) -> None:
    result = seeded.pool("blockchain")
    good: dict[str, Any] = {
        "pool": result.address,
        "licensee": result.member_sample[0],
        "asset": result.asset_sample[0],
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"at": "-1"}, 422, "before 1970"),
        ({"at": "1700000000000"}, 422, "milliseconds"),
        ({"at": str(2**64)}, 422, "after 9999"),
        ({"at": "253402300800"}, 422, "after 9999"),
        ({"at": "9999-12-31T23:59:59-01:00"}, 422, "after 9999"),
        ({"at": "1969-12-31"}, 422, "before 1970"),
        ({"at": "1.7e9"}, 422, "ISO 8601"),
        ({"at": "yesterday"}, 422, "ISO 8601"),
        ({"licensee": "0x1234"}, 400, "licensee must be an address"),
        ({"pool": "not-a-pool"}, 400, "the pool must be an address"),
        ({"asset": -1}, 422, "asset"),
        ({"asset": 2**64}, 422, "asset"),
        ({"asset": "one"}, 422, "asset"),
    ]
    for change, status, words in cases:
        response = client.get("/v1/licences/verify", params=good | change)
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"], (change, response.json()["detail"])
    assert client.get("/v1/licences/verify", params={"pool": result.address}).status_code == 422
    # The largest accepted moment is still answered.
    assert client.get("/v1/licences/verify", params=good | {"at": "253402300799"}).status_code == 200


def test_indexed_answer_equals_the_chains_for_every_sampled_licensee_and_asset(
    client: httpx.Client, seeded: Seeded, w3: Web3
) -> None:
    codes: set[str] = set()
    for key, other in (("blockchain", "metaverse"), ("metaverse", "blockchain")):
        result = seeded.pool(key)
        licensees = result.member_sample + result.unified_licensees + result.revoked_licensees + [NOBODY]
        assets = result.asset_sample + result.suspended_assets + seeded.pool(other).asset_sample[:1]
        for licensee in licensees:
            for asset in assets:
                data = verify(client, w3, result.address, licensee, asset)
                assert data["agree"] is True, (key, licensee, asset, data["agreement"])
                assert data["licensed"] == (data["reason"]["code"] in ("membership", "licence"))
                codes.add(data["reason"]["code"])
    expected = {"membership", "licence", "licence_revoked", "not_member", "asset_suspended", "asset_not_in_pool"}
    assert expected <= codes


# ------------------------------------------------------------------ the chain changes under the API


def _join(w3: Web3, who: LocalAccount, seeded: Seeded, pool: str) -> PatentPoolClient:
    """`who` joins `pool` at the startup tier, paying with freshly minted test dollars."""
    member = PatentPoolClient(Chain(w3, who), pool)
    fee = int(member.tier_fee(0))
    token = seeded.deployment.payment_token
    assert token is not None
    coin = StablecoinClient(Chain(w3, who), token)
    coin.mint(who.address, fee)
    coin.approve(pool, fee)
    member.join(0, fee)
    return member


def test_a_revoked_licence_shows_on_the_chain_at_once_and_in_the_mirror_after_indexing(
    client: httpx.Client,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    chain_change: Callable[[], None],
) -> None:
    result = seeded.pool("blockchain")
    licensee, asset = result.unified_licensees[0], result.asset_sample[0]
    before = verify(client, w3, result.address, licensee, asset)
    assert before["licensed"] is True and before["reason"]["code"] == "licence"
    licence_id = before["reason"]["licence"]["licenceId"]
    # A day passes before the revocation, so it comes strictly after the moment of the first answer
    # (on an idle machine the demo's last licences, that answer and the revocation share one second).
    advance(w3, 86_400)

    operator = PatentPoolClient(Chain(w3, keys[0]), result.address)
    operator.revoke_licence(licence_id, keccak(text="test: revoked under the API"))

    stale = verify(client, w3, result.address, licensee, asset)
    assert stale["licensed"] is False
    assert stale["indexedLicensed"] is True and stale["agree"] is False
    assert stale["agreement"].startswith("MISMATCH")
    assert "blocks behind" in stale["agreement"]
    assert stale["blockNumber"] > stale["indexedBlockNumber"]

    chain_change()
    after = verify(client, w3, result.address, licensee, asset)
    assert after["licensed"] is False and after["agree"] is True
    assert after["indexedBlockNumber"] == after["blockNumber"]
    assert after["reason"]["code"] == "licence_revoked"
    assert [r["licenceId"] for r in after["reason"]["revokedLicences"]] == [licence_id]
    revoked_at = after["reason"]["revokedLicences"][0]["revokedAt"]["unix"]
    assert before["at"]["unix"] < revoked_at <= after["at"]["unix"]

    # The revocation takes effect when it happens (contracts v2): a moment before it stays licensed,
    # on the chain and in the mirror alike.
    earlier = verify(client, w3, result.address, licensee, asset, at=before["at"]["unix"])
    assert earlier["licensed"] is True and earlier["agree"] is True
    assert earlier["reason"]["code"] == "licence" and earlier["reason"]["licence"]["licenceId"] == licence_id
    assert earlier["reason"]["revokedLicences"] == []
    at_revocation = verify(client, w3, result.address, licensee, asset, at=revoked_at)
    assert at_revocation["licensed"] is False and at_revocation["agree"] is True
    assert at_revocation["reason"]["code"] == "licence_revoked"


def test_an_upheld_dispute_suspends_the_asset_on_the_chain_at_once_and_in_the_mirror_after_indexing(
    client: httpx.Client,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    chain_change: Callable[[], None],
) -> None:
    result = seeded.pool("blockchain")
    member, asset = result.member_sample[0], result.asset_sample[0]
    before = verify(client, w3, result.address, member, asset)
    assert before["licensed"] is True
    # A day passes before the dispute, so the suspension comes strictly after the moment of the first
    # answer (on an idle machine the demo's last joins, that answer and the ruling share one second).
    advance(w3, 86_400)

    # Only a participant may open a dispute: anvil's key 1 joins first; the operator (key 0) rules.
    challenger = _join(w3, keys[1], seeded, result.address)
    dispute_id = challenger.open_dispute(asset, keccak(text="test: prior art")).value
    PatentPoolClient(Chain(w3, keys[0]), result.address).resolve_dispute(dispute_id, True, keccak(text="upheld"))

    stale = verify(client, w3, result.address, member, asset)
    assert stale["licensed"] is False and stale["indexedLicensed"] is True and stale["agree"] is False
    assert stale["agreement"].startswith("MISMATCH")

    chain_change()
    after = verify(client, w3, result.address, member, asset)
    assert after["licensed"] is False and after["agree"] is True
    assert after["reason"]["code"] == "asset_suspended"
    assert after["reason"]["dispute"]["disputeId"] == dispute_id
    assert after["reason"]["dispute"]["arbiter"] == keys[0].address

    # The suspension takes effect when the dispute is upheld (contracts v2): a moment before it
    # stays licensed, on the chain and in the mirror alike.
    contract = contract_at(w3, "PatentPool", result.address)
    suspended_at = int(contract.functions.poolAsset(asset).call()[6])
    assert before["at"]["unix"] < suspended_at <= after["at"]["unix"]
    earlier = verify(client, w3, result.address, member, asset, at=before["at"]["unix"])
    assert earlier["licensed"] is True and earlier["agree"] is True
    assert earlier["reason"]["code"] == "membership"
    at_suspension = verify(client, w3, result.address, member, asset, at=suspended_at)
    assert at_suspension["licensed"] is False and at_suspension["agree"] is True
    assert at_suspension["reason"]["code"] == "asset_suspended"

    # Issue 14, point 8: the arbiter lifts the suspension on appeal, from that moment on; the
    # suspended times keep their answer, on the chain and in the mirror alike.
    advance(w3, 10)
    PatentPoolClient(Chain(w3, keys[0]), result.address).lift_suspension(asset, keccak(text="appeal granted"))
    chain_change()
    lifted = verify(client, w3, result.address, member, asset)
    assert lifted["licensed"] is True and lifted["agree"] is True
    assert lifted["reason"]["code"] == "membership"
    still = verify(client, w3, result.address, member, asset, at=suspended_at)
    assert still["licensed"] is False and still["agree"] is True
    assert still["reason"]["code"] == "asset_suspended"


def test_a_lapsed_membership_is_not_licensed_and_its_past_stays_licensed(
    client: httpx.Client, seeded: Seeded, w3: Web3, chain_change: Callable[[], None]
) -> None:
    result = seeded.pool("blockchain")
    member, asset = result.member_sample[0], result.asset_sample[0]
    before = verify(client, w3, result.address, member, asset)
    assert before["licensed"] is True
    valid_until = before["reason"]["membership"]["validUntil"]["unix"]

    advance(w3, valid_until - before["at"]["unix"] + 1)

    # A lapse is no event: the mirror's rule reads the same clock, so it agrees before indexing too.
    lapsed = verify(client, w3, result.address, member, asset)
    assert lapsed["at"]["unix"] > valid_until
    assert lapsed["licensed"] is False and lapsed["agree"] is True
    assert lapsed["reason"]["code"] == "membership_ended"
    assert before["reason"]["membership"]["validUntil"]["iso"] in lapsed["reason"]["explanation"]
    past = verify(client, w3, result.address, member, asset, at=before["at"]["unix"])
    assert past["licensed"] is True and past["reason"]["code"] == "membership"

    chain_change()
    after = verify(client, w3, result.address, member, asset)
    assert after["licensed"] is False and after["agree"] is True
    assert after["reason"]["code"] == "membership_ended"
    assert after["indexedBlockNumber"] == after["blockNumber"]


def test_a_withdrawn_asset_stays_licensed_to_terms_paid_before_and_not_to_terms_paid_after(
    client: httpx.Client,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    chain_change: Callable[[], None],
) -> None:
    result = seeded.pool("blockchain")
    member, asset, kept = result.member_sample[0], result.asset_sample[0], result.asset_sample[1]
    contract = contract_at(w3, "PatentPool", result.address)
    founder = contract.functions.poolAsset(asset).call()[0]
    # The founder's key is the demo's own; anvil lets the test send as it instead.
    w3.provider.make_request("anvil_impersonateAccount", [founder])  # type: ignore[arg-type]
    try:
        announced = contract.functions.announceWithdrawal(asset).transact({"from": founder})
        assert w3.eth.wait_for_transaction_receipt(announced)["status"] == 1
        # The block that reaches the effective time, set exactly: a relative evm_increaseTime can
        # fall short here when an earlier test's reverted blocks left anvil's clock behind them.
        # The transaction goes into that block with a fixed gas limit (no estimate against anvil's
        # pending clock).
        effective_at = int(contract.functions.poolAsset(asset).call()[3])
        w3.provider.make_request("evm_setNextBlockTimestamp", [effective_at])  # type: ignore[arg-type]
        completed = contract.functions.completeWithdrawal(asset).transact({"from": founder, "gas": 500_000})
        assert w3.eth.wait_for_transaction_receipt(completed)["status"] == 1
    finally:
        w3.provider.make_request("anvil_stopImpersonatingAccount", [founder])  # type: ignore[arg-type]
    withdrawn_at = contract.functions.poolAsset(asset).call()[4]
    assert withdrawn_at > 0

    # A member who joins after the withdrawal (anvil key 1).
    _join(w3, keys[1], seeded, result.address)
    chain_change()

    paid_before = verify(client, w3, result.address, member, asset)
    assert paid_before["licensed"] is True and paid_before["agree"] is True
    assert paid_before["reason"]["code"] == "membership"
    assert paid_before["reason"]["asset"]["status"] == "withdrawn"
    assert paid_before["reason"]["asset"]["withdrawnAt"]["unix"] == withdrawn_at

    paid_after = verify(client, w3, result.address, keys[1].address, asset)
    assert paid_after["licensed"] is False and paid_after["agree"] is True
    assert paid_after["reason"]["code"] == "asset_withdrawn"
    assert paid_after["reason"]["membership"]["paidAt"]["unix"] >= withdrawn_at
    assert verify(client, w3, result.address, keys[1].address, kept)["reason"]["code"] == "membership"

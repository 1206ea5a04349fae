"""Lists and statements from the SQL mirror (`pool members|assets|offers|licences|disputes`,
`revenue statement`), checked against the chain: every row, status and balance the mirror shows is
what the contracts answer; pages, CSV and JSON agree; tables fit 80 columns with whole addresses."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.deploy import Deployment, write_deployment
from tests.conftest import USDC, YEAR, World, advance, chain_snapshot, make_world, now

F1, F2, M1, M2, M3, L1, L2 = 1, 4, 2, 3, 7, 8, 9


@pytest.fixture(scope="module")
def mirrored(
    w3: Web3, deployment: Deployment, keys: list[LocalAccount], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[World, Path, dict[str, str], dict[str, Any]]]:
    """A pool with founders, members, offers, licences, a suspension, a withdrawal, payments and
    claims, mirrored into SQLite by `patentpool index`: built once for the module, whose tests only
    read it, and reverted after the last."""
    with chain_snapshot(w3):
        yield _mirrored(make_world(w3, deployment, keys), tmp_path_factory.mktemp("mirrored"))


def _mirrored(world: World, tmp_path: Path) -> tuple[World, Path, dict[str, str], dict[str, Any]]:
    pool, keys = world.pool, world.keys
    a1 = world.founder_with_asset(F1)
    a2 = world.founder_with_asset(F2, {"US": 1, "CN": 1, "JP": 1})
    a3 = world.founder_with_asset(F2)
    pool.set_tier_fee(0, 500 * USDC)
    pool.set_tier_fee(1, 2000 * USDC)
    pool.activate()
    for who, tier, fee in ((M1, 0, 500), (M2, 1, 2000)):
        world.fund(who, fee * USDC)
        world.pool_as(who).join(tier, fee * USDC)
    t = now(world.w3)
    offers = [
        pool.offer_licence(keys[L1].address, [], t, t + YEAR, 1500 * USDC, b"\x01" * 32).value,
        pool.offer_licence(keys[L2].address, [a2], t, t + YEAR, 700 * USDC, b"\x02" * 32).value,
        pool.offer_licence(keys[L2].address, [], t, t + YEAR, 900 * USDC, b"\x03" * 32).value,
    ]
    world.fund(L1, 1500 * USDC)
    first_licence = world.pool_as(L1).accept_offer(offers[0]).value
    pool.cancel_offer(offers[1])
    world.fund(L2, 900 * USDC)
    second_licence = world.pool_as(L2).accept_offer(offers[2]).value
    pool.revoke_licence(second_licence, b"\x04" * 32)
    world.pool_as(F2).claim()
    dispute = world.pool_as(M1).open_dispute(a3, b"\x05" * 32).value
    pool.resolve_dispute(dispute, True, b"\x06" * 32)
    effective = world.pool_as(F1).announce_withdrawal(a1).value
    advance(world.w3, effective - now(world.w3) + 1)
    pool.complete_withdrawal(a1)
    world.fund(M3, 500 * USDC)  # paid after the withdrawal and the suspension: F2's weight alone
    world.pool_as(M3).join(0, 500 * USDC)
    manifest = write_deployment(world.deployment, tmp_path / "deployments")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    env.update(
        PATENTPOOL_RPC_URL=world.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        DATABASE_URL=f"sqlite:///{tmp_path / 'mirror.db'}",
    )
    indexed = subprocess.run(
        [sys.executable, "-m", "patentpool", "index", "--deployment", str(manifest), "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    ids = {"assets": [a1, a2, a3], "licences": [first_licence, second_licence], "offers": offers, "dispute": dispute}
    return world, manifest, env, ids


def cli(env: dict[str, str], manifest: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patentpool", *args],
        capture_output=True, text=True, env={**env, "COLUMNS": str(columns), "NO_COLOR": "1"}, timeout=120,
        check=False,
    )  # fmt: skip


def listing(env: dict[str, str], manifest: Path, *args: str) -> dict[str, Any]:
    result = cli(env, manifest, *args, "--json")
    assert result.returncode == 0, (args, result.stderr)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_the_lists_match_the_chain(mirrored: tuple[World, Path, dict[str, str], dict[str, Any]]) -> None:
    world, manifest, env, ids = mirrored
    pool, keys = world.pool, world.keys
    address = pool.address

    members = listing(env, manifest, "pool", "members", address)
    assert members["total"] == 3 and members["symbol"] == "tUSD" and members["decimals"] == 6
    for item in members["items"]:
        on_chain = pool.membership(item["member"])
        assert item["validUntil"] == on_chain["validUntil"]
        assert item["tier"] == ["startup", "sme", "enterprise"][on_chain["tier"]]
        assert item["status"] == "current"
        assert len(item["txHash"]) == 66
    assert {i["member"] for i in members["items"]} == {keys[w].address for w in (M1, M2, M3)}

    assets = {i["assetId"]: i for i in listing(env, manifest, "pool", "assets", address)["items"]}
    a1, a2, a3 = ids["assets"]
    assert {k: v["status"] for k, v in assets.items()} == {a1: "withdrawn", a2: "active", a3: "suspended"}
    assert assets[a3]["suspendedByDispute"] == ids["dispute"]
    for asset_id, item in assets.items():
        held = pool.pool_asset(asset_id)
        assert item["founder"] == held["founder"]
        assert item["weight"] == held["weight"]
        assert item["withdrawnAt"] == held["withdrawnAt"]
        assert (item["status"] == "suspended") == held["suspended"]

    offers = {i["offerId"]: i for i in listing(env, manifest, "pool", "offers", address)["items"]}
    assert [offers[o]["status"] for o in ids["offers"]] == ["accepted", "cancelled", "accepted"]
    for offer_id, item in offers.items():
        on_chain = pool.offer(offer_id)
        assert (item["price"], item["licensee"], item["assetIds"]) == (
            on_chain["price"],
            on_chain["licensee"],
            on_chain["assetIds"],
        )
        assert on_chain["open"] is False

    licences = {i["licenceId"]: i for i in listing(env, manifest, "pool", "licences", address)["items"]}
    assert [licences[n]["status"] for n in ids["licences"]] == ["active", "revoked"]
    for licence_id, item in licences.items():
        on_chain = pool.licence(licence_id)
        assert (item["licensee"], item["price"], item["end"]) == (
            on_chain["licensee"],
            on_chain["price"],
            on_chain["end"],
        )
        assert item["revokedAt"] == on_chain["revokedAt"]

    disputes = listing(env, manifest, "pool", "disputes", address)["items"]
    assert [(d["disputeId"], d["assetId"], d["status"]) for d in disputes] == [(ids["dispute"], a3, "upheld")]
    assert pool.dispute(ids["dispute"])["status"] == 2


def test_a_statement_accounts_for_every_payment_and_claim(
    mirrored: tuple[World, Path, dict[str, str], dict[str, Any]],
) -> None:
    world, manifest, env, _ = mirrored
    pool = world.pool
    for who in (F1, F2, 0):
        account = world.keys[who].address
        data = listing(env, manifest, "revenue", "statement", pool.address, "--account", account, "--limit", "1000")
        totals = data["totals"]
        assert totals["balance"] == pool.claimable(account), who
        claims = [i for i in data["items"] if i["kind"] == "claim"]
        assert sum(c["claimed"] for c in claims) == totals["claimed"]
        for claim in claims:
            receipt = world.w3.eth.get_transaction_receipt(claim["txHash"])
            assert receipt["from"] == account and receipt["blockNumber"] == claim["blockNumber"]
    f1 = listing(env, manifest, "revenue", "statement", pool.address, "--account", world.keys[F1].address)
    # F1's asset left before the last join: that payment credits F1 nothing and is not on its statement.
    assert len([i for i in f1["items"] if i["kind"] == "payment"]) == 4
    f2 = listing(env, manifest, "revenue", "statement", pool.address, "--account", world.keys[F2].address)
    assert [i["kind"] for i in f2["items"]].count("claim") == 1
    assert f2["totals"]["claimed"] > 0


def test_pages_csv_and_json_agree(mirrored: tuple[World, Path, dict[str, str], dict[str, Any]]) -> None:
    world, manifest, env, _ = mirrored
    address = world.pool.address
    everything = listing(env, manifest, "pool", "members", address)["items"]
    page = listing(env, manifest, "pool", "members", address, "--limit", "2", "--offset", "1")
    assert page["total"] == 3 and page["offset"] == 1 and page["items"] == everything[1:3]
    result = cli(env, manifest, "pool", "members", address, "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["member"] for r in rows] == [i["member"] for i in everything]
    assert [int(r["totalPaid"]) for r in rows] == [i["totalPaid"] for i in everything]
    assert {r["totalPaidTokens"] for r in rows} == {"500.000000", "2000.000000"}


@pytest.mark.parametrize("command", ["members", "assets", "offers", "licences", "disputes"])
def test_list_tables_fit_80_columns_with_whole_addresses(
    mirrored: tuple[World, Path, dict[str, str], dict[str, Any]], command: str
) -> None:
    world, manifest, env, _ = mirrored
    result = cli(env, manifest, "pool", command, world.pool.address, columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result.stdout
    items = listing(env, manifest, "pool", command, world.pool.address)["items"]
    for item in items:
        for value in item.values():
            if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
                assert value in result.stdout, (value, result.stdout)
    assert "…" not in result.stdout
    if command == "members":
        assert "paid (tUSD)" in result.stdout and "2,000.00" in result.stdout


def test_a_statement_table_shows_whole_transactions_in_80_columns(
    mirrored: tuple[World, Path, dict[str, str], dict[str, Any]],
) -> None:
    world, manifest, env, _ = mirrored
    account = world.keys[F2].address
    result = cli(env, manifest, "revenue", "statement", world.pool.address, "--account", account, columns=80)
    assert result.returncode == 0, result.stderr
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    joined = "".join(result.stdout.split())
    for item in listing(env, manifest, "revenue", "statement", world.pool.address, "--account", account)["items"]:
        assert item["txHash"] in joined
    assert "claimable" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("pool", "members", "{pool}", "--database-url", "sqlite:///{tmp}/none.db"), "no SQL mirror at"),
        (("pool", "members", "{coin}"), "is not in the SQL mirror"),
        (("pool", "members", "0x123"), "'0x123' is not an Ethereum address"),
        (("pool", "members", "{pool}", "--json", "--csv"), "give --json or --csv, not both"),
        (("pool", "members", "{pool}", "--limit", "0"), "Invalid value for '--limit'"),
        (("revenue", "statement", "{pool}"), "Missing option '--account'"),
    ],
)
def test_bad_list_input_is_one_line_and_exit_2(
    mirrored: tuple[World, Path, dict[str, str], dict[str, Any]], tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    world, manifest, env, _ = mirrored
    filled = [a.format(pool=world.pool.address, coin=world.coin.address, tmp=tmp_path) for a in args]
    result = cli(env, manifest, *filled)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert fragment in " ".join(result.stderr.split())
    assert not (tmp_path / "none.db").exists()

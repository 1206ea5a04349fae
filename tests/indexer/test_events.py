"""Every event type lands in the raw table, decoded as web3 decodes it, and in its projection with
the fields the contracts' views report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from web3 import Web3

from indexer.db import make_engine, upgrade
from indexer.decode import event_abis
from indexer.projections import HANDLED_EVENTS, RAW_ONLY_EVENTS
from indexer.schema import PROJECTION_TABLES, Event
from registry.client import contract_at, role_id
from registry.deploy import Deployment
from registry.node import AnvilNode
from registry.types import Parameter
from tests.conftest import World, make_world
from tests.indexer.conftest import index_chain, new_database
from tests.indexer.scenario import Scenario, run_scenario


def rows(engine: Engine, table: str, **where: Any) -> list[dict[str, Any]]:
    t = sa.table(table)
    clause = " and ".join(f"{k} = :{k}" for k in where) or "1 = 1"
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"select * from {t.name} where {clause}"), where).mappings()]


def one(engine: Engine, table: str, **where: Any) -> dict[str, Any]:
    found = rows(engine, table, **where)
    assert len(found) == 1, (table, where, found)
    return found[0]


def _web3_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_web3_value(v) for v in value]
    return value


def _ours(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, list):
        return [_ours(v) for v in value]
    return value


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def indexed(
    request: pytest.FixtureRequest,
    anvil: AnvilNode,
    deployment: Deployment,
    keys: list[LocalAccount],
    tmp_path_factory: pytest.TempPathFactory,
    postgres_unavailable: str | None,
) -> Iterator[tuple[Scenario, Engine, World]]:
    """The scenario played once per backend (and reverted after the module), then indexed."""
    databases = new_database(request.param, tmp_path_factory.mktemp("events"), postgres_unavailable)
    w3 = anvil.web3()
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    engine = None
    try:
        world = make_world(w3, deployment, keys)
        scenario = run_scenario(world)
        engine = make_engine(next(databases))
        upgrade(engine)
        index_chain(engine, anvil, deployment)
        yield scenario, engine, world
    finally:
        w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]
        if engine is not None:
            engine.dispose()
        next(databases, None)


def test_every_event_lands_in_the_raw_table_decoded_like_web3(indexed: tuple[Scenario, Engine, World]) -> None:
    scenario, engine, world = indexed
    w3 = world.w3
    with engine.connect() as conn:
        stored = conn.execute(sa.select(Event.__table__)).mappings().all()  # type: ignore[attr-defined]
    names = {r["event_name"] for r in stored}
    every = {abi.name for abi in event_abis().values()}
    # RoleAdminChanged is in the ABIs (AccessControl) but no contract of the suite ever emits it.
    assert every - names == {"RoleAdminChanged"}
    assert "Unknown" not in names

    # The same logs straight from the node, decoded by web3's own event classes.
    pool, factory, asset = (
        scenario.pool,
        world.deployment.address("PoolFactory"),
        world.deployment.address("PatentAsset"),
    )
    start = world.deployment.start_block
    logs = w3.eth.get_logs({"fromBlock": start, "toBlock": "latest", "address": [factory, asset, pool]})  # type: ignore[typeddict-item]
    topic = "0x" + "00" * 12 + pool[2:].lower()
    transfer = Web3.keccak(text="Transfer(address,address,uint256)")
    for position in (1, 2):
        topics: list[Any] = [transfer, None, None]
        topics[position] = topic
        logs += w3.eth.get_logs(
            {"fromBlock": start, "toBlock": "latest", "address": world.coin.address, "topics": topics}
        )
    by_key = {(r["block_number"], r["log_index"]): r for r in stored}
    assert len(stored) == len({(log["blockNumber"], log["logIndex"]) for log in logs})
    contracts = {
        factory: contract_at(w3, "PoolFactory", factory),
        asset: contract_at(w3, "PatentAsset", asset),
        pool: contract_at(w3, "PatentPool", pool),
        world.coin.address: contract_at(w3, "TestStablecoin", world.coin.address),
    }
    for log in logs:
        row = by_key[(log["blockNumber"], log["logIndex"])]
        assert row["tx_hash"] == "0x" + log["transactionHash"].hex()
        assert row["block_hash"] == "0x" + log["blockHash"].hex()
        assert row["address"] == log["address"]
        decoded = contracts[log["address"]].events[row["event_name"]]().process_log(log)
        assert {k: _ours(v) for k, v in row["args"].items()} == {k: _web3_value(v) for k, v in decoded["args"].items()}
    assert {r["event_name"] for r in stored} <= HANDLED_EVENTS | RAW_ONLY_EVENTS


def test_pool_projection_matches_the_pool_views(indexed: tuple[Scenario, Engine, World]) -> None:
    scenario, engine, world = indexed
    pool = world.pool
    row = one(engine, "pool", address=scenario.pool)
    profile, rule, counts = pool.profile(), pool.qualification(), pool.counts()
    assert (row["name"], row["kind"], row["field"], row["territory"]) == (
        profile["name"], profile["kind"], profile["field"], profile["territory"]
    )  # fmt: skip
    assert row["lifecycle"] == profile["lifecycle"] == 2
    assert row["payment_token"] == profile["paymentToken"]
    assert row["treasury"] == profile["treasury"] == world.keys[5].address
    assert row["operator_share_bps"] == profile["operatorShareBps"] == 2000
    assert row["operator"] == world.operator.address
    assert row["asset_registry"] == world.assets.address
    assert row["withdrawal_notice"] == 0
    bounds = pool.bounds()
    assert (row["max_operator_share_bps"], row["change_delay"], row["max_licence_length"]) == (
        bounds["maxOperatorShareBps"], bounds["changeDelay"], bounds["maxLicenceLength"]
    )  # fmt: skip
    assert row["max_licence_length"] == 2 * 365 * 86_400
    assert row["pending_admin"] == pool.default_admin()["pendingAdmin"] == world.keys[9].address
    assert row["paused"] in (False, 0) and not pool.paused()
    assert _json(row["required_jurisdictions"]) == rule["jurisdictions"]
    assert (row["min_granted"], row["min_score_bps"]) == (rule["minGranted"], rule["minScoreBps"])
    assert int(row["total_weight"]) == pool.total_weight()
    assert (row["member_count"], row["asset_count"], row["offer_count"], row["licence_count"]) == (
        counts["members"], counts["assets"], counts["offers"], counts["licences"]
    )  # fmt: skip
    assert row["dispute_count"] == counts["disputes"] == 3
    assert int(row["dispute_bond"]) == pool.dispute_bond() == 10 * 10**6
    assert int(row["bonds_held"]) == pool.bonds_held() == 0
    assert row["founder_count"] == 2
    fees = {r["tier"]: int(r["annual_fee"]) for r in rows(engine, "tier_fee", pool=scenario.pool)}
    assert fees == {t: pool.tier_fee(t) for t in range(3)}
    payments = rows(engine, "payment", pool=scenario.pool)
    assert int(row["total_revenue"]) == sum(int(p["amount"]) for p in payments) == (100 + 100 + 300 + 50) * 10**6
    assert int(row["acc_revenue_per_weight"]) == int(payments[-1]["acc_revenue_per_weight"])
    claims = rows(engine, "claim", pool=scenario.pool)
    assert {c["account"] for c in claims} == {world.keys[1].address, world.keys[5].address}
    assert int(row["total_claimed"]) == sum(int(c["amount"]) for c in claims)
    transfers = rows(engine, "token_transfer")
    into = sum(int(t["value"]) for t in transfers if t["to_address"] == scenario.pool)
    out = sum(int(t["value"]) for t in transfers if t["from_address"] == scenario.pool)
    assert into - out == world.coin.balance_of(scenario.pool)
    # The three disputes' bonds came in too, held apart from revenue until their rulings.
    bonds = sum(int(d["bond"]) for d in rows(engine, "dispute", pool=scenario.pool))
    assert bonds == 3 * 10 * 10**6
    assert into == int(row["total_revenue"]) + bonds and out == int(row["total_claimed"])


def test_announced_changes_match_the_pending_views(indexed: tuple[Scenario, Engine, World]) -> None:
    scenario, engine, world = indexed
    pool = world.pool
    changes = {r["parameter"]: r for r in rows(engine, "parameter_change", pool=scenario.pool)}
    assert {p: c["status"] for p, c in changes.items()} == {
        Parameter.TIER_FEE_1: "applied",
        Parameter.MAX_LICENCE_LENGTH: "applied",
        Parameter.OPERATOR_SHARE: "announced",
        Parameter.QUALIFICATION: "announced",
    }
    share = changes[Parameter.OPERATOR_SHARE]
    assert {"value": int(share["value"]), "effectiveAt": int(share["effective_at"])} == pool.pending_change(
        Parameter.OPERATOR_SHARE
    )
    rule = changes[Parameter.QUALIFICATION]
    assert {
        "jurisdictions": _json(rule["jurisdictions"]),
        "minGranted": rule["min_granted"],
        "minScoreBps": rule["min_score_bps"],
        "effectiveAt": int(rule["effective_at"]),
    } == pool.pending_qualification()
    for parameter in (Parameter.TIER_FEE_1, Parameter.MAX_LICENCE_LENGTH):
        assert pool.pending_change(parameter) == {"value": 0, "effectiveAt": 0}
        assert int(changes[parameter]["applied_at"]) >= int(changes[parameter]["effective_at"]) > 0
    assert int(changes[Parameter.TIER_FEE_1]["value"]) == pool.tier_fee(1) == 250 * 10**6


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_founders_members_and_contributions_match_the_views(indexed: tuple[Scenario, Engine, World]) -> None:
    scenario, engine, world = indexed
    pool = world.pool
    # Key 9 bought a1 (point 2): a holder with weight, never admitted.
    for who, assets in ((1, 1), (2, 0), (9, 1)):
        founder = world.keys[who].address
        row = one(engine, "founder", pool=scenario.pool, founder=founder)
        assert int(row["weight"]) == pool.founder_weight(founder)
        assert int(row["asset_count"]) == assets
    assert pool.pool_asset(scenario.assets["a1"])["founder"] == world.keys[9].address
    assert pool.pool_asset(scenario.assets["a2"])["founder"] == world.keys[1].address
    for name, asset_id in scenario.assets.items():
        row = one(engine, "contribution", pool=scenario.pool, asset_id=asset_id)
        view = pool.pool_asset(asset_id)
        assert row["founder"] == view["founder"]
        assert int(row["weight"]) == view["weight"]
        assert int(row["contributed_at"]) == view["contributedAt"]
        assert int(row["withdrawal_effective_at"]) == view["withdrawalEffectiveAt"]
        assert int(row["withdrawal_announced_at"]) == view["withdrawalAnnouncedAt"]
        assert int(row["withdrawn_at"]) == view["withdrawnAt"]
        assert bool(row["suspended"]) == view["suspended"]
        assert int(row["suspended_at"]) == view["suspendedAt"]
        assert row["status"] == {"a1": "active", "a2": "suspended", "a3": "withdrawn"}[name]
        # a1 was suspended by the appealed dispute and lifted on appeal, then re-weighed (point 7).
        assert view["weight"] == {"a1": 1, "a2": 0, "a3": 0}[name]
        lifted = int(row["lifted_at"])
        assert (lifted > int(row["suspended_at"]) > 0) if name == "a1" else lifted == 0
    assert (
        one(engine, "contribution", asset_id=scenario.assets["a2"])["suspended_by_dispute"]
        == scenario.disputes["upheld"]
    )
    for who, tier, renewals in ((3, 0, 1), (4, 2, 0)):
        member = world.keys[who].address
        row = one(engine, "member", pool=scenario.pool, member=member)
        view = pool.membership(member)
        assert (row["tier"], int(row["valid_until"]), row["renewals"]) == (view["tier"], view["validUntil"], renewals)
        assert row["tier"] == tier


def test_offers_licences_and_disputes_match_the_views(indexed: tuple[Scenario, Engine, World]) -> None:
    scenario, engine, world = indexed
    pool = world.pool
    for name, offer_id in scenario.offers.items():
        row = one(engine, "offer", pool=scenario.pool, offer_id=offer_id)
        view = pool.offer(offer_id)
        assert row["licensee"] == view["licensee"]
        assert (int(row["start"]), int(row["end"]), int(row["price"])) == (view["start"], view["end"], view["price"])
        assert row["terms_hash"] == "0x" + view["termsHash"].hex()
        assert _json(row["asset_ids"]) == view["assetIds"]
        assert int(row["licence_id"]) == view["licenceId"]
        assert int(row["accept_by"]) == view["acceptBy"] > 0
        assert row["status"] == {"granted": "accepted", "cancelled": "cancelled"}[name]
        assert view["open"] is False
    licence_id = scenario.licences["revoked"]
    row = one(engine, "licence", pool=scenario.pool, licence_id=licence_id)
    view = pool.licence(licence_id)
    assert row["licensee"] == view["licensee"] and int(row["offer_id"]) == view["offerId"]
    assert (int(row["start"]), int(row["end"]), int(row["price"])) == (view["start"], view["end"], view["price"])
    assert int(row["granted_at"]) == view["grantedAt"]
    assert bool(row["whole_pool"]) == view["wholePool"] is False
    assert _json(row["asset_ids"]) == [scenario.assets["a1"]]
    assert row["status"] == "revoked" and view["revoked"]
    assert int(row["revoked_at"]) == view["revokedAt"] > 0
    assert row["reason_hash"] == "0x" + Web3.keccak(text="breach").hex()
    for name, dispute_id in scenario.disputes.items():
        row = one(engine, "dispute", pool=scenario.pool, dispute_id=dispute_id)
        view = pool.dispute(dispute_id)
        assert int(row["asset_id"]) == view["assetId"] and row["challenger"] == view["challenger"]
        assert row["evidence_hash"] == "0x" + view["evidenceHash"].hex()
        assert row["ruling_hash"] == "0x" + view["rulingHash"].hex()
        assert row["status"] == {2: "upheld", 3: "dismissed"}[view["status"]]
        assert row["status"] == {"upheld": "upheld", "dismissed": "dismissed", "appealed": "upheld"}[name]
        assert row["arbiter"] == world.operator.address
        assert int(row["bond"]) == pool.dispute_bond_of(dispute_id) == 10 * 10**6
        # A dismissed dispute's bond went to a1's holder at the ruling, key 1 (who sold a1 later).
        founder = world.keys[1].address
        assert row["bond_released_to"] == (view["challenger"] if name != "dismissed" else founder)


def test_assets_patents_evaluations_and_roles_match_the_views(indexed: tuple[Scenario, Engine, World]) -> None:
    scenario, engine, world = indexed
    registry = world.assets
    for asset_id in scenario.assets.values():
        row = one(engine, "asset", asset_id=asset_id)
        family, evaluation = registry.family(asset_id), registry.evaluation(asset_id)
        assert row["owner"] == registry.owner_of(asset_id)
        assert (row["family_id"], row["title"], row["dossier_uri"]) == (
            family["familyId"], family["title"], family["dossierURI"]
        )  # fmt: skip
        assert row["dossier_hash"] == "0x" + family["dossierHash"].hex()
        assert row["patent_count"] == registry.patent_count(asset_id)
        assert (row["score_bps"], row["evaluator"], row["model_version"], int(row["evaluated_at"])) == (
            evaluation["scoreBps"], evaluation["evaluator"], evaluation["modelVersion"], evaluation["evaluatedAt"]
        )  # fmt: skip
        for index in range(registry.patent_count(asset_id)):
            patent = one(engine, "patent", asset_id=asset_id, patent_index=index)
            view = registry.patent_at(asset_id, index)
            assert (patent["jurisdiction"], patent["publication_number"], patent["status"]) == (
                view["jurisdiction"], view["publicationNumber"], view["status"]
            )  # fmt: skip
            assert (int(patent["grant_date"]), int(patent["expiry_date"])) == (view["grantDate"], view["expiryDate"])
        history = rows(engine, "evaluation", asset_id=asset_id)
        assert len(history) == 1 and history[0]["report_hash"] == "0x" + evaluation["reportHash"].hex()
    assert one(engine, "asset", asset_id=scenario.assets["a3"])["owner"] == world.keys[2].address
    assert one(engine, "asset", asset_id=scenario.assets["a1"])["dossier_uri"] == "ipfs://IDX-A1/v2"
    squatted = one(engine, "asset", asset_id=scenario.families["squatted"])
    owned = one(engine, "asset", asset_id=scenario.families["owned"])
    assert bool(squatted["rejected"]) == registry.family_rejected(scenario.families["squatted"]) is True
    assert squatted["family_id_claimant"] == world.keys[6].address
    assert bool(owned["rejected"]) is False and owned["family_id_claimant"] == ""
    assert owned["family_id"] == squatted["family_id"] == "IDX-SQUAT"
    assert registry.asset_of_family("IDX-SQUAT") == scenario.families["owned"]
    roles = rows(engine, "role")
    assert roles
    clients = {scenario.pool: world.pool, world.assets.address: world.assets, world.factory.address: world.factory}
    for row in roles:
        client = clients[row["contract"]]
        role_name = next(
            n
            for n in (
                "DEFAULT_ADMIN_ROLE",
                "OPERATOR_ROLE",
                "ARBITER_ROLE",
                "VERIFIER_ROLE",
                "EVALUATOR_ROLE",
                "POOL_CREATOR_ROLE",
                "POOL_FACTORY_ROLE",
            )
            if "0x" + role_id(n).hex() == row["role"]
        )
        assert bool(row["active"]) == client.has_role(role_name, row["account"])
    arbiter = [r for r in roles if r["account"] == world.keys[6].address]
    assert len(arbiter) == 1 and not arbiter[0]["active"]


def test_every_projection_row_points_at_the_event_that_last_changed_it(indexed: tuple[Scenario, Engine, World]) -> None:
    _, engine, _ = indexed
    with engine.connect() as conn:
        events = {
            (r["block_number"], r["log_index"]): r
            for r in conn.execute(sa.select(Event.__table__)).mappings()  # type: ignore[attr-defined]
        }
        for model in PROJECTION_TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            found = conn.execute(sa.select(table)).mappings().all()
            assert found, table.name
            for row in found:
                event = events[(row["block_number"], row["log_index"])]
                assert (row["tx_hash"], row["block_hash"]) == (event["tx_hash"], event["block_hash"]), table.name

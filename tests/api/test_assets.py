"""`/v1/assets`, `/v1/patents` and `/v1/pools/{address}/disputes`, over a really indexed demo chain,
compared with the PatentAsset and PatentPool contracts' own views."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlmodel import Session, col, select
from web3 import Web3

from api.routes.assets import bounded
from indexer.schema import Patent
from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient
from registry.demo import DEMO_AS_OF
from registry.deploy import write_deployment
from registry.dossier import canonical_json, load_dossier
from registry.stability import MODEL_VERSION, evaluate
from registry.types import PatentStatus
from tests.api.conftest import Mirror, Seeded, Server, api_settings, get_json

DISPUTE_STATUS = {1: "open", 2: "upheld", 3: "dismissed"}


@pytest.fixture(scope="module")
def reader(w3: Web3, keys: list[LocalAccount]) -> Chain:
    """A chain to read views through (the key signs nothing)."""
    return Chain(w3, keys[9])


@pytest.fixture(scope="module")
def registry(reader: Chain, seeded: Seeded) -> PatentAssetClient:
    return PatentAssetClient(reader, seeded.deployment.address("PatentAsset"))


@pytest.fixture(scope="module")
def chain_patents(registry: PatentAssetClient, seeded: Seeded) -> dict[tuple[int, int], dict[str, Any]]:
    """Every patent of every family, as the contract lists it."""
    patents = {}
    for asset_id in range(1, registry.total_assets() + 1):
        for index in range(registry.patent_count(asset_id)):
            patents[(asset_id, index)] = registry.patent_at(asset_id, index)
    return patents


def hex32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def walk(client: httpx.Client, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get(path, params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            return rows


def test_an_asset_shows_its_family_patents_and_evaluation_as_the_contract_has_them(
    client: httpx.Client, seeded: Seeded, registry: PatentAssetClient, reader: Chain
) -> None:
    result = seeded.pool("blockchain")
    asset_id = result.asset_sample[0]
    asset = get_json(client, f"/v1/assets/{asset_id}")["data"]

    family = registry.family(asset_id)
    assert asset["familyId"] == family["familyId"]
    assert asset["title"] == family["title"]
    assert asset["dossierHash"] == hex32(family["dossierHash"])
    assert asset["dossierUri"] == family["dossierURI"]
    assert asset["owner"] == registry.owner_of(asset_id)
    assert asset["owner"] in result.founders

    count = registry.patent_count(asset_id)
    assert asset["patentCount"] == count == len(asset["patents"])
    for patent in asset["patents"]:
        on_chain = registry.patent_at(asset_id, patent["index"])
        assert patent["jurisdiction"] == on_chain["jurisdiction"]
        assert patent["publicationNumber"] == on_chain["publicationNumber"]
        assert patent["status"] == PatentStatus(on_chain["status"]).name.lower()
        assert (patent["grantDate"] or {"unix": 0})["unix"] == on_chain["grantDate"]
        assert (patent["expiryDate"] or {"unix": 0})["unix"] == on_chain["expiryDate"]
        assert patent["familyId"] == family["familyId"]
        assert patent["provenance"]["txHash"].startswith("0x")
    assert [p["jurisdiction"] for p in asset["patents"]] == sorted(p["jurisdiction"] for p in asset["patents"])
    for office in asset["offices"]:
        listed = [p for p in asset["patents"] if p["jurisdiction"] == office["jurisdiction"]]
        assert office["patents"] == len(listed)
        assert office["granted"] == registry.granted_in(asset_id, office["jurisdiction"])

    evaluation = registry.evaluation(asset_id)
    latest = asset["evaluations"][0]
    assert latest["scoreBps"] == evaluation["scoreBps"] == asset["scoreBps"] == registry.stability_score(asset_id)
    assert latest["evaluator"] == evaluation["evaluator"]
    assert latest["modelVersion"] == evaluation["modelVersion"] == asset["modelVersion"]
    assert latest["reportHash"] == hex32(evaluation["reportHash"])
    assert latest["evaluatedAt"]["unix"] == evaluation["evaluatedAt"]

    [membership] = asset["pools"]
    assert membership["pool"] == result.address
    assert membership["poolName"] == result.name
    assert membership["status"] == "active"
    in_pool = PatentPoolClient(reader, result.address).pool_asset(asset_id)
    assert membership["weight"] == in_pool["weight"]
    assert membership["founder"] == in_pool["founder"]
    assert membership["contributedAt"]["unix"] == in_pool["contributedAt"]
    assert asset["truncated"] is False


def test_every_evaluation_is_listed_newest_first(
    client: httpx.Client,
    seeded: Seeded,
    registry: PatentAssetClient,
    snapshot: None,
    chain_change: Any,
    keys: list[LocalAccount],
    w3: Web3,
) -> None:
    asset_id = seeded.pool("metaverse").asset_sample[0]
    before = get_json(client, f"/v1/assets/{asset_id}")["data"]["evaluations"]
    operator = PatentAssetClient(Chain(w3, keys[0]), registry.address)
    operator.record_evaluation(asset_id, 7_777, b"\x42" * 32, "re-evaluation v2")
    chain_change()
    after = get_json(client, f"/v1/assets/{asset_id}")["data"]
    assert len(after["evaluations"]) == len(before) + 1
    newest = after["evaluations"][0]
    assert (newest["scoreBps"], newest["modelVersion"], newest["reportHash"]) == (
        7_777,
        "re-evaluation v2",
        "0x" + "42" * 32,
    )
    assert after["evaluations"][1:] == before
    assert after["scoreBps"] == registry.stability_score(asset_id) == 7_777


def test_a_suspended_asset_names_the_dispute_that_suspended_it(
    client: httpx.Client, seeded: Seeded, reader: Chain
) -> None:
    result = seeded.pool("blockchain")
    asset_id = result.suspended_assets[0]
    pool = PatentPoolClient(reader, result.address)
    asset = get_json(client, f"/v1/assets/{asset_id}")["data"]
    [membership] = asset["pools"]
    assert membership["status"] == "suspended"
    assert pool.pool_asset(asset_id)["suspended"] is True
    assert membership["weight"] == pool.pool_asset(asset_id)["weight"] == 0
    dispute_id = membership["suspendedByDispute"]
    [dispute] = [d for d in asset["disputes"] if d["disputeId"] == dispute_id]
    on_chain = pool.dispute(dispute_id)
    assert dispute["status"] == "upheld" == DISPUTE_STATUS[on_chain["status"]]
    assert dispute["assetId"] == on_chain["assetId"] == asset_id
    assert dispute["challenger"] == on_chain["challenger"]
    assert dispute["rulingHash"] == hex32(on_chain["rulingHash"])
    assert dispute["arbiter"]


def test_the_asset_list_pages_through_every_family_once(client: httpx.Client, registry: PatentAssetClient) -> None:
    rows = walk(client, "/v1/assets", 13)
    ids = [a["assetId"] for a in rows]
    assert ids == list(range(1, registry.total_assets() + 1))


def test_a_rejected_family_claim_shows_with_its_claimant(
    client: httpx.Client,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    chain_change: Callable[[], None],
) -> None:
    """A verifier frees a squatted family id for its real owner: the asset says so, as the chain does."""
    verifier = PatentAssetClient(Chain(w3, keys[0]), seeded.deployment.address("PatentAsset"))
    asset = get_json(client, "/v1/assets", limit=1)["data"][0]
    assert asset["rejected"] is False and asset["familyIdClaimant"] is None
    claimant = keys[5].address
    verifier.reject_family(asset["assetId"], keccak(text="squatted"), claimant)
    chain_change()
    shown = get_json(client, f"/v1/assets/{asset['assetId']}")["data"]
    assert shown["rejected"] is verifier.family_rejected(asset["assetId"]) is True
    assert shown["familyIdClaimant"] == verifier.family_id_claimant(asset["familyId"]) == claimant
    page = client.get(f"/assets/{asset['assetId']}")
    assert page.status_code == 200 and 'id="rejected"' in page.text and claimant in page.text


def test_assets_filter_by_owner_family_and_pool(
    client: httpx.Client, seeded: Seeded, registry: PatentAssetClient
) -> None:
    result = seeded.pool("blockchain")
    founder = result.founders[0]
    owned = walk(client, "/v1/assets", 50, owner=founder.lower())
    assert owned and all(a["owner"] == founder for a in owned)
    assert {a["assetId"] for a in owned} == {
        a["assetId"] for a in walk(client, "/v1/assets", 500) if a["owner"] == founder
    }

    family_id = owned[0]["familyId"]
    [only] = get_json(client, "/v1/assets", familyId=family_id)["data"]
    assert only["assetId"] == registry.asset_of_family(family_id)

    in_pool = {a["assetId"] for a in walk(client, "/v1/assets", 50, pool=result.address)}
    contributed = {a["assetId"] for a in walk(client, f"/v1/pools/{result.address}/assets", 500)}
    assert in_pool == contributed
    assert len(in_pool) == result.assets
    assert get_json(client, "/v1/assets", owner="0x" + "ab" * 20)["data"] == []


def test_a_publication_is_found_in_any_case_and_with_spaces(
    client: httpx.Client, seeded: Seeded, registry: PatentAssetClient
) -> None:
    asset_id = seeded.pool("blockchain").asset_sample[1]
    patent = registry.patent_at(asset_id, 0)
    number = patent["publicationNumber"]  # e.g. US10123456B2
    spaced = f"{number[:2]} {number[2:6]} {number[6:-1]} {number[-1:]}".lower()
    found = get_json(client, "/v1/patents", publication=spaced)["data"]
    assert [(p["assetId"], p["index"], p["publicationNumber"]) for p in found] == [(asset_id, 0, number)]
    assert found[0]["familyId"] == registry.family(asset_id)["familyId"]
    assert found[0]["status"] == PatentStatus(patent["status"]).name.lower()

    part = get_json(client, "/v1/patents", publication=number[2:6], limit=500)["data"]
    assert number in {p["publicationNumber"] for p in part}
    assert all(number[2:6] in p["publicationNumber"] for p in part)
    for literal in ("%", "_", "' OR 1=1 --"):
        assert get_json(client, "/v1/patents", publication=literal)["data"] == []


def test_patents_filter_by_office_and_status_as_the_contract_lists_them(
    client: httpx.Client, chain_patents: dict[tuple[int, int], dict[str, Any]]
) -> None:
    for jurisdiction, status in (("de", "pending"), ("US", "granted"), ("CN", "lapsed")):
        rows = walk(client, "/v1/patents", 100, jurisdiction=jurisdiction, status=status)
        expected = [
            key
            for key, p in sorted(chain_patents.items())
            if p["jurisdiction"] == jurisdiction.upper() and PatentStatus(p["status"]).name.lower() == status
        ]
        assert [(p["assetId"], p["index"]) for p in rows] == expected


def test_the_patent_list_pages_in_asset_and_index_order_without_repeats(
    client: httpx.Client, chain_patents: dict[tuple[int, int], dict[str, Any]]
) -> None:
    rows = walk(client, "/v1/patents", 37)
    assert [(p["assetId"], p["index"]) for p in rows] == sorted(chain_patents)
    assert [p["publicationNumber"] for p in rows] == [
        chain_patents[k]["publicationNumber"] for k in sorted(chain_patents)
    ]


def test_patents_csv_has_the_same_rows_as_json(client: httpx.Client) -> None:
    as_json = client.get("/v1/patents", params={"limit": 25, "status": "granted"}).json()
    assert as_json["nextCursor"]
    response = client.get("/v1/patents", params={"limit": 25, "status": "granted", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(int(r["assetId"]), int(r["index"])) for r in rows] == [(p["assetId"], p["index"]) for p in as_json["data"]]
    assert [r["grantDate.iso"] for r in rows] == [p["grantDate"]["iso"] for p in as_json["data"]]
    assert [r["provenance.txHash"] for r in rows] == [p["provenance"]["txHash"] for p in as_json["data"]]
    assert 'rel="next"' in response.headers["link"]


def test_a_pools_disputes_are_the_contracts(client: httpx.Client, seeded: Seeded, reader: Chain) -> None:
    for result in seeded.result.pools:
        pool = PatentPoolClient(reader, result.address)
        disputes = walk(client, f"/v1/pools/{result.address}/disputes", 1)
        assert len(disputes) == pool.counts()["disputes"]
        for dispute in disputes:
            on_chain = pool.dispute(dispute["disputeId"])
            assert dispute["assetId"] == on_chain["assetId"]
            assert dispute["challenger"] == on_chain["challenger"]
            assert dispute["evidenceHash"] == hex32(on_chain["evidenceHash"])
            assert dispute["status"] == DISPUTE_STATUS[on_chain["status"]]
            assert dispute["rulingHash"] == hex32(on_chain["rulingHash"])
            assert dispute["pool"] == result.address
        upheld = walk(client, f"/v1/pools/{result.address}/disputes", 50, status="upheld")
        assert sorted(d["assetId"] for d in upheld) == sorted(result.suspended_assets)
        dismissed = walk(client, f"/v1/pools/{result.address}/disputes", 50, status="dismissed")
        assert len(dismissed) == result.dismissed_disputes
        assert walk(client, f"/v1/pools/{result.address}/disputes", 50, status="open") == []


def test_an_open_dispute_has_no_ruling_yet(
    client: httpx.Client, seeded: Seeded, snapshot: None, chain_change: Any, w3: Web3, keys: list[LocalAccount]
) -> None:
    result = seeded.pool("blockchain")
    asset_id = result.asset_sample[0]
    PatentPoolClient(Chain(w3, keys[0]), result.address).admit_founder(keys[1].address)
    challenger = PatentPoolClient(Chain(w3, keys[1]), result.address)
    dispute_id = challenger.open_dispute(asset_id, b"\x07" * 32).value
    chain_change()
    [dispute] = walk(client, f"/v1/pools/{result.address}/disputes", 50, status="open")
    assert dispute["disputeId"] == dispute_id
    assert (dispute["assetId"], dispute["challenger"], dispute["evidenceHash"]) == (
        asset_id,
        keys[1].address,
        "0x" + "07" * 32,
    )
    assert dispute["arbiter"] is None
    assert dispute["rulingHash"] is None
    assert [d["disputeId"] for d in get_json(client, f"/v1/assets/{asset_id}")["data"]["disputes"]] == [dispute_id]


def test_an_unknown_asset_is_a_404_problem(client: httpx.Client, registry: PatentAssetClient) -> None:
    missing = registry.total_assets() + 1
    response = client.get(f"/v1/assets/{missing}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert f"no asset {missing}" in response.json()["detail"]
    largest = client.get(f"/v1/assets/{2**63 - 1}")
    assert largest.status_code == 404, largest.text
    assert largest.headers["content-type"] == "application/problem+json"


def test_a_bounded_sub_list_is_cut_at_its_limit_and_says_so(mirror: Mirror) -> None:
    with Session(mirror.engine) as session:
        everything = list(session.exec(select(Patent).order_by(col(Patent.asset_id), col(Patent.patent_index))).all())
        statement = select(Patent).order_by(col(Patent.asset_id), col(Patent.patent_index))
        cut, truncated = bounded(session, statement, limit=len(everything) - 1)
        assert truncated is True
        assert [(p.asset_id, p.patent_index) for p in cut] == [(p.asset_id, p.patent_index) for p in everything[:-1]]
        whole, truncated = bounded(session, statement, limit=len(everything))
        assert truncated is False
        assert len(whole) == len(everything)


def test_bad_input_is_a_4xx_problem_never_a_500(client: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain").address
    cases: list[tuple[str, dict[str, str | int], int]] = [
        ("/v1/assets/abc", {}, 422),
        ("/v1/assets/-1", {}, 422),
        ("/v1/assets/1.5", {}, 422),
        (f"/v1/assets/{2**64}", {}, 422),
        ("/v1/assets/99999999999999999999999999999999", {}, 422),
        ("/v1/assets", {"owner": "not-an-address"}, 400),
        ("/v1/assets", {"pool": "0x1234"}, 400),
        ("/v1/assets", {"pool": "0x" + "12" * 20}, 404),
        ("/v1/assets", {"limit": 501}, 422),
        ("/v1/assets", {"cursor": "garbage!"}, 400),
        ("/v1/patents", {"status": "expired"}, 422),
        ("/v1/patents", {"jurisdiction": "USA"}, 422),
        ("/v1/patents", {"jurisdiction": "1 "}, 422),
        ("/v1/patents", {"publication": "   "}, 422),
        ("/v1/patents", {"publication": "x" * 65}, 422),
        ("/v1/patents", {"cursor": "WyJhc3NldHMiLFsxXV0"}, 400),
        (f"/v1/pools/{pool}/disputes", {"status": "closed"}, 422),
        (f"/v1/pools/{pool}/disputes", {"asset": -3}, 422),
        ("/v1/pools/not-a-pool/disputes", {}, 400),
        (f"/v1/pools/0x{'34' * 20}/disputes", {}, 404),
    ]
    for path, params, status in cases:
        response = client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]


# --- the scorecard: dossier files found by their hash, the latest evaluation recomputed ----------


@pytest.fixture(scope="module")
def scored(mirror: Mirror, seeded: Seeded) -> Iterator[httpx.Client]:
    """A client of the API served with the demo's dossier folder (PATENTPOOL_DOSSIER_DIR)."""
    with (
        Server(api_settings(mirror, dossier_dir=Path(seeded.result.dossier_dir))) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        yield http


@contextmanager
def served_with(mirror: Mirror, folder: Path) -> Iterator[httpx.Client]:
    with Server(api_settings(mirror, dossier_dir=folder)) as running, httpx.Client(base_url=running.url) as http:
        yield http


def dossier_file(seeded: Seeded, registry: PatentAssetClient, asset_id: int) -> Path:
    return Path(seeded.result.dossier_dir) / f"{registry.family(asset_id)['familyId']}.json"


def scored_assets(seeded: Seeded, registry: PatentAssetClient) -> list[int]:
    """A contributed family of every pool, and a family a pool refused (scored below its minimum or short of grants)."""
    ids = [p.asset_sample[0] for p in seeded.result.pools if p.asset_sample]
    refused = next(family for p in seeded.result.pools for family in p.refused)
    return [*ids, registry.asset_of_family(refused)]


def test_a_scorecard_recomputed_from_the_dossier_is_the_report_the_chain_recorded(
    scored: httpx.Client, seeded: Seeded, registry: PatentAssetClient
) -> None:
    for asset_id in scored_assets(seeded, registry):
        card = get_json(scored, f"/v1/assets/{asset_id}")["data"]["scorecard"]
        on_chain = registry.evaluation(asset_id)
        assert card["dossierHash"] == hex32(registry.family(asset_id)["dossierHash"])
        assert card["dossierUrl"] == f"/v1/assets/{asset_id}/dossier"
        assert (card["verified"], card["mismatches"]) == (True, []), card["verdict"]
        assert card["verdict"].startswith("verified")
        assert card["reportHash"] == card["recordedReportHash"] == hex32(on_chain["reportHash"])
        assert card["scoreBps"] == card["recordedScoreBps"] == on_chain["scoreBps"]
        assert card["modelVersion"] == card["recordedModelVersion"] == on_chain["modelVersion"] == MODEL_VERSION
        # The demo scores every family as of its fixed date, not the day the evaluation was mined.
        assert (card["asOf"], card["asOfRule"]) == (DEMO_AS_OF.isoformat(), "demo-date")
        assert sum(f["contributionBps"] for f in card["factors"]) == card["scoreBps"]  # none is clamped here
        report = evaluate(load_dossier(dossier_file(seeded, registry, asset_id)), DEMO_AS_OF)
        assert [(f["name"], f["raw"], f["contributionBps"]) for f in card["factors"]] == [
            (f.name, f.raw, f.contributionBps) for f in report.factors
        ]
        assert [f["boundBps"] for f in card["factors"]] == [3000, 1000, 2500, 2000, 1500, -4500, -3000]
        assert card["inputs"]["patents"] == registry.patent_count(asset_id)
        assert card["inputs"]["grantedOffices"] == list(report.inputs.grantedOffices)


def test_a_new_evaluation_the_dossier_does_not_give_is_shown_unverified_saying_what_differs(
    scored: httpx.Client,
    seeded: Seeded,
    registry: PatentAssetClient,
    snapshot: None,
    chain_change: Any,
    keys: list[LocalAccount],
    w3: Web3,
) -> None:
    asset_id = seeded.pool("metaverse").asset_sample[0]
    before = get_json(scored, f"/v1/assets/{asset_id}")["data"]["scorecard"]
    operator = PatentAssetClient(Chain(w3, keys[0]), registry.address)
    operator.record_evaluation(asset_id, before["scoreBps"], b"\x42" * 32, MODEL_VERSION)
    chain_change()
    card = get_json(scored, f"/v1/assets/{asset_id}")["data"]["scorecard"]
    assert (card["verified"], card["mismatches"]) == (False, ["reportHash"])
    assert card["recordedReportHash"] == "0x" + "42" * 32 == hex32(registry.evaluation(asset_id)["reportHash"])
    assert card["verdict"].startswith("NOT verified") and "report hash differs" in card["verdict"]
    # The factors are still shown, from the date that explains most (here the score), beside the mismatch.
    assert card["asOfRule"] == "demo-date" and card["scoreBps"] == card["recordedScoreBps"] and card["factors"]

    operator.record_evaluation(asset_id, before["scoreBps"] + 1, hex_bytes(before["reportHash"]), "scorecard-9.9")
    chain_change()
    card = get_json(scored, f"/v1/assets/{asset_id}")["data"]["scorecard"]
    assert (card["verified"], card["mismatches"]) == (False, ["modelVersion", "scoreBps"])
    assert "'scorecard-9.9'" in card["verdict"] and "score differs" in card["verdict"]


def hex_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def test_a_server_without_a_dossier_folder_shows_no_scorecard_and_no_dossier(
    client: httpx.Client, seeded: Seeded
) -> None:
    asset_id = seeded.pool("blockchain").asset_sample[0]
    assert get_json(client, f"/v1/assets/{asset_id}")["data"]["scorecard"] is None
    response = client.get(f"/v1/assets/{asset_id}/dossier")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "no dossier file" in response.json()["detail"]


def test_the_dossier_route_serves_the_file_whose_hash_is_the_chains_and_the_cli_verifies_it(
    scored: httpx.Client,
    seeded: Seeded,
    registry: PatentAssetClient,
    mirror: Mirror,
    tmp_path: Path,
) -> None:
    asset_id = seeded.pool("digital-connectivity").asset_sample[0]
    response = scored.get(f"/v1/assets/{asset_id}/dossier")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == dossier_file(seeded, registry, asset_id).read_bytes()
    on_chain = registry.family(asset_id)["dossierHash"]
    assert bytes(keccak(canonical_json(response.json()))) == on_chain
    assert response.headers["x-dossier-hash"] == hex32(on_chain)
    assert int(response.headers["x-indexed-block"]) == get_json(scored, "/v1/status")["indexed"]["blockNumber"]

    saved = tmp_path / "downloaded.json"
    saved.write_bytes(response.content)
    manifest = write_deployment(seeded.deployment, tmp_path / "deployments")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    args = ["asset", "verify-dossier", str(saved), "--asset", str(asset_id), "--json"]
    common = ["--rpc", mirror.anvil.url, "--deployment", str(manifest)]
    verified = subprocess.run(
        [sys.executable, "-m", "patentpool", *args, *common], capture_output=True, text=True, env=env, timeout=120
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["match"] is True

    # Another family's dossier is not this asset's: the route serves by the asset's hash only.
    other = seeded.pool("metaverse").asset_sample[0]
    assert scored.get(f"/v1/assets/{other}/dossier").content == dossier_file(seeded, registry, other).read_bytes()


def test_a_tampered_copy_of_a_dossier_is_never_matched(
    mirror: Mirror, seeded: Seeded, registry: PatentAssetClient, tmp_path: Path
) -> None:
    asset_id = seeded.pool("blockchain").asset_sample[0]
    original = dossier_file(seeded, registry, asset_id)
    document = json.loads(original.read_text(encoding="utf-8"))
    document["title"] += " (improved)"  # one field changed: still a valid dossier, another hash
    tampered_only = tmp_path / "tampered"
    tampered_only.mkdir()
    (tampered_only / original.name).write_text(json.dumps(document, indent=2), encoding="utf-8")
    (tampered_only / "broken.json").write_text("{not json", encoding="utf-8")  # skipped, no error
    with served_with(mirror, tampered_only) as http:
        assert get_json(http, f"/v1/assets/{asset_id}")["data"]["scorecard"] is None
        assert http.get(f"/v1/assets/{asset_id}/dossier").status_code == 404

    # Beside the genuine file (sorted first, so indexed first), the genuine one is served.
    both = tmp_path / "both"
    both.mkdir()
    (both / f"0-{original.name}").write_text(json.dumps(document), encoding="utf-8")
    shutil.copy(original, both / original.name)
    with served_with(mirror, both) as http:
        served = http.get(f"/v1/assets/{asset_id}/dossier")
        assert served.status_code == 200 and served.content == original.read_bytes()
        assert get_json(http, f"/v1/assets/{asset_id}")["data"]["scorecard"]["verified"] is True
        # Changed on disk after it was indexed: it is no longer the registered document.
        (both / original.name).write_text(json.dumps(document), encoding="utf-8")
        assert http.get(f"/v1/assets/{asset_id}/dossier").status_code == 404
        assert get_json(http, f"/v1/assets/{asset_id}")["data"]["scorecard"] is None

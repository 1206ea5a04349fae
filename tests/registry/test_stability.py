"""The stability scorecard: the documented worked example is what evaluate() computes, every factor
moves the score the documented way, scores stay in 0..10000 and reports hash deterministically."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from registry.dossier import Dossier, canonical_json, dossier_hash, load_dossier, parse_dossier
from registry.stability import (
    CITATIONS_CAP_BPS,
    MAX_SCORE_BPS,
    MODEL_VERSION,
    OFFICES_CAP_BPS,
    PATENTS_CAP_BPS,
    SURVIVED_CAP_BPS,
    TERM_CAP_BPS,
    StabilityReport,
    evaluate,
    report_hash,
    report_json,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "dossiers"
MODEL_DOC = (ROOT / "docs" / "stability-model.md").read_text(encoding="utf-8")
FACTOR_NAMES = [
    "grantedOffices",
    "familyBreadth",
    "remainingTerm",
    "forwardCitations",
    "survivedOppositions",
    "pendingInvalidations",
    "revokedPatents",
]
AS_OF = date(2025, 7, 1)


def _worked_example() -> tuple[str, date, list[tuple[str, int, int]], int, str]:
    """The dossier, date, factor rows, score and report hash of the worked example in the docs."""
    section = MODEL_DOC.split("## Worked example", 1)[1].split("## Versioning", 1)[0]
    dossier = re.search(r"Dossier: `examples/dossiers/([\w.-]+)`", section)
    as_of = re.search(r"\(`as_of`\): \*\*(\d{4}-\d{2}-\d{2})\*\*", section)
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| .* \| (-?\d+) \|$", section, flags=re.MULTILINE)
    score = re.search(r"^\| \*\*scoreBps\*\* \| +\| .* \| \*\*(\d+)\*\* \|$", section, flags=re.MULTILINE)
    digest = re.search(r"```\s+(0x[0-9a-f]{64})\s+```", section)
    assert dossier and as_of and score and digest, "the worked example no longer has its expected layout"
    return (
        dossier.group(1),
        date.fromisoformat(as_of.group(1)),
        [(name, int(raw), int(bps)) for name, raw, bps in rows],
        int(score.group(1)),
        digest.group(1),
    )


def test_the_worked_example_in_the_docs_is_what_evaluate_computes() -> None:
    name, as_of, rows, score, digest = _worked_example()
    report = evaluate(load_dossier(EXAMPLES / name), as_of)
    assert [f.name for f in report.factors] == FACTOR_NAMES
    assert rows == [(f.name, f.raw, f.contributionBps) for f in report.factors]
    assert report.scoreBps == score == 7183
    assert "0x" + report_hash(report).hex() == digest


@pytest.mark.parametrize(
    ("name", "score"),
    [("lidar-flash-us-cn.json", 7183), ("mems-mirror-us-ep.json", 5755), ("fmcw-pending-invalidation.json", 5900)],
)
def test_the_sample_scores_quoted_in_the_docs_are_computed(name: str, score: int) -> None:
    assert evaluate(load_dossier(EXAMPLES / name), AS_OF).scoreBps == score
    assert str(score) in MODEL_DOC


def test_the_docs_say_plainly_it_is_a_scorecard_not_a_trained_model() -> None:
    assert "**This is a documented scorecard, not a trained model.**" in MODEL_DOC
    assert f"`MODEL_VERSION` is `{MODEL_VERSION}`" in MODEL_DOC
    assert MODEL_VERSION == "scorecard-1.0"


def test_the_positive_caps_add_up_to_the_maximum_score() -> None:
    caps = OFFICES_CAP_BPS + PATENTS_CAP_BPS + TERM_CAP_BPS + CITATIONS_CAP_BPS + SURVIVED_CAP_BPS
    assert caps == MAX_SCORE_BPS == 10_000


# --- the report ----------------------------------------------------------------------------------


def test_the_report_names_its_model_date_and_dossier() -> None:
    path = EXAMPLES / "lidar-flash-us-cn.json"
    report = evaluate(load_dossier(path), AS_OF)
    body = json.loads(report_json(report))
    assert body["modelVersion"] == "scorecard-1.0"
    assert body["asOf"] == "2025-07-01"
    assert body["familyId"] == "70512233"
    assert body["dossierHash"] == "0x" + dossier_hash(path).hex()
    assert body["inputs"]["grantedOffices"] == ["CN", "US"]
    assert body["inputs"]["latestGrantedExpiry"] == "2040-02-03"
    assert body["scoreBps"] == sum(f["contributionBps"] for f in body["factors"])


def test_the_report_is_canonical_and_its_hash_is_the_keccak_of_its_bytes() -> None:
    report = evaluate(load_dossier(EXAMPLES / "fmcw-pending-invalidation.json"), AS_OF)
    raw = report_json(report)
    assert raw == canonical_json(json.loads(raw))
    assert report_hash(report) == keccak(raw)
    assert len(report_hash(report)) == 32


def test_evaluation_is_deterministic() -> None:
    first = evaluate(load_dossier(EXAMPLES / "mems-mirror-us-ep.json"), AS_OF)
    second = evaluate(load_dossier(EXAMPLES / "mems-mirror-us-ep.json"), AS_OF)
    assert first == second
    assert report_json(first) == report_json(second)


def test_another_date_gives_another_report_hash() -> None:
    dossier = load_dossier(EXAMPLES / "lidar-flash-us-cn.json")
    assert report_hash(evaluate(dossier, AS_OF)) != report_hash(evaluate(dossier, date(2025, 7, 2)))


def test_a_datetime_is_refused_as_the_evaluation_date() -> None:
    with pytest.raises(TypeError, match="as_of is a date"):
        evaluate(load_dossier(EXAMPLES / "lidar-flash-us-cn.json"), datetime(2025, 7, 1, 12))


# --- each factor moves the score the documented way ---------------------------------------------


def _patent(office: str, number: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "office": office,
        "publicationNumber": number,
        "status": "granted",
        "grantDate": "2022-01-04",
        "expiryDate": "2035-01-04",
        "forwardCitations": 0,
        "oppositions": [],
    }
    base.update(fields)
    return base


def _family(*patents: dict[str, Any]) -> dict[str, Any]:
    return {
        "familyId": "T-1",
        "title": "Test family",
        "abstract": "A family built for one test.",
        "cpcClasses": ["G01S 17/931"],
        "priorityDate": "2015-01-05",
        "patents": list(patents),
    }


BASE = _family(_patent("US", "US1B2", forwardCitations=10), _patent("CN", "CN1B"))


def _score(document: dict[str, Any], as_of: date = AS_OF) -> StabilityReport:
    dossier: Dossier = parse_dossier(document)
    return evaluate(dossier, as_of)


def _with(**change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(change)
    return doc


def test_more_granted_offices_score_higher() -> None:
    base = _score(BASE)
    more = _score(_with(patents=[*BASE["patents"], _patent("DE", "DE1B4")]))
    assert more.factor("grantedOffices").raw == 3
    assert more.factor("grantedOffices").contributionBps == 2800
    assert more.scoreBps > base.scoreBps


def test_a_pending_application_adds_breadth_but_no_office() -> None:
    base = _score(BASE)
    wider = _score(_with(patents=[*BASE["patents"], _patent("JP", "JP1A", status="pending", grantDate=None)]))
    assert wider.factor("grantedOffices") == base.factor("grantedOffices")
    assert wider.factor("familyBreadth").contributionBps == base.factor("familyBreadth").contributionBps + 250


def test_a_pending_invalidation_scores_lower() -> None:
    doc = copy.deepcopy(BASE)
    doc["patents"][0]["oppositions"] = [{"kind": "invalidation", "outcome": "pending", "filedOn": "2024-01-02"}]
    challenged = _score(doc)
    assert challenged.factor("pendingInvalidations").contributionBps == -1500
    assert challenged.scoreBps == _score(BASE).scoreBps - 1500


def test_a_maintained_challenge_scores_higher_than_an_amended_one() -> None:
    scores = {}
    for outcome in ("maintained", "amended"):
        doc = copy.deepcopy(BASE)
        doc["patents"][1]["oppositions"] = [{"kind": "opposition", "outcome": outcome, "filedOn": "2023-01-02"}]
        scores[outcome] = _score(doc).scoreBps
    assert scores["maintained"] > scores["amended"] > _score(BASE).scoreBps


def test_a_revoked_patent_scores_lower() -> None:
    doc = copy.deepcopy(BASE)
    doc["patents"].append(_patent("JP", "JP1B2", status="revoked"))
    revoked = _score(doc)
    assert revoked.factor("revokedPatents").contributionBps == -1000
    # The revoked patent still widens the family, but the penalty outweighs that.
    assert revoked.scoreBps < _score(BASE).scoreBps


def test_an_expired_term_scores_lower() -> None:
    in_force = _score(BASE, date(2025, 1, 4))
    expired = _score(BASE, date(2035, 1, 5))
    assert in_force.factor("remainingTerm").raw == 3652
    assert expired.factor("remainingTerm").contributionBps == 0
    # Expired grants protect nothing, so they no longer count as granted offices either.
    assert expired.factor("grantedOffices").raw == 0
    assert expired.scoreBps < in_force.scoreBps


def test_the_remaining_term_falls_as_the_evaluation_date_moves_on() -> None:
    terms = [_score(BASE, date(year, 1, 4)).factor("remainingTerm").contributionBps for year in (2026, 2030, 2034)]
    assert terms[0] > terms[1] > terms[2] > 0


def test_an_unknown_expiry_earns_no_term_credit() -> None:
    doc = copy.deepcopy(BASE)
    for patent in doc["patents"]:
        del patent["expiryDate"]
    report = _score(doc)
    assert report.inputs.latestGrantedExpiry is None
    assert report.factor("remainingTerm").contributionBps == 0
    assert report.factor("grantedOffices").raw == 2


@pytest.mark.parametrize(
    ("citations", "bps"),
    [(0, 0), (1, 250), (2, 250), (3, 500), (7, 750), (47, 1250), (254, 1750), (255, 2000), (10**6, 2000)],
)
def test_forward_citations_earn_250_bps_per_doubling_up_to_the_cap(citations: int, bps: int) -> None:
    doc = copy.deepcopy(BASE)
    doc["patents"][0]["forwardCitations"] = citations
    doc["patents"][1]["forwardCitations"] = 0
    assert _score(doc).factor("forwardCitations").contributionBps == bps


def test_a_family_at_every_cap_scores_exactly_the_maximum() -> None:
    offices = ["US", "CN", "JP", "DE", "EP", "KR"]
    maintained = [{"kind": "opposition", "outcome": "maintained", "filedOn": "2023-01-02"}] * 2
    doc = _family(
        *[_patent(o, f"{o}9B", expiryDate="2045-01-04", forwardCitations=100, oppositions=maintained) for o in offices]
    )
    report = _score(doc)
    assert [f.contributionBps for f in report.factors] == [3000, 1000, 2500, 2000, 1500, 0, 0]
    assert report.scoreBps == 10_000


def test_penalties_beyond_the_positives_clamp_the_score_to_zero() -> None:
    pending = [{"kind": "invalidation", "outcome": "pending", "filedOn": "2024-01-02"}] * 5
    doc = _family(
        _patent("XX", "XX1B", oppositions=pending),
        *[_patent("US", f"US{i}B2", status="revoked") for i in range(4)],
    )
    report = _score(doc)
    assert report.factor("pendingInvalidations").contributionBps == -4500
    assert report.factor("revokedPatents").contributionBps == -3000
    assert sum(f.contributionBps for f in report.factors) < 0
    assert report.scoreBps == 0

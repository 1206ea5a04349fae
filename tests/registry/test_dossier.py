"""Dossiers: the samples pass the schema, every bad input is refused naming its field, and the hash
is keccak-256 of canonical JSON that does not depend on how the file is laid out."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from registry.dossier import (
    Dossier,
    DossierError,
    canonical_json,
    dossier_hash,
    load_dossier,
    parse_dossier,
)
from registry.errors import ConfigError, RegistryError
from registry.types import PatentStatus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "dossiers"
LIDAR = EXAMPLES / "lidar-flash-us-cn.json"
REQUIRED_OFFICES = {"US", "CN", "DE", "JP"}


def _document(path: Path = LIDAR) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "dossier.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "qualifying_grants"),
    [("lidar-flash-us-cn.json", 2), ("mems-mirror-us-ep.json", 1), ("fmcw-pending-invalidation.json", 3)],
)
def test_each_sample_dossier_passes_the_schema_with_its_story(name: str, qualifying_grants: int) -> None:
    dossier = load_dossier(EXAMPLES / name)
    assert dossier.granted_in(REQUIRED_OFFICES) == qualifying_grants
    assert dossier.document() == _document(EXAMPLES / name)


def test_the_samples_are_the_three_documented_ones() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == [
        "fmcw-pending-invalidation.json",
        "lidar-flash-us-cn.json",
        "mems-mirror-us-ep.json",
    ]


def test_the_pending_invalidation_sample_has_one_pending_challenge() -> None:
    dossier = load_dossier(EXAMPLES / "fmcw-pending-invalidation.json")
    pending = [(p.office, o.kind) for p in dossier.patents for o in p.oppositions if o.outcome == "pending"]
    assert pending == [("US", "invalidation")]


def test_patent_statuses_map_to_the_contract_enum() -> None:
    dossier = load_dossier(LIDAR)
    assert [p.chain_status for p in dossier.patents] == [
        PatentStatus.GRANTED,
        PatentStatus.GRANTED,
        PatentStatus.PENDING,
        PatentStatus.PENDING,
    ]


def test_dossier_error_is_a_config_error_of_the_registry() -> None:
    assert issubclass(DossierError, ConfigError)
    assert issubclass(DossierError, RegistryError)


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting a dotted path (list indices as numbers) of the LiDAR sample."""

    def apply(doc: dict[str, Any]) -> Any:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for part in parents:
            node = node[part]
        node[last] = value
        return doc

    return apply


def _delete(path: str) -> Mutation:
    def apply(doc: dict[str, Any]) -> Any:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for part in parents:
            node = node[part]
        del node[last]
        return doc

    return apply


def _duplicate_patent(doc: dict[str, Any]) -> Any:
    doc["patents"].append(copy.deepcopy(doc["patents"][0]))
    return doc


SCHEMA_VIOLATIONS: list[tuple[str, Mutation, str, str]] = [
    ("missing title", _delete("title"), "title", "required field is missing"),
    ("blank abstract", _set("abstract", "   "), "abstract", "blank"),
    ("padded family id", _set("familyId", " 70512233"), "familyId", "whitespace"),
    ("numeric family id", _set("familyId", 70512233), "familyId", "valid string"),
    ("no cpc classes", _set("cpcClasses", []), "cpcClasses", "at least 1"),
    ("bad cpc symbol", _set("cpcClasses.0", "lidar"), "cpcClasses[0]", "CPC symbol"),
    ("slashed priority date", _set("priorityDate", "2018/11/20"), "priorityDate", "YYYY-MM-DD"),
    ("no patents", _set("patents", []), "patents", "at least 1"),
    ("lower-case office", _set("patents.1.office", "cn"), "patents[1].office", "two-letter"),
    ("three-letter office", _set("patents.1.office", "CHN"), "patents[1].office", "two-letter"),
    ("blank publication number", _set("patents.0.publicationNumber", ""), "patents[0].publicationNumber", "blank"),
    ("capitalised status", _set("patents.0.status", "Granted"), "patents[0].status", '"Granted"'),
    ("granted without grant date", _delete("patents.0.grantDate"), "patents[0].grantDate", "needs its grantDate"),
    (
        "pending with a grant date",
        _set("patents.2.grantDate", "2024-01-02"),
        "patents[2].grantDate",
        "pending patent has no grantDate",
    ),
    (
        "grant date after expiry date",
        _set("patents.0.grantDate", "2041-01-01"),
        "patents[0].expiryDate",
        "grantDate 2041-01-01 must be before expiryDate 2040-02-03",
    ),
    (
        "grant date equal to expiry date",
        _set("patents.0.expiryDate", "2021-12-28"),
        "patents[0].expiryDate",
        "must be before expiryDate",
    ),
    ("unix-time grant date", _set("patents.0.grantDate", 1640649600), "patents[0].grantDate", "YYYY-MM-DD"),
    ("date-time grant date", _set("patents.0.grantDate", "2021-12-28T00:00:00"), "patents[0].grantDate", "YYYY-MM-DD"),
    ("impossible grant date", _set("patents.0.grantDate", "2021-02-30"), "patents[0].grantDate", "not a calendar"),
    ("grant before priority", _set("patents.0.grantDate", "2017-01-03"), "patents", "before the priorityDate"),
    (
        "negative citations",
        _set("patents.0.forwardCitations", -1),
        "patents[0].forwardCitations",
        "greater than or equal to 0 (got -1)",
    ),
    ("citations as text", _set("patents.0.forwardCitations", "38"), "patents[0].forwardCitations", "integer"),
    ("citations as float", _set("patents.0.forwardCitations", 38.0), "patents[0].forwardCitations", "integer"),
    ("citations as boolean", _set("patents.0.forwardCitations", True), "patents[0].forwardCitations", "integer"),
    (
        "unknown challenge kind",
        _set("patents.1.oppositions.0.kind", "appeal"),
        "patents[1].oppositions[0].kind",
        "appeal",
    ),
    (
        "unknown challenge outcome",
        _set("patents.1.oppositions.0.outcome", "won"),
        "patents[1].oppositions[0].outcome",
        "'maintained'",
    ),
    (
        "challenge without date",
        _delete("patents.1.oppositions.0.filedOn"),
        "patents[1].oppositions[0].filedOn",
        "missing",
    ),
    ("misspelt field", _set("patents.0.grantdate", "2021-12-28"), "patents[0].grantdate", "unknown field"),
    ("duplicate publication", _duplicate_patent, "patents", "US11209531B2"),
]


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [pytest.param(m, f, s, id=name) for name, m, f, s in SCHEMA_VIOLATIONS],
)
def test_each_schema_violation_is_a_dossier_error_naming_the_field(
    tmp_path: Path, mutate: Mutation, field: str, fragment: str
) -> None:
    path = _write(tmp_path, mutate(_document()))
    with pytest.raises(DossierError) as caught:
        load_dossier(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert fragment in message
    assert "\n" not in message
    assert caught.value.field == field
    assert caught.value.source == str(path)


def test_several_problems_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    doc = _document()
    del doc["title"]
    doc["patents"][0]["office"] = "us"
    doc["patents"][1]["office"] = "cn"
    with pytest.raises(DossierError, match=r": title: required field is missing \(and 2 more problems\)$"):
        load_dossier(_write(tmp_path, doc))


def test_a_missing_file_is_a_dossier_error(tmp_path: Path) -> None:
    with pytest.raises(DossierError, match=r"nowhere\.json: no such dossier file$"):
        load_dossier(tmp_path / "nowhere.json")


def test_a_directory_is_a_dossier_error(tmp_path: Path) -> None:
    with pytest.raises(DossierError, match="cannot read the dossier"):
        load_dossier(tmp_path)


@pytest.mark.parametrize(
    ("text", "fragment", "field"),
    [
        pytest.param('{"familyId": "1",\n  "title": }', "not valid JSON (line 2, column 12)", None, id="truncated"),
        pytest.param('{"title": "a", "title": "b"}', 'the key "title" appears twice', "title", id="duplicate-key"),
        pytest.param('{"familyId": NaN}', "NaN is not JSON", None, id="nan"),
        pytest.param("[]", "a dossier is a JSON object, not a list", None, id="not-an-object"),
        pytest.param('"dossier"', 'a dossier is a JSON object, not "dossier"', None, id="a-string"),
    ],
)
def test_bad_json_is_a_dossier_error(tmp_path: Path, text: str, fragment: str, field: str | None) -> None:
    path = tmp_path / "dossier.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DossierError) as caught:
        load_dossier(path)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.field == field


def test_a_file_that_is_not_utf8_is_a_dossier_error(tmp_path: Path) -> None:
    path = tmp_path / "dossier.json"
    path.write_bytes(LIDAR.read_bytes().replace(b"Solid-state", b"Solid\xe9state"))
    with pytest.raises(DossierError, match=r"not UTF-8 text \(byte \d+\)"):
        load_dossier(path)


def test_a_lone_surrogate_escape_is_refused_naming_its_field(tmp_path: Path) -> None:
    path = tmp_path / "dossier.json"
    path.write_text(LIDAR.read_text(encoding="utf-8").replace("Solid-state", "Solid\\ud800state"), encoding="utf-8")
    with pytest.raises(DossierError, match="lone surrogate") as caught:
        load_dossier(path)
    assert caught.value.field == "title"


def test_parse_dossier_refuses_what_load_dossier_refuses() -> None:
    doc = _document()
    doc["patents"][1]["office"] = "cn"
    with pytest.raises(DossierError, match=r"^dossier: patents\[1\]\.office: "):
        parse_dossier(doc)


# --- canonical JSON and the hash -----------------------------------------------------------------


def _reverse_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def test_canonical_json_has_sorted_keys_no_whitespace_raw_utf8_and_iso_dates() -> None:
    data = {"b": 1, "a": [date(2020, 1, 2), "é", None, True], "c": {"z": "", "y": -3}}
    assert canonical_json(data) == '{"a":["2020-01-02","é",null,true],"b":1,"c":{"y":-3,"z":""}}'.encode()


def test_canonical_json_is_byte_stable_under_key_order_whitespace_and_escapes(tmp_path: Path) -> None:
    doc = _document()
    relaid = tmp_path / "relaid.json"
    relaid.write_text(json.dumps(_reverse_keys(doc), indent="\t", ensure_ascii=True) + "\n\n", encoding="utf-8")
    assert relaid.read_bytes() != LIDAR.read_bytes()
    assert canonical_json(_reverse_keys(doc)) == canonical_json(doc)
    assert dossier_hash(relaid) == dossier_hash(LIDAR)


def test_any_change_of_a_value_changes_the_hash(tmp_path: Path) -> None:
    doc = _document()
    doc["patents"][0]["forwardCitations"] = 39
    assert dossier_hash(_write(tmp_path, doc)) != dossier_hash(LIDAR)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"x": 1.5}, id="float"),
        pytest.param({"x": datetime(2020, 1, 2, 3, 4)}, id="datetime"),
        pytest.param({1: "x"}, id="int-key"),
        pytest.param({"x": {1, 2}}, id="set"),
        pytest.param({"x": "\ud800"}, id="lone-surrogate"),
    ],
)
def test_canonical_json_refuses_values_without_one_text_form(value: Any) -> None:
    with pytest.raises(ValueError, match="not canonical JSON"):
        canonical_json(value)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_dossier_hash_is_the_keccak_of_the_canonical_json_of_the_parsed_file(path: Path) -> None:
    document = _document(path)
    expected = keccak(canonical_json(document))
    assert dossier_hash(path) == expected
    assert len(expected) == 32
    # The stdlib recipe of docs/dossier.md gives the same bytes.
    recipe = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert recipe == canonical_json(document)
    # A path, the parsed document and the loaded Dossier all hash alike.
    assert dossier_hash(document) == expected
    assert dossier_hash(load_dossier(path)) == expected


def test_the_hash_printed_in_the_docs_is_the_lidar_sample_hash() -> None:
    text = (ROOT / "docs" / "dossier.md").read_text(encoding="utf-8")
    printed = re.search(r"this prints\s+```\s+(0x[0-9a-f]{64})\s+```", text)
    assert printed is not None
    assert printed.group(1) == "0x" + dossier_hash(LIDAR).hex()


def test_model_defaults_are_not_hashed_only_what_the_file_says(tmp_path: Path) -> None:
    doc = _document()
    spelt_out = copy.deepcopy(doc)
    spelt_out["patents"][3]["forwardCitations"] = 0
    spelt_out["patents"][3]["oppositions"] = []
    explicit = _write(tmp_path, spelt_out)
    # The same dossier to the model...
    assert load_dossier(explicit) == load_dossier(LIDAR)
    # ...but another document, so another hash; and the implicit one is not padded with defaults.
    assert dossier_hash(explicit) != dossier_hash(LIDAR)
    assert "oppositions" not in load_dossier(LIDAR).document()["patents"][3]


def test_hashing_an_invalid_document_is_a_dossier_error() -> None:
    doc = _document()
    doc["patents"][0]["status"] = "expired"
    with pytest.raises(DossierError, match=r"patents\[0\]\.status"):
        dossier_hash(doc)


def test_a_dossier_built_in_python_hashes_its_given_fields_with_iso_dates() -> None:
    dossier = parse_dossier(
        {
            "familyId": "F-1",
            "title": "A title",
            "abstract": "An abstract.",
            "cpcClasses": ["G01S"],
            "priorityDate": date(2020, 1, 2),
            "patents": [{"office": "US", "publicationNumber": "US1B2", "status": "pending"}],
        }
    )
    assert isinstance(dossier, Dossier)
    assert dossier.document()["priorityDate"] == "2020-01-02"
    assert dossier_hash(dossier) == keccak(
        b'{"abstract":"An abstract.","cpcClasses":["G01S"],"familyId":"F-1",'
        b'"patents":[{"office":"US","publicationNumber":"US1B2","status":"pending"}],'
        b'"priorityDate":"2020-01-02","title":"A title"}'
    )

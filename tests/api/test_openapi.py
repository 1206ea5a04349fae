"""The OpenAPI document: complete (models, errors, examples), served at /docs, and true — Schemathesis
sends generated requests to every operation of a real uvicorn and checks each answer against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi import from_url
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Mirror, Server, api_settings

PROBLEM = "application/problem+json"
PROBES = {"/healthz", "/readyz"}


@pytest.fixture(scope="module")
def document(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in document["paths"].items():
        for method, operation in items.items():
            yield path, method, operation


def test_the_document_is_openapi_3_1_with_every_route_of_the_api(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    paths = set(document["paths"])
    assert {"/v1/pools", "/v1/pools/{address}", "/v1/pools/{address}/members", "/v1/stats"} <= paths
    assert {"/v1/licences/verify", "/v1/status", "/healthz", "/readyz"} <= paths
    assert all(method in ("get", "head") for _, method, _ in operations(document)), "a read-only API"


def test_every_operation_has_a_summary_a_description_and_a_success_model(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        assert operation.get("summary") and operation.get("description"), where
        success = operation["responses"]["200"]
        content = success["content"]
        if "text/event-stream" in content:
            continue  # a stream of events, each the JSON of a list's row; described in words
        schemas = [media.get("schema", {}) for media in content.values()]
        assert any("$ref" in s for s in schemas), f"{where} has no response model: {success}"


def test_every_error_is_a_documented_problem_with_an_example(document: dict[str, Any]) -> None:
    assert "ProblemDetail" in document["components"]["schemas"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        expected = {"400", "404", "413", "414", "422", "431", "503", "504"} | (set() if path in PROBES else {"429"})
        assert expected <= set(responses), f"{method.upper()} {path}: {sorted(responses)}"
        for status, response in responses.items():
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM], f"{method.upper()} {path} {status}"
                media = response["content"][PROBLEM]
                assert media["schema"] == {"$ref": "#/components/schemas/ProblemDetail"}
                assert media["example"]["status"] == int(status)


def test_rate_limits_and_the_indexed_state_are_documented_where_they_apply(document: dict[str, Any]) -> None:
    headers = document["components"]["headers"]
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "ETag"} <= set(headers)
    pools = document["paths"]["/v1/pools"]["get"]
    assert set(pools["responses"]["429"]["headers"]) >= {"Retry-After", "RateLimit-Limit"}
    assert set(pools["responses"]["200"]["headers"]) >= {"ETag", "X-Indexed-Block", "RateLimit-Remaining"}
    assert "304" in pools["responses"]
    assert "If-None-Match" in [p["name"] for p in pools["parameters"]]
    health = document["paths"]["/healthz"]["get"]
    assert "429" not in health["responses"], "the probes are not counted"


def test_docs_serve_the_document(client: httpx.Client, document: dict[str, Any]) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text
    assert client.get("/openapi.json").json() == document
    # Swagger UI comes from this server, not a CDN: the page works on a machine with no internet.
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert scripts
    for url in scripts:
        assert url.startswith("/"), f"/docs loads {url} from elsewhere"
        assert client.get(url).status_code == 200, url


# --- Schemathesis over the whole document ----------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed(mirror: Mirror) -> Iterator[Server]:
    """The API as `server` serves it, with event streams cut after a moment so none holds a case."""
    with Server(api_settings(mirror, stream_max_seconds=0.3, stream_poll_interval=0.1)) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(fuzzed: Server) -> schemathesis.BaseSchema:
    return from_url(f"{fuzzed.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_document_says(case: schemathesis.Case[Any]) -> None:
    response = case.call(timeout=30)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
    # Every other check runs: documented status, content type, headers and body; schema-violating
    # requests refused. Not "schema-valid requests accepted": a cursor is opaque (a string that
    # does not decode is a 400), and addresses are checked by the API itself (a 400 that names the
    # parameter), so some schema-valid requests are rightly refused.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])

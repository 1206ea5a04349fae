"""The OpenAPI document completed with what routes cannot declare themselves.

FastAPI describes each route from its signature; what the middleware and the shared dependencies
add is filled in here, once, for every operation:

* every error is `application/problem+json` with the `ProblemDetail` schema and an example
  (FastAPI would list a model under `application/json`, which is not what the API sends);
* the refusals of `api.middleware` (413, 414, 431) and of `api.limits` (429 with `Retry-After`),
  and the `RateLimit-*` headers on every counted response;
* on routes that read the indexed state (they depend on `deps.get_indexed`): the `ETag`,
  `Cache-Control` and `X-Indexed-Block*` headers, the `If-None-Match` parameter and its `304`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from api.deps import get_indexed
from api.limits import EXEMPT_PATHS, RATE_LIMIT_HEADERS, RATE_LIMITED_RESPONSE
from api.middleware import REQUEST_BOUNDS_RESPONSES
from api.problems import MEDIA_TYPE, ProblemDetail, title_of

__all__ = ["install_openapi"]

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}

#: One example per error status (kind, detail), as the API words them.
_EXAMPLES: dict[int, tuple[str | None, str]] = {
    400: ("address", "pool must be an address (0x and 40 hex digits), not '0x12'"),
    404: ("unknown-pool", "no pool at 0x5FbDB2315678afecb367f032d93F642f64180aa3 in this registry"),
    422: ("invalid-parameter", "query.limit: Input should be less than or equal to 500"),
    502: ("chain", "the node at http://127.0.0.1:8545 did not answer (ConnectionError)"),
    503: ("not-indexed", "nothing is indexed yet: run `patentpool index` against this database"),
    504: ("timeout", "the query took too long and was cancelled"),
}

_INDEXED_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "A weak tag of the indexed state and this request; send it back in If-None-Match.",
        "schema": {"type": "string"},
        "example": 'W/"3f2a9c0d8e7b6a5f4e3d2c1b0a998877"',
    },
    "Cache-Control": {"schema": {"type": "string"}, "example": "public, max-age=5"},
    "X-Indexed-Block": {
        "description": "The number of the indexed block this answer reflects.",
        "schema": {"type": "integer", "minimum": 0},
        "example": 1234,
    },
    "X-Indexed-Block-Hash": {
        "description": "The hash of that block.",
        "schema": {"type": "string"},
        "example": "0x9e1f6a2c4e8b0d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f",
    },
}

_IF_NONE_MATCH: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of an earlier answer: 304 (no body) while the indexed state is the same.",
    "schema": {"type": "string"},
}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the completed document (FastAPI caches it until routes change)."""
    build: Callable[[], dict[str, Any]] = app.openapi
    completed: list[int] = []

    def openapi() -> dict[str, Any]:
        document = build()
        if id(document) not in completed:
            complete(document, app)
            completed[:] = [id(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any], app: FastAPI) -> None:
    """Fill `document` (the app's generated OpenAPI) in place, as the module docstring says."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("ProblemDetail", ProblemDetail.model_json_schema(mode="serialization", by_alias=True))
    headers = components.setdefault("headers", {})
    headers.update(copy.deepcopy(RATE_LIMIT_HEADERS))
    headers["Retry-After"]["required"] = True
    headers.update({name: header | {"required": True} for name, header in _INDEXED_HEADERS.items()})
    indexed = {(path, method) for path, method, dependant in _operations(app) if _depends_on(dependant, get_indexed)}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {MEDIA_TYPE: {"schema": _PROBLEM_REF, "example": _example(int(status))}}
            responses.update(copy.deepcopy(REQUEST_BOUNDS_RESPONSES))
            if (path, method) in indexed:
                _document_indexed(operation, responses)
            if path in EXEMPT_PATHS:
                responses.pop("429", None)
                continue
            responses["429"] = copy.deepcopy(RATE_LIMITED_RESPONSE) | {"headers": _refs(["Retry-After"])}
            for response in responses.values():
                response["headers"] = _refs(
                    ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
                ) | response.get("headers", {})


def _refs(names: list[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _document_indexed(operation: dict[str, Any], responses: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name", "").lower() == "if-none-match" for p in parameters):
        parameters.append(_IF_NONE_MATCH)
    for status in ("200", "304"):
        response = responses.setdefault(status, {"description": "Not modified: the If-None-Match ETag is current."})
        response["headers"] = _refs(list(_INDEXED_HEADERS)) | response.get("headers", {})


def _example(status: int) -> dict[str, Any]:
    kind, detail = _EXAMPLES.get(status, (None, "what went wrong with this request"))
    problem = ProblemDetail(
        type=f"https://patentpool.dev/problems/{kind}" if kind else "about:blank",
        title=title_of(status),
        status=status,
        detail=detail,
        instance="/v1/pools",
    )
    return problem.model_dump(by_alias=True, exclude_none=True)


def _operations(app: FastAPI) -> Iterator[tuple[str, str, Dependant]]:
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema and context.path_format:
            for method in context.methods or ():
                yield context.path_format, method.lower(), context.dependant


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)

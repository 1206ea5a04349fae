"""Bounded requests: a request's URL, headers and body must fit in `settings.max_request_bytes`.

The rule, checked before any route runs, each refusal an `application/problem+json`:

* a NUL character in the URL (`%00`) is a `400`: no parameter of this API holds one, and
  PostgreSQL cannot take one in a text value (the query would fail rather than find nothing);
* a URL (path and query) longer than the budget is a `414`;
* a URL plus headers (counted as sent, `name: value` and a line break each) over it is a `431`;
* a body on GET or HEAD is a `413` (no route reads one, and a cache or proxy would ignore it);
* on any other method, a declared `Content-Length` over what the URL and headers left of the
  budget is a `413`, and so is a body of undeclared length (`Transfer-Encoding`), since it could
  only be bounded by reading it and no route of this read-only API takes a body.

Responses need no bound here: every list is paginated (at most `pagination.MAX_LIMIT` rows).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import MEDIA_TYPE, ProblemDetail, problem_response, title_of

__all__ = ["REQUEST_BOUNDS_RESPONSES", "RequestBoundsMiddleware", "request_size"]

_NO_BODY_METHODS = frozenset({"GET", "HEAD"})


def request_size(scope: Scope) -> tuple[int, int]:
    """The bytes of a request's URL (path and query) and of its header lines."""
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    url = len(path) + (len(query) + 1 if query else 0)
    headers = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
    return url, headers


class RequestBoundsMiddleware:
    """A pure ASGI middleware refusing requests larger than `max_bytes` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail, kind = refusal
        response = problem_response(Request(scope), status, detail, kind=kind)
        await response(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            return 400, "the URL holds a NUL character (%00), which no parameter of this API takes", "nul"
        url, headers = request_size(scope)
        if url > self.max_bytes:
            return 414, f"the URL is {url} bytes; at most {self.max_bytes} are accepted", "uri-too-long"
        if url + headers > self.max_bytes:
            return (
                431,
                f"the URL and headers are {url + headers} bytes; at most {self.max_bytes} are accepted",
                "headers-too-large",
            )
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if chunked:
            return 413, "a request body of undeclared length (Transfer-Encoding) is not accepted", "body"
        if declared is None:
            return None
        try:
            length = int(declared)
        except ValueError:
            return 400, "the Content-Length header is not a number", "body"
        if length > 0 and scope["method"] in _NO_BODY_METHODS:
            return 413, f"a {scope['method']} request carries no body; this one declares {length} bytes", "body"
        left = self.max_bytes - url - headers
        if length > left:
            return 413, f"the body is {length} bytes; at most {left} are accepted with this URL and headers", "body"
        return None


def _example(status: int, detail: str, kind: str) -> dict[str, Any]:
    problem = ProblemDetail(
        type=f"https://patentpool.dev/problems/{kind}",
        title=title_of(status),
        status=status,
        detail=detail,
        instance="/v1/pools",
    )
    return {
        MEDIA_TYPE: {
            "schema": {"$ref": "#/components/schemas/ProblemDetail"},
            "example": problem.model_dump(exclude_none=True),
        }
    }


#: The OpenAPI description of the refusals, for every operation.
REQUEST_BOUNDS_RESPONSES: dict[str, dict[str, Any]] = {
    "413": {
        "description": "A body was sent with a GET or HEAD request, or a body is too large.",
        "content": _example(413, "a GET request carries no body; this one declares 12 bytes", "body"),
    },
    "414": {
        "description": "The URL is longer than the server accepts.",
        "content": _example(414, "the URL is 20000 bytes; at most 16384 are accepted", "uri-too-long"),
    },
    "431": {
        "description": "The URL and headers together are larger than the server accepts.",
        "content": _example(
            431,
            "the URL and headers are 17000 bytes; at most 16384 are accepted",
            "headers-too-large",
        ),
    },
}

"""RFC 9457 problem details: every error the API returns is `application/problem+json`.

Handlers turn FastAPI's validation errors, HTTP errors, the API's own `Problem` exceptions and any
unexpected exception into one shape; the last never shows a traceback (it is logged instead).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "MEDIA_TYPE",
    "PROBLEM_RESPONSES",
    "Problem",
    "ProblemDetail",
    "install_problem_handlers",
    "problem_response",
    "title_of",
]

MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("api")

_TITLES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request too large",
    414: "URI too long",
    422: "Invalid parameter",
    429: "Too many requests",
    431: "Request header fields too large",
    500: "Internal error",
    502: "Chain unavailable",
    503: "Not ready",
    504: "Timed out",
}


class InvalidParam(BaseModel):
    """One request parameter that was refused, and why."""

    name: str = Field(description="Where the parameter is and its name, e.g. query.limit.")
    reason: str


class ProblemDetail(BaseModel):
    """An error, as RFC 9457 describes it."""

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str = Field(description="What went wrong with this request, in words.")
    instance: str | None = Field(default=None, description="The path of the request that failed.")
    invalid_params: list[InvalidParam] | None = Field(
        default=None, serialization_alias="invalid-params", description="Each refused parameter."
    )


class Problem(Exception):
    """Raise to answer with a problem document: `Problem(404, "no pool at 0x...")`."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, kind: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.kind = kind


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    invalid: list[InvalidParam] | None = None,
    kind: str | None = None,
) -> JSONResponse:
    body = ProblemDetail(
        type=f"https://patentpool.dev/problems/{kind}" if kind else "about:blank",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        invalid_params=invalid,
    )
    return JSONResponse(
        body.model_dump(by_alias=True, exclude_none=True), status_code=status, headers=headers, media_type=MEDIA_TYPE
    )


def title_of(status: int) -> str:
    """The title problem documents of `status` carry."""
    return _TITLES.get(status, "Error")


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` with problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, exc.headers, kind=exc.kind)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        invalid = [
            InvalidParam(name=_location(tuple(e.get("loc", ()))), reason=str(e.get("msg", "invalid")))
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p.name}: {p.reason}" for p in invalid) or "the request is not valid"
        return problem_response(request, 422, detail, invalid=invalid, kind="invalid-parameter")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing is served at {request.url.path}"
        return problem_response(request, exc.status_code, detail, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unexpected error on %s", request.url.path)
        return problem_response(request, 500, "the server failed to answer this request; it has been logged")


def _doc(status: int, description: str) -> dict[str, Any]:
    return {"model": ProblemDetail, "description": description, "content": {MEDIA_TYPE: {}}}


#: The error responses every route may give, for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc(400, "A parameter is malformed (a cursor, an address)."),
    404: _doc(404, "No such object in the mirror (or on the chain)."),
    422: _doc(422, "A parameter is out of range or of the wrong type."),
    429: _doc(429, "Too many requests from this client; see Retry-After."),
    502: _doc(502, "The chain's node did not answer (for what the API reads live: token, head, verify)."),
    503: _doc(503, "The mirror is not indexed yet, or the database is unavailable."),
    504: _doc(504, "A database read ran past the statement timeout and was cancelled."),
}

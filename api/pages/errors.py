"""Errors on the pages as HTML in the site's layout; the API's /v1 keeps its problem+json.

The app's problem handlers (api.problems and api.main) stay the one source of every error's status
and words: `install_html_errors` wraps each of them, and only when the request was for a page
(not an API path) turns the problem document they made into the same facts on an HTML page.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from api.pages.templating import render

__all__ = ["install_html_errors", "is_page"]

#: Paths of the machine-readable API: their errors stay application/problem+json.
API_PREFIXES = ("/v1", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json")

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def is_page(path: str) -> bool:
    """Whether `path` is one of the pages for people (everything outside the API's paths)."""
    return not any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


def _as_html(request: Request, response: Response) -> Response:
    if not is_page(request.url.path) or response.status_code < 400:
        return response
    if not (response.headers.get("content-type") or "").startswith("application/problem+json"):
        return response
    problem: dict[str, Any] = json.loads(bytes(response.body))
    kept = {k: v for k, v in response.headers.items() if k.lower() in {"retry-after", "x-indexed-block"}}
    page = render(
        request,
        "error.html",
        title=str(problem.get("title", "Error")),
        status_code=response.status_code,
        problem=problem,
    )
    page.headers.update(kept)
    return page


def _wrap(handler: Handler) -> Handler:
    async def html_or_problem(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        try:
            return _as_html(request, response)
        except Exception:
            # The error page itself failed: the problem document is still an answer, not a trace.
            return response

    return html_or_problem


def install_html_errors(app: FastAPI) -> None:
    """Wrap every exception handler `app` has so far: pages get HTML, the API problem+json."""
    for key, handler in list(app.exception_handlers.items()):
        app.exception_handlers[key] = _wrap(handler)

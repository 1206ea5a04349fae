"""The pages' Jinja2 environment: the layout's context and the filters every template shares.

Templates show the API's own response models (the same pydantic objects the JSON carries), so a
page and the JSON never disagree; the filters only format them for people: relative times,
shortened addresses, transaction links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from api.models import IndexedBlock

__all__ = ["TEMPLATES", "ago", "page_url", "render", "short"]

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

_UNITS = [(365 * 86_400, "year"), (30 * 86_400, "month"), (7 * 86_400, "week"), (86_400, "day"), (3_600, "hour")]


def ago(unix: int, now: int) -> str:
    """`unix` relative to `now` in words: "3 days ago", "in 11 months", "just now"."""
    delta = unix - now
    seconds = abs(delta)
    for size, name in _UNITS:
        if seconds >= size:
            count = seconds // size
            words = f"{count} {name}{'s' if count != 1 else ''}"
            return f"in {words}" if delta > 0 else f"{words} ago"
    if seconds >= 60:
        words = f"{seconds // 60} minute{'s' if seconds >= 120 else ''}"
        return f"in {words}" if delta > 0 else f"{words} ago"
    return "just now"


def short(value: str, head: int = 6, tail: int = 4) -> str:
    """0x1234…abcd: the start and end of an address or hash."""
    if len(value) <= head + tail + 1:
        return value
    return f"{value[:head]}…{value[-tail:]}"


def bps(value: int) -> str:
    """Basis points as a percentage: 1234 -> 12.34 %."""
    return f"{value / 100:.2f} %"


def page_url(request: Request, **changes: Any) -> str:
    """This page's path with some query parameters set (None removes one): next-page links."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


TEMPLATES.env.filters["short"] = short
TEMPLATES.env.filters["bps"] = bps
TEMPLATES.env.globals["ago"] = ago
TEMPLATES.env.globals["page_url"] = page_url
TEMPLATES.env.trim_blocks = True
TEMPLATES.env.lstrip_blocks = True


def render(
    request: Request,
    template: str,
    *,
    title: str,
    indexed: IndexedBlock | None = None,
    now: int = 0,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """`template` in the layout; the indexed block's headers (ETag, X-Indexed-Block) go with it."""
    state = getattr(request.app.state, "api", None)
    explorer = state.settings.explorer_url.rstrip("/") if state and state.settings.explorer_url else None
    headers = dict(getattr(request.state, "response_headers", {}) or {})
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"title": title, "indexed": indexed, "now": now, "explorer": explorer, **context},
        status_code=status_code,
        headers=headers,
    )

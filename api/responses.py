"""Answering a list as JSON or, on `Accept: text/csv` or `?format=csv`, as CSV with the same rows.

The CSV has one column per JSON leaf (`provenance.txHash`, `annualFee.value`); lists inside a row
are joined with `;`. It is streamed row by row and carries the same ETag and indexed-block
headers as the JSON, and the next page's cursor in a `Link` header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.models import Page

__all__ = ["CSV_RESPONSE", "FormatQuery", "flatten", "respond"]

FormatQuery = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="csv: the same rows as CSV (as `Accept: text/csv` does)."),
]

#: The OpenAPI description of a list's CSV form.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The page as JSON, or as CSV (`Accept: text/csv` or `?format=csv`).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON object as one level of dotted keys; lists of scalars joined by ';'."""
    flat: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            flat[prefix] = ";".join("" if v is None else str(v) for v in value)
        else:
            for n, item in enumerate(value):
                flat.update(flatten(item, f"{prefix}.{n}"))
    else:
        flat[prefix] = "" if value is None else value
    return flat


def _csv_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def respond(request: Request, page: Page[Any], fmt: str | None) -> Page[Any] | StreamingResponse:
    """`page` as the route's JSON model, or as CSV when the client asks for it."""
    if not wants_csv(request, fmt):
        return page
    rows = [flatten(item.model_dump(mode="json") if isinstance(item, BaseModel) else item) for item in page.data]
    headers = dict(getattr(request.state, "response_headers", {}))
    if page.next_cursor:
        url = request.url.include_query_params(cursor=page.next_cursor)
        headers["Link"] = f'<{url}>; rel="next"'
    name = request.url.path.strip("/").replace("/", "-") or "rows"
    headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return StreamingResponse(_csv_lines(rows), media_type="text/csv; charset=utf-8", headers=headers)

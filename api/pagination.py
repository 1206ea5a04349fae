"""Keyset (cursor) pagination: a page continues after the last row's key, never at an offset.

Each list orders by a unique key (its primary key, or a unique tuple ending in one), so a page
never skips or repeats a row when rows are added or changed between requests. The cursor is the
last key and the list it belongs to, as base64url JSON: opaque to clients, checked when it comes
back (a cursor of another list, or one that does not decode, is a 400).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from api.problems import Problem

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PageParams", "PageParamsDep", "decode_cursor", "encode_cursor", "page"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

R = TypeVar("R")


class PageParams:
    """`limit` and `cursor` of a list request."""

    def __init__(self, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> None:
        self.limit = limit
        self.cursor = cursor


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (1 to {MAX_LIMIT}).")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, description="The `nextCursor` of the previous page (absent: the first page)."),
    ] = None,
) -> PageParams:
    """The page parameters (an `async def`: no I/O, so no trip to the thread pool)."""
    return PageParams(limit, cursor)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def encode_cursor(name: str, key: Sequence[Any]) -> str:
    raw = json.dumps([name, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(name: str, cursor: str, width: int) -> list[Any]:
    """The key a cursor of list `name` holds; a 400 problem for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        owner, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise Problem(
            400, "the cursor is malformed: pass a nextCursor exactly as a page gave it", kind="cursor"
        ) from None
    if owner != name or not isinstance(key, list) or len(key) != width:
        raise Problem(400, "the cursor belongs to another list: pass the nextCursor of this list", kind="cursor")
    if not all(isinstance(part, (int, str)) and not isinstance(part, bool) for part in key):
        raise Problem(400, "the cursor is malformed: pass a nextCursor exactly as a page gave it", kind="cursor")
    if any(isinstance(part, int) and not -(2**63) <= part < 2**63 for part in key):
        raise Problem(400, "the cursor is malformed: pass a nextCursor exactly as a page gave it", kind="cursor")
    return key


def page(
    session: Session,
    statement: SelectOfScalar[R],
    key: Sequence[Any],
    params: PageParams,
    name: str,
) -> tuple[list[R], str | None]:
    """One page of `statement` in `key` order, after the cursor; and the cursor of the next page.

    `key` is the list of columns that orders the list and is unique within it.
    """
    if params.cursor is not None:
        after = decode_cursor(name, params.cursor, len(key))
        for part, column in zip(after, key, strict=True):
            if not isinstance(part, int if _is_int(column) else str):
                raise Problem(
                    400, "the cursor is malformed: pass a nextCursor exactly as a page gave it", kind="cursor"
                )
        statement = statement.where(sa.tuple_(*key) > sa.tuple_(*after))
    rows = list(session.exec(statement.order_by(*key).limit(params.limit + 1)).all())
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor(name, [getattr(last, column.key) for column in key])


def _is_int(column: Any) -> bool:
    try:
        return bool(column.type.python_type is int)
    except NotImplementedError:
        return False

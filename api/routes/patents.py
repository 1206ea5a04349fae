"""`/v1/patents`: every listed patent, searchable by publication number, office and status."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import col, select

from api.deps import IndexedDep, SessionDep
from api.models import Page
from api.pagination import PageParamsDep, page
from api.problems import PROBLEM_RESPONSES, Problem
from api.queries import STATUSES
from api.responses import CSV_RESPONSE, FormatQuery, respond
from api.routes.assets import PatentOut, patent_out
from indexer.schema import Asset, Patent

__all__ = ["normalize_publication", "router"]

router = APIRouter(prefix="/v1/patents", tags=["patents"], responses=PROBLEM_RESPONSES)

StatusName = Literal["pending", "granted", "lapsed", "revoked"]

_SPACES = re.compile(r"\s+")


def normalize_publication(text: str) -> str:
    """A publication number as searched: upper case, no white space ("us 10123456 b2" -> US10123456B2)."""
    return _SPACES.sub("", text).upper()


def _searchable(column: Any) -> sa.ColumnElement[str]:
    # upper() and replace() are in SQLite and PostgreSQL alike; tabs or newlines never occur in the
    # numbers the contract stores (the demo's are plain), spaces might.
    return sa.func.replace(sa.func.upper(column), " ", "")


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@router.get("", response_model=Page[PatentOut], responses=CSV_RESPONSE)
def list_patents(
    request: Request,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    publication: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="Publication numbers containing this, in any case, spaces ignored (us 10123456 b2).",
        ),
    ] = None,
    jurisdiction: Annotated[
        str | None, Query(pattern=r"^[A-Za-z]{2}$", description="Only patents in this office (two letters).")
    ] = None,
    status: Annotated[StatusName | None, Query(description="Only patents in this status.")] = None,
    fmt: FormatQuery = None,
) -> Page[PatentOut] | StreamingResponse:
    """Every patent of every family, with its family and asset, by (asset id, position)."""
    statement = select(Patent)
    if publication is not None:
        needle = normalize_publication(publication)
        if not needle:
            raise Problem(422, "publication must hold more than white space", kind="invalid-parameter")
        statement = statement.where(
            _searchable(col(Patent.publication_number)).like(_like_pattern(needle), escape="\\")
        )
    if jurisdiction is not None:
        statement = statement.where(Patent.jurisdiction == jurisdiction.upper())
    if status is not None:
        statement = statement.where(Patent.status == STATUSES.index(status))
    rows, cursor = page(session, statement, [Patent.asset_id, Patent.patent_index], params, "patents")
    families = {
        a.asset_id: a.family_id
        for a in session.exec(select(Asset).where(col(Asset.asset_id).in_({p.asset_id for p in rows}))).all()
    }
    data = [patent_out(p, families.get(p.asset_id, ""), indexed.chain_id) for p in rows]
    return respond(request, Page[PatentOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)

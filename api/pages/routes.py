"""The pages for people: server-rendered HTML over the same route functions the JSON API runs.

Each page calls the /v1 route functions with explicit arguments and shows the pydantic models
they return, so a page never states anything the API would not; no page runs SQL of its own.
Tables page with the API's own cursors, one query parameter per table, and link the API's CSV.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.responses import Response

from api.deps import IndexedDep, SessionDep, StateDep
from api.models import Amount, Page, amount
from api.pages.templating import render
from api.pagination import MAX_LIMIT, PageParams
from api.problems import Problem
from api.queries import KINDS, LIFECYCLES, AddressPath, indexed_time
from api.routes import pools

__all__ = ["router"]

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

T = TypeVar("T")

#: Rows per table on a page (the API's own limit applies to its CSV links too).
ROWS = 25

CursorQuery = Annotated[str | None, Query(max_length=512)]


def rows(result: Page[T] | StreamingResponse) -> Page[T]:
    """The JSON page a route function returned (pages always ask for JSON)."""
    if not isinstance(result, Page):
        raise TypeError("a route answered CSV to a page")
    return result


def _choice(value: str | None, names: list[str], what: str) -> str | None:
    if not value:
        return None
    if value not in names:
        raise Problem(400, f"{what} must be one of {', '.join(names)}, not {value[:40]!r}", kind="invalid-parameter")
    return value


def _money(amounts: list[Amount]) -> list[Amount]:
    """Amounts added up per token (pools may take different tokens)."""
    sums: dict[tuple[int | None, str | None], int] = {}
    for a in amounts:
        sums[(a.decimals, a.symbol)] = sums.get((a.decimals, a.symbol), 0) + int(a.value)
    return [
        amount(units, (d, s) if d is not None and s is not None else None)
        for (d, s), units in sorted(sums.items(), key=lambda kv: str(kv[0][1]))
    ]


@router.get("/")
def front_page(
    request: Request,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    lifecycle: Annotated[str | None, Query(max_length=40)] = None,
    cursor: CursorQuery = None,
) -> Response:
    """The pools as cards with their counts and money moved, and the registry's totals."""
    kind = _choice(kind, KINDS, "kind")
    lifecycle = _choice(lifecycle, LIFECYCLES, "the stage")
    listed = rows(
        pools.list_pools(
            request, session, state, indexed, PageParams(limit=ROWS * 2, cursor=cursor),
            kind=cast("pools.Kind | None", kind), field=None,
            lifecycle=cast("pools.LifecycleName | None", lifecycle), fmt="json",
        )
    )  # fmt: skip
    everything = rows(
        pools.list_pools(
            request, session, state, indexed, PageParams(limit=MAX_LIMIT), kind=None, field=None, lifecycle=None,
            fmt="json",
        )
    )  # fmt: skip
    totals: dict[str, Any] = {
        "pools": len(everything.data),
        "members": sum(p.counts.members for p in everything.data),
        "founders": sum(p.counts.founders for p in everything.data),
        "assets": sum(p.counts.assets for p in everything.data),
        "licences": sum(p.counts.licences for p in everything.data),
        "money": _money([p.total_revenue for p in everything.data]),
    }
    return render(
        request,
        "index.html",
        title="Patent pools",
        indexed=indexed,
        now=indexed_time(session),
        pools=listed.data,
        next_cursor=listed.next_cursor,
        totals=totals,
        kinds=KINDS,
        lifecycles=LIFECYCLES,
        kind=kind,
        lifecycle=lifecycle,
    )


@router.get("/pools/{address}")
def pool_page(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    founders: CursorQuery = None,
    members: CursorQuery = None,
    assets: CursorQuery = None,
) -> Response:
    """One pool: profile and terms, founders, assets, members, licences, disputes and revenue."""
    pool = pools.get_pool(address, session, state, indexed).data
    a = pool.address
    founder_rows = rows(pools.list_founders(request, a, session, indexed, PageParams(ROWS, founders), fmt="json"))
    member_rows = rows(
        pools.list_members(
            request, a, session, state, indexed, PageParams(ROWS, members), current=None, tier=None, fmt="json"
        )
    )
    asset_rows = rows(
        pools.list_pool_assets(
            request, a, session, indexed, PageParams(ROWS, assets), status=None, founder=None, fmt="json"
        )
    )
    return render(
        request,
        "pool.html",
        title=pool.name,
        indexed=indexed,
        now=indexed_time(session),
        pool=pool,
        founders=founder_rows,
        members=member_rows,
        assets=asset_rows,
    )

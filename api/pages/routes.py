"""The pages for people: server-rendered HTML over the same route functions the JSON API runs.

Each page calls the /v1 route functions with explicit arguments and shows the pydantic models
they return, so a page never states anything the API would not; no page runs SQL of its own.
Tables page with the API's own cursors, one query parameter per table, and link the API's CSV.
"""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlmodel import Session
from starlette.responses import Response

from api.deps import AppState, IndexedDep, SessionDep, StateDep, indexed_block, read_checkpoint
from api.models import IndexedBlock, Page
from api.pages.chart import revenue_chart
from api.pages.templating import render
from api.pagination import MAX_LIMIT, PageParams
from api.problems import Problem
from api.queries import KINDS, LIFECYCLES, AddressPath, indexed_time
from api.routes import assets, companies, disputes, events, licences, patents, pools, revenue, stats, status

__all__ = ["router"]

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

T = TypeVar("T")

#: Rows per table on a page (the CSV links ask the API for its largest page).
ROWS = 25

CursorQuery = Annotated[str | None, Query(max_length=512)]
AssetIdPath = Annotated[int, PathParam(ge=0, le=2**63 - 1)]

_TX = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


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


def _all_pools(request: Request, session: Session, state: AppState, indexed: IndexedBlock) -> list[pools.PoolSummary]:
    listed = pools.list_pools(
        request, session, state, indexed, PageParams(MAX_LIMIT), kind=None, field=None, lifecycle=None, fmt="json"
    )
    return rows(listed).data


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
            request,
            session,
            state,
            indexed,
            PageParams(limit=ROWS * 2, cursor=cursor or None),
            kind=cast("pools.Kind | None", kind),
            field=None,
            lifecycle=cast("pools.LifecycleName | None", lifecycle),
            fmt="json",
        )
    )
    return render(
        request,
        "index.html",
        title="Patent pools",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        pools=listed.data,
        next_cursor=listed.next_cursor,
        stats=stats.get_stats(session, state, indexed).data,
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
    assets_after: Annotated[str | None, Query(alias="assets", max_length=512)] = None,
    offers: CursorQuery = None,
    licences_after: Annotated[str | None, Query(alias="licences", max_length=512)] = None,
    disputes_after: Annotated[str | None, Query(alias="disputes", max_length=512)] = None,
) -> Response:
    """One pool: profile and terms, revenue, founders, assets, members, offers, licences and disputes."""
    pool = pools.get_pool(address, session, state, indexed).data
    a = pool.address
    money = revenue.get_revenue(a, session, state, indexed).data
    tables: dict[str, Any] = {
        "founders": pools.list_founders(request, a, session, indexed, PageParams(ROWS, founders or None), fmt="json"),
        "members": pools.list_members(
            request, a, session, state, indexed, PageParams(ROWS, members or None), current=None, tier=None, fmt="json"
        ),
        "assets": pools.list_pool_assets(
            request, a, session, indexed, PageParams(ROWS, assets_after or None), status=None, founder=None, fmt="json"
        ),
        "offers": licences.list_offers(
            request,
            a,
            session,
            state,
            indexed,
            PageParams(ROWS, offers or None),
            status=None,
            licensee=None,
            fmt="json",
        ),
        "licences": licences.list_licences(
            request,
            a,
            session,
            state,
            indexed,
            PageParams(ROWS, licences_after or None),
            status=None,
            licensee=None,
            fmt="json",
        ),
        "disputes": disputes.list_disputes(
            request, a, session, indexed, PageParams(ROWS, disputes_after or None), status=None, asset=None, fmt="json"
        ),
    }
    return render(
        request,
        "pool.html",
        title=pool.name,
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        pool=pool,
        revenue=money,
        chart=revenue_chart(money.by_month),
        tables={name: rows(result) for name, result in tables.items()},
    )


@router.get("/assets/{asset_id}")
def asset_page(
    request: Request, asset_id: AssetIdPath, session: SessionDep, indexed: IndexedDep, dossiers: assets.DossiersDep
) -> Response:
    """One patent family: patents by office, evaluations with the scorecard, dossier hash, pools and disputes."""
    asset = assets.get_asset(asset_id, session, indexed, dossiers).data
    return render(
        request,
        "asset.html",
        title=f"{asset.family_id} (asset {asset.asset_id})",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        asset=asset,
    )


@router.get("/companies/{address}")
def company_page(
    request: Request, address: AddressPath, session: SessionDep, state: StateDep, indexed: IndexedDep
) -> Response:
    """What one address founds, holds, owns, pays, earns and disputes."""
    company = companies.get_company(address, session, state, indexed).data
    return render(
        request,
        "company.html",
        title=f"Company {company.address}",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        company=company,
    )


@router.get("/licences/check")
def licence_check_page(
    request: Request,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    pool: Annotated[str | None, Query(max_length=64)] = None,
    licensee: Annotated[str | None, Query(max_length=64)] = None,
    asset: Annotated[str | None, Query(max_length=32)] = None,
    at: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Is this address licensed for this asset? The form, and the chain's answer with why."""
    form = {"pool": (pool or "").strip(), "licensee": (licensee or "").strip(), "asset": (asset or "").strip()}
    form["at"] = (at or "").strip()
    answer = None
    error = None
    code = 200
    if any(form.values()):
        try:
            missing = [name for name in ("pool", "licensee", "asset") if not form[name]]
            if missing:
                raise Problem(400, f"fill in {' and '.join(missing)} to check a licence", kind="invalid-parameter")
            if not form["asset"].isdigit() or int(form["asset"]) > 2**63 - 1:
                raise Problem(
                    400, f"the asset is a number (its id), not {form['asset'][:32]!r}", kind="invalid-parameter"
                )
            answer = licences.verify_licence(
                Response(), session, state, form["pool"], form["licensee"], int(form["asset"]), form["at"] or None
            ).data
        except Problem as problem:
            error, code = problem.detail, problem.status
    every_pool = _all_pools(request, session, state, indexed)
    json_url = "/v1/licences/verify?" + urlencode({k: v for k, v in form.items() if v}) if answer else None
    return render(
        request,
        "licence_check.html",
        title="Check a licence",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        status_code=code,
        form=form,
        answer=answer,
        error=error,
        json_url=json_url,
        pools=every_pool,
        pool_name=next((p.name for p in every_pool if answer and p.address == answer.pool), None),
    )


@router.get("/tx/{tx_hash}")
def transaction_page(
    request: Request,
    tx_hash: Annotated[str, PathParam(max_length=80)],
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    cursor: CursorQuery = None,
) -> Response:
    """The mirrored events of one transaction, and a link to a block explorer when one is set."""
    if not _TX.fullmatch(tx_hash):
        raise Problem(400, f"a transaction hash is 0x and 64 hex digits, not {tx_hash[:80]!r}", kind="tx")
    listed = rows(
        events.list_events(
            request,
            session,
            indexed,
            PageParams(MAX_LIMIT, cursor or None),
            pool=None,
            name=None,
            from_block=None,
            to_block=None,
            tx=tx_hash,
            fmt="json",
        )
    )
    if not listed.data and cursor is None:
        raise Problem(404, f"no mirrored event in transaction {tx_hash}: it made no change this registry follows")
    names = {p.address: p.name for p in _all_pools(request, session, state, indexed)}
    return render(
        request,
        "tx.html",
        title=f"Transaction {tx_hash[:10]}…",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        tx_hash=tx_hash.lower(),
        events=listed,
        pool_names=names,
    )


@router.get("/search", response_model=None)
def search_page(
    request: Request,
    session: SessionDep,
    state: StateDep,
    indexed: IndexedDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Find a pool, an asset, a patent or a company: by publication number, family id, name or address."""
    text = (q or "").strip()
    if _ADDRESS.fullmatch(text):
        known = {p.address.lower(): p.address for p in _all_pools(request, session, state, indexed)}
        if text.lower() in known:
            return RedirectResponse(f"/pools/{known[text.lower()]}", status_code=303)
        return RedirectResponse(f"/companies/{text}", status_code=303)
    if _TX.fullmatch(text):
        return RedirectResponse(f"/tx/{text}", status_code=303)
    found_pools: list[pools.PoolSummary] = []
    found_assets: list[assets.AssetSummary] = []
    found_patents: list[assets.PatentOut] = []
    if text:
        needle = text.casefold()
        found_pools = [
            p for p in _all_pools(request, session, state, indexed) if needle in f"{p.name} {p.field}".casefold()
        ]
        found_assets = rows(
            assets.list_assets(
                request, session, indexed, PageParams(ROWS), owner=None, family=text, pool=None, fmt="json"
            )
        ).data
        if text.isdigit() and int(text) < 2**63:
            with contextlib.suppress(Problem):
                found_assets.insert(0, assets.get_asset(int(text), session, indexed).data)
        if patents.normalize_publication(text):
            found_patents = rows(
                patents.list_patents(
                    request,
                    session,
                    indexed,
                    PageParams(ROWS),
                    publication=text[:64],
                    jurisdiction=None,
                    status=None,
                    fmt="json",
                )
            ).data
    return render(
        request,
        "search.html",
        title=f"Search: {text}" if text else "Search",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        q=text,
        found_pools=found_pools,
        found_assets=found_assets,
        found_patents=found_patents,
    )


@router.get("/status")
def status_page(request: Request, session: SessionDep, state: StateDep) -> Response:
    """The mirror's head beside the chain's: lag, digest, and how to recompute the digest.

    It shows the chain's live head, so it is not a function of the indexed block: no ETag (no 304,
    nothing kept by the response cache), `no-store`.
    """
    checkpoint = read_checkpoint(session)
    indexed = indexed_block(checkpoint)
    request.state.response_headers = {
        "Cache-Control": "no-store",
        "X-Indexed-Block": str(checkpoint.block_number),
        "X-Indexed-Block-Hash": checkpoint.block_hash,
    }
    current = status.get_status(session, state, Response()).data
    return render(
        request,
        "status.html",
        title="Status",
        indexed=indexed,
        now=indexed_time(session, indexed.block_number),
        status=current,
    )

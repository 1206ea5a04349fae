"""The API's routers, one module per resource (each `router = APIRouter(prefix=..., tags=[...])`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    assets,
    certificates,
    companies,
    disputes,
    events,
    licences,
    patents,
    pools,
    revenue,
    stats,
    status,
)

__all__ = ["ROUTERS"]

# Order matters where prefixes overlap: /v1/pools/{address}/... sub-resources before nothing else.
ROUTERS: list[APIRouter] = [
    pools.router,
    revenue.router,
    disputes.router,
    licences.router,
    certificates.router,
    events.router,
    assets.router,
    patents.router,
    companies.router,
    stats.router,
    status.router,
]

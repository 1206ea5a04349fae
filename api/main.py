"""The app factory: the read-only public API (JSON under /v1) over the mirror and the chain.

`create_app(settings)` builds a FastAPI app whose lifespan opens the read-only engine and the
node reader; `patentpool serve` runs it under uvicorn. The process holds no private key and the
app has no write route: every route is a GET (and HEAD).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from limits import parse as parse_limit

from api import pages
from api.cache import ResponseCacheMiddleware
from api.chain import ChainReader
from api.db import is_timeout, read_only_engine
from api.deps import AppState, NotModified, checkpoint_state
from api.limits import RateLimitMiddleware, async_storage
from api.middleware import RequestBoundsMiddleware
from api.openapi import install_openapi
from api.problems import install_problem_handlers, problem_response
from api.routes import ROUTERS
from api.settings import ApiSettings, get_settings
from indexer.db import DATABASE_FAILURES, reason

__all__ = ["create_app"]

DESCRIPTION = """\
The public, read-only registry of patentpool: pools, their founders, members, assets, offers,
licences, revenue and disputes, as mirrored from the chain by the indexer.

* Every object carries its **provenance** (chain id, transaction, block number and hash, log index)
  and every answer names the **indexed block** it reflects (the `indexed` field and the
  `X-Indexed-Block` / `X-Indexed-Block-Hash` headers).
* `/v1/licences/verify` asks the chain itself (`isLicensed`, an eth_call) and says why.
* Lists are keyset-paginated (`limit`, `cursor` = the previous page's `nextCursor`) and answer CSV
  on `Accept: text/csv` or `?format=csv`.
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API app over `settings` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = read_only_engine(settings.database_url, settings.statement_timeout_ms)
        app.state.api = AppState(settings=settings, engine=engine, chain=ChainReader(settings.rpc_url))
        try:
            yield
        finally:
            engine.dispose()

    # FastAPIOffline: /docs (Swagger UI) and /redoc from files shipped in the package, not a CDN.
    app = FastAPIOffline(
        title="patentpool public API",
        version="1.0.0",
        summary="A transparent, verifiable registry of patent pools, mirrored from the chain.",
        description=DESCRIPTION,
        lifespan=lifespan,
        license_info={"name": "MIT", "identifier": "MIT"},
    )
    install_problem_handlers(app)
    install_openapi(app)

    @app.exception_handler(NotModified)
    async def _not_modified(_request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers=exc.headers)

    @app.exception_handler(sa.exc.OperationalError)
    async def _database(request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        if is_timeout(exc):
            return problem_response(request, 504, "the query took too long and was cancelled", kind="timeout")
        return problem_response(request, 503, f"the mirror's database failed: {reason(exc)}", kind="database")

    @app.exception_handler(sa.exc.TimeoutError)
    async def _busy(request: Request, _exc: sa.exc.TimeoutError) -> JSONResponse:
        return problem_response(request, 503, "every connection to the mirror is busy: try again", kind="busy")

    for failure in DATABASE_FAILURES:
        if failure is not sa.exc.OperationalError:
            app.add_exception_handler(failure, _database)  # type: ignore[arg-type]

    # The last added runs first: CORS (so a browser can read even a refusal), then the rate limit
    # (every answer counted, refusals of oversized requests too), then the request bounds, then the
    # response cache (so a replayed answer is counted and bounded like any other).
    app.add_middleware(
        ResponseCacheMiddleware,
        read_state=lambda scope: checkpoint_state(scope["app"].state.api.engine),
        max_bytes=settings.response_cache_bytes,
        recheck=settings.response_cache_recheck,
    )
    app.add_middleware(RequestBoundsMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        item=parse_limit(settings.rate_limit),
        storage=async_storage(settings.rate_limit_storage),
    )
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"], expose_headers=["*"])
    for router in ROUTERS:
        app.include_router(router)
    pages.install(app)  # the HTML pages, /static, and HTML errors outside /v1
    return app

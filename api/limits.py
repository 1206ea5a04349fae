"""Per-client rate limiting: a fixed window per remote address, counted by the `limits` package.

The rule: each client (the request's remote address) may make `settings.rate_limit` requests
(`limits` notation, e.g. "600/minute") per window; a client's window opens with its first request
and lasts the limit's period. A fixed window costs one counter per client whatever the limit (a
moving window keeps one timestamp per request, which a generous limit makes large and slow), at
the price of a burst of up to twice the limit across a window's end.

Every counted response carries the IETF draft headers `RateLimit-Limit`, `RateLimit-Remaining`
and `RateLimit-Reset` (seconds until the client's window ends); a request over the limit gets a
`429` problem with `Retry-After` (the same seconds).
`/healthz` and `/readyz` are not counted, so a load balancer's probes never starve a client.

Where the counters live is `settings.rate_limit_storage`: `memory://` counts in the process (each
uvicorn worker then has its own limit), `redis://host:port/db` shares one count between every
process pointed at it. The storage is opened with `limits`' asyncio variant of the same URL
(`async+redis://`, redis-py's client): a synchronous Redis call would stall every request on the
worker's event loop while it waits.

The client is `scope["client"]`, the TCP peer. Behind a reverse proxy that is the proxy, and every
visitor would share one limit: serve with uvicorn's proxy headers on and the proxy's address
trusted (`uvicorn api.main:create_app --factory --proxy-headers --forwarded-allow-ips=<proxy IP>`;
`patentpool serve` turns proxy headers off, for a server that faces clients itself), so the peer
becomes the address the proxy forwarded. Never trust forwarded headers from anyone else: a client
could then choose its own key.

If the store fails (Redis down or unreachable), requests are **let through unlimited** (fail open)
and a warning is logged once per outage: a public read-only API is better open to abuse for a
while than down for everyone because its counter is. For `_RETRY_SECONDS` after a failure the store is not asked
again, so each request does not wait for a connection timeout; responses during an outage carry
no RateLimit-* headers (there is no count to report).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import MEDIA_TYPE, ProblemDetail, problem_response, title_of

__all__ = [
    "EXEMPT_PATHS",
    "RATE_LIMITED_RESPONSE",
    "RATE_LIMIT_HEADERS",
    "RateLimitMiddleware",
    "async_storage",
    "client_key",
]

_log = logging.getLogger("api.limits")

#: Paths never counted: the health and readiness probes.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})

#: After a store failure, how long requests pass without asking it (seconds).
_RETRY_SECONDS = 5.0
#: Longest a request waits for Redis to connect or answer before it is let through (seconds).
_REDIS_TIMEOUT = 0.5
#: The limits' namespace in a shared store (one Redis may serve other applications).
_NAMESPACE = "patentpool-api"


def async_storage(url: str) -> Storage:
    """The asyncio `limits` storage for a configured URL (`memory://`, `redis://host:port/db`, ...).

    An unknown scheme or a missing client library is a `limits.errors.ConfigurationError`, raised
    when the app is made rather than on its first request.
    """
    scheme = urlsplit(url).scheme
    if not scheme.startswith("async+"):
        url, scheme = f"async+{url}", f"async+{scheme}"
    options: dict[str, Any] = {"wrap_exceptions": True}
    if "redis" in scheme:
        # redis-py is installed with `limits[redis]`; the default (coredis) is not.
        options["implementation"] = "redispy"
        if scheme in ("async+redis", "async+rediss", "async+redis+unix"):
            options |= {"socket_connect_timeout": _REDIS_TIMEOUT, "socket_timeout": _REDIS_TIMEOUT}
    storage = storage_from_string(url, **options)
    assert isinstance(storage, Storage)
    return storage


def client_key(scope: Scope) -> str:
    """Whom a request counts against: its remote address (see the module docstring on proxies)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class _Outage:
    """Whether the store is known to be failing, and the one warning per outage."""

    def __init__(self) -> None:
        self.until = 0.0
        self.down = False

    def failed(self, exc: BaseException) -> None:
        self.until = time.monotonic() + _RETRY_SECONDS
        if not self.down:
            self.down = True
            _log.warning(
                "rate limiting is off: its store failed (%s: %s); requests pass unlimited until it answers",
                type(exc).__name__,
                exc,
            )

    def skipping(self) -> bool:
        return self.down and time.monotonic() < self.until

    def recovered(self) -> None:
        if self.down:
            self.down = False
            _log.warning("rate limiting is on again: its store answers")


class RateLimitMiddleware:
    """A pure ASGI middleware counting each client's requests (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, item: RateLimitItem, storage: Storage, exempt: Collection[str] = EXEMPT_PATHS
    ) -> None:
        self.app = app
        self.item = item
        self.limiter = FixedWindowRateLimiter(storage)
        self.exempt = frozenset(exempt)
        self.outage = _Outage()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        counted = await self._count(client_key(scope))
        if counted is None:
            await self.app(scope, receive, send)
            return
        allowed, headers = counted
        if not allowed:
            retry = max(1, int(headers["RateLimit-Reset"]))
            detail = (
                f"more than {self.item.amount} requests per {_window(self.item)} from this client; retry in {retry} s"
            )
            response = problem_response(
                Request(scope), 429, detail, headers=headers | {"Retry-After": str(retry)}, kind="rate-limited"
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _count(self, key: str) -> tuple[bool, dict[str, str]] | None:
        """Count one request of `key`: whether it is allowed and the headers; None if the store failed."""
        if self.outage.skipping():
            return None
        try:
            allowed = await self.limiter.hit(self.item, _NAMESPACE, key)
            stats = await self.limiter.get_window_stats(self.item, _NAMESPACE, key)
        except StorageError as exc:
            self.outage.failed(exc.storage_error)
            return None
        self.outage.recovered()
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        headers = {
            "RateLimit-Limit": str(self.item.amount),
            "RateLimit-Remaining": str(max(0, stats.remaining)),
            "RateLimit-Reset": str(reset),
        }
        return allowed, headers


def _window(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def _header(description: str, example: int) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer", "minimum": 0}, "example": example}


#: The headers every counted response carries (absent only while the store is unreachable).
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": _header("Requests a client may make in the window.", 600),
    "RateLimit-Remaining": _header("Requests this client has left in the window.", 599),
    "RateLimit-Reset": _header("Seconds until this client's window ends and its allowance is whole again.", 60),
    "Retry-After": _header("On a 429: seconds to wait before the next request is accepted.", 12),
}

#: The OpenAPI description of the 429 answer (its headers are added with the others).
RATE_LIMITED_RESPONSE: dict[str, Any] = {
    "description": "Too many requests from this client; retry after `Retry-After` seconds.",
    "content": {
        MEDIA_TYPE: {
            "schema": {"$ref": "#/components/schemas/ProblemDetail"},
            "example": ProblemDetail(
                type="https://patentpool.dev/problems/rate-limited",
                title=title_of(429),
                status=429,
                detail="more than 600 requests per minute from this client; retry in 12 s",
                instance="/v1/pools",
            ).model_dump(exclude_none=True),
        }
    },
}

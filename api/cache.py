"""Answers kept per indexed state: a read of the mirror is computed once per URL and state.

Every route that takes `IndexedDep` answers from the mirror as of one checkpoint, and says so: its
ETag names the checkpoint (chain, block hash, event count) with the URL and the `Accept` header.
Until the indexer commits the next checkpoint the same request gets the same bytes, so this pure
ASGI middleware keeps them and replays them instead of running the route again.

The rule:

* Only GET and HEAD requests, and only an answer the route itself marked as a function of the
  indexed state: a `200` whose ETag is the one `IndexedDep` computed for it, without `no-store`
  (the verify route, the certificate, the status routes and the event stream read the live chain
  and say `no-store`; a `304`, a problem, a redirect are never kept), and not marked by
  `uncacheable` (an asset's answers while a dossier folder is configured: each request re-reads
  and re-hashes the dossier file).
* The key is the request's method-independent part that can change the answer: scheme, host (the
  pages print absolute links), path, query string and `Accept`.
* An entry is served only while the mirror's checkpoint is the one it was computed at. The
  middleware re-reads the checkpoint (one indexed primary-key read, in the thread pool) at most
  every `recheck` seconds, and drops every entry when it changed; so an answer is at most
  `recheck` seconds older than the newest checkpoint, the same kind of lag a client's own
  `max-age` cache has (and each answer still names exactly the block it reflects).
  With `recheck=0` the checkpoint is read for every request.
* Identical requests that arrive while one of them is being computed wait for it and replay its
  answer (so a new checkpoint under load costs one computation per URL, not one per client); if
  it is not kept (a problem, say), each computes its own, and so do later requests for that URL
  until the next checkpoint.
* At most `max_bytes` of bodies are kept, least recently used first out; a single body larger
  than an eighth of that is not kept.
* The rate limit and the request bounds run before this middleware: a replayed answer is counted
  and bounded like any other. A replayed answer carries `X-Cache: hit`; a kept one `X-Cache: miss`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["INDEXED_ETAG_KEY", "INDEXED_STATE_KEY", "ResponseCacheMiddleware", "State", "entity_tags", "uncacheable"]

#: Where `IndexedDep` leaves the checkpoint a request was answered at (in the ASGI scope's state).
INDEXED_STATE_KEY = "patentpool.indexed_state"
#: What `IndexedDep` leaves beside it: the ETag it computed for this request.
INDEXED_ETAG_KEY = "patentpool.indexed_etag"

#: Set by a route whose answer also depends on something besides the mirror (`uncacheable`).
UNCACHEABLE_KEY = "patentpool.uncacheable"

#: The clock of the recheck interval (a name of its own, so a test can move it without moving asyncio's).
_now = time.monotonic

#: A checkpoint's identity: chain id, block hash, event count.
State = tuple[int, str, int]

_CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
#: At most this many URLs are remembered as not kept (then the memory starts again).
_NOT_KEPT_MAX = 10_000
#: Headers of a kept answer that a 304 repeats (RFC 9110 15.4.5).
_NOT_MODIFIED_HEADERS = frozenset({b"etag", b"cache-control", b"x-indexed-block", b"x-indexed-block-hash"})


@dataclass(frozen=True, slots=True)
class _Entry:
    state: State
    etag: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers)


class ResponseCacheMiddleware:
    """Replays answers computed at the current checkpoint (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        read_state: Callable[[Scope], State | None],
        max_bytes: int,
        recheck: float,
    ) -> None:
        self.app = app
        self.read_state = read_state
        self.max_bytes = max_bytes
        self.recheck = recheck
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._bytes = 0
        self._state: State | None = None
        self._checked = -float("inf")
        self._refresh: asyncio.Future[State | None] | None = None
        #: URLs whose answer a request is computing now; identical requests wait for it.
        self._running: dict[tuple[Any, ...], asyncio.Event] = {}
        #: URLs whose last answer at this checkpoint was not kept: identical requests do not wait.
        self._not_kept: set[tuple[Any, ...]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _CACHEABLE_METHODS or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        state = await self._current(scope)
        if state is None:  # the mirror cannot be read: let the route say why
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = (
            scope["scheme"],
            headers.get(b"host", b""),
            scope.get("root_path", ""),
            scope["path"],
            scope["query_string"],
            headers.get(b"accept", b""),
        )
        scope.setdefault("state", {})
        entry = self._entries.get(key)
        waited = False
        if (entry is None or entry.state != state) and key in self._running:
            await self._running[key].wait()  # the same answer is being computed: wait for it
            entry, waited = self._entries.get(key), True
        if entry is not None and entry.state == state:
            self._entries.move_to_end(key)
            await self._replay(entry, scope, headers, send)
            return
        if waited or key in self._not_kept:  # computed but not kept: each computes its own
            await self._compute(key, scope, receive, send)
            return
        done = self._running[key] = asyncio.Event()
        try:
            if not await self._compute(key, scope, receive, send):
                if len(self._not_kept) >= _NOT_KEPT_MAX:
                    self._not_kept.clear()
                self._not_kept.add(key)
        finally:
            del self._running[key]
            done.set()

    async def _current(self, scope: Scope) -> State | None:
        """The checkpoint as read at most `recheck` seconds ago; one read at a time."""
        if _now() - self._checked < self.recheck:
            return self._state
        if self._refresh is None:
            self._refresh = asyncio.ensure_future(self._read(scope))
        refresh = self._refresh
        return await asyncio.shield(refresh)

    async def _read(self, scope: Scope) -> State | None:
        try:
            state = await anyio.to_thread.run_sync(self.read_state, scope)
        except Exception:
            state = None
        if state != self._state:
            self._entries.clear()
            self._not_kept.clear()
            self._bytes = 0
        self._state = state
        self._checked = _now()
        self._refresh = None
        return state

    async def _replay(self, entry: _Entry, scope: Scope, request_headers: dict[bytes, bytes], send: Send) -> None:
        if_none_match = request_headers.get(b"if-none-match")
        if if_none_match is not None and entry.etag in entity_tags(if_none_match.decode("latin-1")):
            kept = [(k, v) for k, v in entry.headers if k in _NOT_MODIFIED_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": [*kept, (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [*entry.headers, (b"x-cache", b"hit")]})
        body = b"" if scope["method"] == "HEAD" else entry.body
        await send({"type": "http.response.body", "body": body})

    async def _compute(self, key: tuple[Any, ...], scope: Scope, receive: Receive, send: Send) -> bool:
        """Run the route; keep its answer if it qualifies (see the module docstring). Whether it was kept."""
        started: Message | None = None
        kept = False
        chunks: list[bytes] = []
        size = 0
        limit = self.max_bytes // 8
        keep = scope["method"] == "GET"

        async def capture(message: Message) -> None:
            nonlocal started, size, keep, kept
            if message["type"] == "http.response.start":
                started = message
                keep = keep and message["status"] == 200 and self._qualifies(scope, message)
                if keep:
                    message = {**message, "headers": [*message.get("headers", []), (b"x-cache", b"miss")]}
            elif message["type"] == "http.response.body" and keep:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    keep = False
                    chunks.clear()
                else:
                    chunks.append(chunk)
                if not message.get("more_body", False) and keep and started is not None:
                    kept = self._store(key, scope, started, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)
        return kept

    @staticmethod
    def _qualifies(scope: Scope, start: Message) -> bool:
        state = scope.get("state") or {}
        etag = state.get(INDEXED_ETAG_KEY)
        if etag is None or state.get(INDEXED_STATE_KEY) is None or state.get(UNCACHEABLE_KEY):
            return False
        found: str | None = None
        for name, value in start.get("headers", []):
            if name == b"etag":
                found = value.decode("latin-1")
            elif name == b"cache-control" and b"no-store" in value:
                return False
        return found is not None and found == etag

    def _store(self, key: tuple[Any, ...], scope: Scope, start: Message, body: bytes) -> bool:
        state = scope["state"][INDEXED_STATE_KEY]
        if state != self._state:  # computed at another checkpoint than the one being served
            return False
        entry = _Entry(state, scope["state"][INDEXED_ETAG_KEY], list(start.get("headers", [])), body)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size
        return True


def uncacheable(request: Request) -> None:
    """Mark this request's answer as not a function of the URL and the checkpoint alone."""
    setattr(request.state, UNCACHEABLE_KEY, True)


def entity_tags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header, weak or strong alike (RFC 9110 weak comparison)."""
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        tags.add(tag)
        tags.add(tag[2:] if tag.startswith("W/") else "W/" + tag)
    return tags

"""Reading the chain: a small JSON-RPC client with retries, and adaptive eth_getLogs ranges.

Retries: transport failures (connection refused or reset, timeouts, HTTP 429 and 5xx, a garbled
body) and the node's transient errors (rate limits, "header not found" on a lagging backend) are
retried with exponential backoff, waiting at least what an HTTP Retry-After asks (up to the
longest backoff, 30 s); a malformed request (JSON-RPC -32700/-32600/-32601/-32602 that is
not a range complaint) never is.

Ranges: one call covers [start, end] for every filter at once. The range starts at
PATENTPOOL_LOG_RANGE blocks, doubles while responses are small (up to PATENTPOOL_MAX_LOG_RANGE),
halves on a provider's "too many results / range too large" error (or takes the range the error
text suggests), and a batch's logs are only returned once every filter answered for the same
range, so no block is read twice or skipped.

Batches: block headers go out as JSON-RPC batches of up to 100 calls. A batch the node refuses is
sent again in halves, down to single calls for a provider that takes no batches, and later
batches keep the smaller size.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests
import urllib3

from indexer.errors import InvalidSettings, MalformedRequest, RangeTooLarge, RpcError, RpcUnavailable
from indexer.logs import Log, log_from_rpc, parse_logs

__all__ = [
    "DEFAULT_BATCH_LOGS",
    "DEFAULT_LOG_RANGE",
    "DEFAULT_MAX_LOG_RANGE",
    "LogFetcher",
    "LogFilter",
    "Rpc",
    "check_log_ranges",
    "classify_error",
    "suggested_range",
]

_MALFORMED_CODES = frozenset({-32700, -32600, -32601, -32602})
_RANGE_PATTERNS = (
    "query returned more than",
    "too many results",
    "more than 10000 results",
    "response size exceeded",
    "response size is larger",
    "response too large",
    "log response size",
    "range too large",
    "range is too large",
    "exceeds max",
    "exceed max",
    "exceed maximum",
    "limited to a",
    "too many blocks",
    "max results",
    "query timeout exceeded",
)
_TRANSIENT_PATTERNS = (
    "rate limit",
    "too many requests",
    "header not found",
    "unknown block",
    "timeout",
    "timed out",
    "try again",
    "temporarily",
    "busy",
    "internal error",
)
_SUGGESTED_PAIR = re.compile(r"\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]")
_SUGGESTED_COUNT = (
    re.compile(r"(\d[\d,]*)\s*(k?)\s*(?:-?\s*block)?\s*range"),
    re.compile(r"range[^\d\[]{0,40}?(\d[\d,]*)\s*(k?)\b"),
)


def _is_range_complaint(lowered: str) -> bool:
    if any(p in lowered for p in _RANGE_PATTERNS):
        return True
    return "range" in lowered and any(w in lowered for w in _RANGE_WORDS)


_RANGE_WORDS = ("too large", "too wide", "too big", "exceed", "limit", "maximum", "max ", "should work")


def suggested_range(message: str, start: int) -> int | None:
    """The block count a provider's error text suggests for a range starting at `start`, if any."""
    text = message.lower()
    pair = _SUGGESTED_PAIR.search(text)
    if pair:
        first, last = int(pair.group(1), 16), int(pair.group(2), 16)
        if last >= first:
            return last - max(first, start) + 1 if last >= start else None
    for pattern in _SUGGESTED_COUNT:
        match = pattern.search(text)
        if match:
            count = int(match.group(1).replace(",", "")) * (1000 if match.group(2) == "k" else 1)
            if count > 0:
                return count
    return None


def classify_error(method: str, error: dict[str, Any], start: int | None = None) -> RpcError:
    """The exception for a JSON-RPC error object (range complaint, malformed request or other)."""
    code = int(error.get("code", 0))
    message = str(error.get("message", ""))
    data = error.get("data")
    text = f"{message} {data}" if isinstance(data, str) else message
    lowered = text.lower()
    if method == "eth_getLogs" and _is_range_complaint(lowered):
        return RangeTooLarge(method, code, text, suggested_range(text, start or 0))
    if code in _MALFORMED_CODES:
        return MalformedRequest(method, code, text)
    return RpcError(method, code, text)


def _transient(exc: RpcError) -> bool:
    if isinstance(exc, MalformedRequest | RangeTooLarge):
        return False
    lowered = exc.message.lower()
    return exc.code in (-32005, -32603, 429) or any(p in lowered for p in _TRANSIENT_PATTERNS)


class _Transport(Exception):
    """A failure of the connection, not of the call; `wait` is the seconds the server asked for
    (an HTTP Retry-After), if it did."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    """The seconds of an HTTP Retry-After header given in seconds (an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None  # nan is neither


_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Rpc:
    """A JSON-RPC 2.0 client over HTTP with retries and exponential backoff."""

    url: str
    timeout: float = 30.0
    attempts: int = 8
    backoff: float = 0.25
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    retries: int = 0
    #: The most calls one batch request carries. Halved each time the node refuses a batch (some
    #: providers cap batch sizes, some take no batches at all), down to 1: single calls. It stays
    #: where the last refusal left it.
    batch_limit: int = 100
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def call(self, method: str, params: Sequence[Any], start: int | None = None) -> Any:
        """One call; `start` (eth_getLogs) lets a range complaint's suggestion be read."""
        return self._retrying(lambda: self._single(method, params, start))

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in as few HTTP requests as `batch_limit` allows; results in the order of
        `calls`. A batch the node refuses is sent again in halves, and at last as single calls,
        so a call's own error (not the batch's) is what ends it."""
        results: list[Any] = []
        done = 0
        while done < len(calls):
            limit = self.batch_limit
            if limit == 1:
                method, params = calls[done]
                results.append(self.call(method, params))
                done += 1
                continue
            part = calls[done : done + limit]
            try:
                results.extend(self._retrying(functools.partial(self._batch, part)))
            except RpcError:  # refused, not transient (those were retried): perhaps too many calls
                self.batch_limit = max(1, len(part) // 2)
                continue
            done += len(part)
        return results

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        delay = self.backoff
        last = ""
        for n in range(1, self.attempts + 1):
            asked: float | None = None  # the wait the server asked for (Retry-After)
            try:
                return attempt()
            except _Transport as exc:
                last = str(exc)
                asked = exc.wait
            except RpcError as exc:
                if not _transient(exc):
                    raise
                last = str(exc)
            if n == self.attempts:
                break
            self.retries += 1
            backoff = min(self.max_backoff, delay) * (0.5 + random.random() / 2)
            self.sleep(backoff if asked is None else max(backoff, min(self.max_backoff, asked)))
            delay *= 2
        raise RpcUnavailable(self.url, self.attempts, last)

    def _post(self, payload: Any) -> Any:
        return self._json(*self._send(payload))

    def _send(self, payload: Any) -> tuple[int, bytes]:
        """POST a JSON-RPC payload: (HTTP status, body)."""
        try:
            with self.session.post(
                self.url, data=orjson.dumps(payload), headers=_JSON_HEADERS, timeout=self.timeout, stream=True
            ) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    wait = _retry_after(response.headers.get("Retry-After"))
                    raise _Transport(f"HTTP {status}", wait)
                # The body in one read: `response.content` reads it 10 KiB at a time, in Python,
                # and an eth_getLogs answer runs to megabytes.
                content: bytes = response.raw.read(decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise _Transport(f"{type(exc).__name__}: {exc}") from None
        return status, content

    @staticmethod
    def _json(status: int, content: bytes) -> Any:
        try:
            return orjson.loads(content)
        except ValueError:
            if status >= 400:
                raise MalformedRequest("http", status, content[:200].decode(errors="replace")) from None
            raise _Transport(f"unreadable response body (HTTP {status})") from None

    def _next_id(self) -> int:
        return next(self._ids)  # atomic: the indexer's reading threads share one client

    def get_logs(self, query: dict[str, Any], start: int | None = None) -> list[Log]:
        """eth_getLogs of one filter, parsed (typed by msgspec; any other answer as plain JSON)."""
        return self._retrying(lambda: self._logs(query, start))  # type: ignore[no-any-return]

    def _logs(self, query: dict[str, Any], start: int | None) -> list[Log]:
        status, content = self._send(
            {"jsonrpc": "2.0", "id": self._next_id(), "method": "eth_getLogs", "params": [query]}
        )
        logs = parse_logs(content) if status < 400 else None
        if logs is not None:
            return logs
        return [log_from_rpc(raw) for raw in self._result("eth_getLogs", self._json(status, content), start)]

    def _single(self, method: str, params: Sequence[Any], start: int | None) -> Any:
        body = self._post({"jsonrpc": "2.0", "id": self._next_id(), "method": method, "params": list(params)})
        return self._result(method, body, start)

    @staticmethod
    def _result(method: str, body: Any, start: int | None) -> Any:
        if not isinstance(body, dict):
            raise _Transport("the response is not a JSON-RPC object")
        if body.get("error") is not None:
            raise classify_error(method, body["error"], start)
        if "result" not in body:
            raise _Transport("the response has neither result nor error")
        return body["result"]

    def _batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        ids = [self._next_id() for _ in calls]
        payload = [
            {"jsonrpc": "2.0", "id": n, "method": method, "params": list(params)}
            for n, (method, params) in zip(ids, calls, strict=True)
        ]
        body = self._post(payload)
        if not isinstance(body, list):
            if isinstance(body, dict) and body.get("error") is not None:
                raise classify_error("batch", body["error"])
            raise _Transport("the batch response is not a list")
        by_id = {item.get("id"): item for item in body if isinstance(item, dict)}
        results = []
        for n, (method, _) in zip(ids, calls, strict=True):
            item = by_id.get(n)
            if item is None:
                raise _Transport(f"the batch response lacks the answer to {method}")
            if item.get("error") is not None:
                raise classify_error(method, item["error"])
            results.append(item.get("result"))
        return results

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", []), 16)

    def headers(self, numbers: Sequence[int]) -> dict[int, dict[str, Any] | None]:
        """Block headers by number (None for a block the node does not have)."""
        ordered = sorted(set(numbers))
        blocks = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in ordered])
        return dict(zip(ordered, blocks, strict=True))


@dataclass(frozen=True)
class LogFilter:
    """One eth_getLogs filter minus its range: addresses and topics."""

    addresses: tuple[str, ...]
    topics: tuple[Any, ...] = ()

    def params(self, start: int, end: int) -> dict[str, Any]:
        query: dict[str, Any] = {"fromBlock": hex(start), "toBlock": hex(end), "address": list(self.addresses)}
        if self.topics:
            query["topics"] = [list(t) if isinstance(t, tuple) else t for t in self.topics]
        return query


#: Blocks of the first eth_getLogs range (PATENTPOOL_LOG_RANGE). Small, as growth is quick: a
#: sparse history reaches the maximum in a few calls, and a dense one never starts with a giant batch.
DEFAULT_LOG_RANGE = 100
#: Logs one batch aims to stay under: a denser range shrinks in proportion (bounded memory, small
#: transactions, steady progress, and batches enough for reading and writing to overlap).
DEFAULT_BATCH_LOGS = 10_000
#: The most blocks adaptive growth takes in one eth_getLogs range (PATENTPOOL_MAX_LOG_RANGE).
DEFAULT_MAX_LOG_RANGE = 50_000


def check_log_ranges(
    initial: int, maximum: int, initial_name: str = "initial_range", maximum_name: str = "max_range"
) -> None:
    """Raise InvalidSettings (a ValueError) unless 1 <= initial <= maximum; the message names each
    value as `initial_name` and `maximum_name` say (an option, a variable)."""
    for value, name in ((maximum, maximum_name), (initial, initial_name)):
        if value < 1:
            raise InvalidSettings(f"an eth_getLogs range ({name}) must be 1 block or more, not {value}")
    if initial > maximum:
        raise InvalidSettings(
            f"the initial eth_getLogs range ({initial} blocks, {initial_name}) must not exceed the maximum "
            f"({maximum} blocks, {maximum_name})"
        )


@dataclass
class LogFetcher:
    """eth_getLogs over adaptive block ranges, for several filters at once.

    The first range is `initial_range` blocks; it doubles while responses are small, up to
    `max_range` (set it to a provider's block-range cap to never be refused for width), and
    shrinks in proportion after a response of more than `batch_logs` logs.
    """

    rpc: Rpc
    initial_range: int = DEFAULT_LOG_RANGE
    max_range: int = DEFAULT_MAX_LOG_RANGE
    small_response: int = 2_000
    batch_logs: int = DEFAULT_BATCH_LOGS
    span: int = 0
    splits: int = 0
    calls: int = 0

    def __post_init__(self) -> None:
        check_log_ranges(self.initial_range, self.max_range)
        self.span = self.span or self.initial_range

    def fetch(
        self,
        start: int,
        stop: int,
        filters: Sequence[LogFilter],
        before: Callable[[int, int], None] | None = None,
    ) -> tuple[int, list[Log]]:
        """The logs of [start, end] for some end <= stop the range allows; returns (end, logs).

        `before(start, end)` runs before each attempt (the indexer reads the end block's hash there,
        to notice a reorg that lands while the logs are read).
        """
        while True:
            end = min(stop, start + self.span - 1)
            width = end - start + 1
            if before is not None:
                before(start, end)
            try:
                logs: list[Log] = []
                for f in filters:
                    self.calls += 1
                    logs.extend(self.rpc.get_logs(f.params(start, end), start=start))
            except RangeTooLarge as exc:
                if width <= 1:
                    raise
                self.splits += 1
                smaller = exc.suggested if exc.suggested is not None and exc.suggested < width else width // 2
                self.span = max(1, smaller)
                continue
            if len(logs) > self.batch_logs:
                self.span = max(1, width * self.batch_logs // len(logs))
            elif width == self.span and len(logs) < min(self.small_response, self.batch_logs // 2):
                self.span = min(self.max_range, self.span * 2)
            return end, logs

    def fetch_all(self, start: int, stop: int, filters: Sequence[LogFilter]) -> list[Log]:
        """Every log of exactly [start, stop], in as many ranges as it takes."""
        logs: list[Log] = []
        while start <= stop and filters:
            end, part = self.fetch(start, stop, filters)
            logs.extend(part)
            start = end + 1
        return logs

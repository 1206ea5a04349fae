"""Local HTTP servers for the indexer's tests (`LocalServer`, `JsonHandler`), and a JSON-RPC proxy
in front of anvil that notes the block range of every eth_getLogs call (`RangeRecorder`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import requests

__all__ = ["JsonHandler", "LocalServer", "Proxy", "RangeRecorder"]


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing, reads a request's body whole and answers bytes."""

    def log_message(self, *_: Any) -> None:
        pass

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers["Content-Length"]))

    def answer(self, payload: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Send `payload` (JSON unless `headers` say otherwise) with its length."""
        self.send_response(status)
        fields = {"Content-Type": "application/json", "Content-Length": str(len(payload)), **(headers or {})}
        for name, value in fields.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, *_: Any) -> None:
        pass  # e.g. a killed client's half-sent request


class LocalServer:
    """An HTTP server on a free port of 127.0.0.1, serving `handler` in threads while entered.
    With `quiet_errors`, a request that breaks off (its client killed) prints nothing."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], quiet_errors: bool = False) -> None:
        self.server = (_QuietServer if quiet_errors else ThreadingHTTPServer)(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Proxy(LocalServer):
    """A LocalServer in front of the JSON-RPC node at `upstream`, which `forward` and `call` reach
    (one HTTP session per serving thread)."""

    def __init__(self, upstream: str, handler: type[BaseHTTPRequestHandler], quiet_errors: bool = False) -> None:
        self.upstream = upstream
        self._local = threading.local()
        super().__init__(handler, quiet_errors)

    def forward(self, body: bytes) -> bytes:
        """The node's answer to a request body, as it sent it."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        answer = session.post(self.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        return answer.content

    def call(self, request: Any) -> Any:
        """The node's parsed answer to a request (one call or a batch)."""
        return json.loads(self.forward(json.dumps(request).encode()))


class RangeRecorder(Proxy):
    """Forwards every request (single or batch) to `upstream`; `ranges` holds each eth_getLogs call's
    (fromBlock, toBlock), in the order they arrived."""

    def __init__(self, upstream: str) -> None:
        self.ranges: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.body()
                recorder.note(json.loads(body))
                self.answer(recorder.forward(body))

        super().__init__(upstream, Handler)

    @property
    def widths(self) -> list[int]:
        """Blocks per eth_getLogs call, in order."""
        with self._lock:
            return [last - first + 1 for first, last in self.ranges]

    def note(self, request: Any) -> None:
        for call in request if isinstance(request, list) else [request]:
            if isinstance(call, dict) and call.get("method") == "eth_getLogs":
                query = call["params"][0]
                with self._lock:
                    self.ranges.append((int(query["fromBlock"], 16), int(query["toBlock"], 16)))

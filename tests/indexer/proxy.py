"""A JSON-RPC proxy in front of anvil that notes the block range of every eth_getLogs call."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import requests

__all__ = ["LocalServer", "RangeRecorder"]


class LocalServer:
    """An HTTP server on a free port of 127.0.0.1, serving `handler` in threads while entered."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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


class RangeRecorder(LocalServer):
    """Forwards every request (single or batch) to `upstream`; `ranges` holds each eth_getLogs call's
    (fromBlock, toBlock), in the order they arrived."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.ranges: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.note(json.loads(body))
                payload = recorder.forward(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        super().__init__(Handler)

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

    def forward(self, body: bytes) -> bytes:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        answer = session.post(self.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        return answer.content

"""A real local HTTP target that holds every request until the test releases it, and records
each one's path, query and ``Idempotency-Key``: the remote service of the crash tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Call:
    path: str
    query: dict[str, str]
    idempotency_key: str | None
    time: float


class HoldingServer:
    """``released`` closed: requests wait (up to ``hold_limit`` seconds) before a 200 answer;
    once released, every waiting and later request is answered at once."""

    def __init__(self, hold_limit: float = 300.0) -> None:
        self.calls: list[Call] = []
        self.hold_limit = hold_limit
        self.released = threading.Event()
        self._arrived = threading.Condition()
        handler = type("Handler", (_Handler,), {"target": self})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def arrive(self, call: Call) -> None:
        with self._arrived:
            self.calls.append(call)
            self._arrived.notify_all()

    def wait_until(self, check: Callable[[list[Call]], bool], timeout: float) -> bool:
        """Waits until ``check(calls)`` holds; False when ``timeout`` seconds passed first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: check(self.calls), timeout)

    def keys_by_execution(self) -> dict[str, list[str | None]]:
        """The Idempotency-Key of each call, by the ``execution`` query parameter of the call."""
        with self._arrived:
            calls = list(self.calls)
        keys: dict[str, list[str | None]] = {}
        for call in calls:
            keys.setdefault(call.query.get("execution", ""), []).append(call.idempotency_key)
        return keys

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a held request whose caller was killed meets a closed socket: expected here


class _Handler(BaseHTTPRequestHandler):
    target: HoldingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        parsed = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
        self.target.arrive(Call(parsed.path, query, self.headers.get("Idempotency-Key"), time.time()))
        self.target.released.wait(self.target.hold_limit)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

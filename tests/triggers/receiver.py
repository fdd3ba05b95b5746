"""A real HTTP server standing for a webhook receiver: it keeps each call as it came (raw body,
headers, arrival time) and answers by route: ``/ok`` 200, ``/flaky?fail=N&key=K`` 503 for the
first N calls of each key then 200, ``/status/<code>``. ``verify`` checks a signature as a
receiver would, with nothing of MBFlow's code."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Call:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


def verify(header: str, secret: str, body: bytes, now: float, tolerance: float = 300) -> bool:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, checked as its docs say."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    signed = f"{parts['t']}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(now - int(parts["t"])) <= tolerance


class Receiver:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.hits: Counter[str] = Counter()
        self.lock = threading.Condition()
        handler = type("Handler", (_Handler,), {"receiver": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count: int, path: str | None = None, timeout: float = 30.0) -> list[Call]:
        """The calls (to ``path``) once there are ``count`` of them."""
        def matching() -> list[Call]:
            return [call for call in self.calls if path is None or call.path == path]

        with self.lock:
            assert self.lock.wait_for(lambda: len(matching()) >= count, timeout), (
                f"{len(matching())} calls to {path or 'any path'}, not {count}, in {timeout}s")
            return matching()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        arrived = time.monotonic()
        parsed = urlparse(self.path)
        query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver = self.receiver
        with receiver.lock:
            key = f"{parsed.path}?{query.get('key', '')}"
            receiver.hits[key] += 1
            hits = receiver.hits[key]
        if parsed.path == "/flaky" and hits <= int(query.get("fail", "2")):
            status, answer = 503, b'{"error": "try again later"}'
        elif parsed.path.startswith("/status/"):
            status, answer = int(parsed.path.rsplit("/", 1)[1]), b'{"error": "as asked"}'
        else:
            status, answer = 200, b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        with receiver.lock:  # kept once answered: a test that saw the call sees its answer recorded soon
            receiver.calls.append(Call(parsed.path, query, {k.lower(): v for k, v in self.headers.items()}, body,
                                       arrived))
            receiver.lock.notify_all()

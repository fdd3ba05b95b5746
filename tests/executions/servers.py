"""Real HTTP servers for the executor tests: plain routes, and the OpenAI and Anthropic wire formats."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class LocalServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.arrived = Counter[str]()
        self.inflight = Counter[str]()  # calls of /inflight being served, by key
        self.peak = Counter[str]()  # the most served at once, by key
        self.arrival = threading.Condition()
        # "METHOD /path" -> (status, JSON body), or a function of the request giving them: a
        # test's stand-in for a service (a CRM, a shop) at paths the routes below do not serve.
        self.answers: dict[str, tuple[int, Any] | Callable[[dict[str, Any]], tuple[int, Any]]] = {}
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str,
               reply: tuple[int, Any] | Callable[[dict[str, Any]], tuple[int, Any]]) -> None:
        """Serves ``method path`` with ``reply``: (status, JSON body), or a function of the recorded
        request (path, query, body, headers) returning them."""
        self.answers[f"{method} {path}"] = reply

    def gather(self, key: str, count: int, timeout: float) -> bool:
        """Holds a request until ``count`` requests with this key have arrived: True when they
        did within ``timeout`` seconds, which proves that many were in flight at once."""
        with self.arrival:
            self.arrived[key] += 1
            self.arrival.notify_all()
            return self.arrival.wait_for(lambda: self.arrived[key] >= count, timeout)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_state: LocalServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send(self, status: int, body: Any, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else (
            json.dumps(body).encode() if content_type == "application/json" else str(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        parsed = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        body = self._body() if method != "GET" else None
        state = self.server_state
        request = {"method": method, "path": parsed.path, "query": query, "body": body,
                   "headers": {k.lower(): v for k, v in self.headers.items()}}
        with state.lock:
            state.hits[parsed.path] += 1
            counter = parsed.path + "?" + query.get("key", "")
            state.hits[counter] += 1
            hits = state.hits[counter]
            state.requests.append(request)
        path = parsed.path
        reply = state.answers.get(f"{method} {path}")
        if reply is not None:
            self._send(*(reply(request) if callable(reply) else reply))
        elif path == "/sleep":
            time.sleep(int(query.get("ms", "200")) / 1000)
            self._send(200, {"slept_ms": int(query.get("ms", "200")), "n": query.get("n")})
        elif path == "/gather":
            together = state.gather(query["key"], int(query["n"]), float(query.get("timeout", "5")))
            self._send(200 if together else 504, {"together": together})
        elif path == "/echo":
            self._send(200, {"method": method, "query": query, "body": body,
                             "authorization": self.headers.get("Authorization"), "cookie": self.headers.get("Cookie")})
        elif path == "/set-cookie":
            self._send(200, {}, headers={"Set-Cookie": f"session={query.get('value', 's3cr3t')}; Path=/"})
        elif path == "/inflight":  # counts the calls served at once (the peak, by key)
            key = query.get("key", "")
            with state.arrival:
                state.inflight[key] += 1
                state.peak[key] = max(state.peak[key], state.inflight[key])
                state.arrival.notify_all()
                # until_peak=N holds the call until N were in flight at once (or 10 s passed), so
                # a test of "N at a time" does not rest on calls overlapping by chance on a busy machine.
                wanted = int(query.get("until_peak", "0"))
                state.arrival.wait_for(lambda: state.peak[key] >= wanted, 10)
            time.sleep(int(query.get("ms", "200")) / 1000)
            with state.arrival:
                state.inflight[key] -= 1
            self._send(200, {"key": key})
        elif path == "/unstorable":  # JSON no database can store as it is
            self._send(200, b'{"s": "a\\u0000b\\ud800c", "n": Infinity}', "application/json")
        elif path == "/text":
            self._send(200, "hello text", "text/plain")
        elif path == "/binary":
            self._send(200, bytes(range(256)), "application/octet-stream")
        elif path == "/big":
            self._send(200, b"x" * int(query.get("size", "100000")), "text/plain")
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), {"error": "as asked"})
        elif path == "/flaky":
            failures = int(query.get("fail", "2"))
            if hits <= failures:
                self._send(503, {"error": "try again", "hit": hits})
            else:
                self._send(200, {"ok": True, "hit": hits})
        elif path == "/redirect":
            self._send(302, {}, headers={"Location": query.get("to", "/echo")})
        elif path == "/v1/chat/completions":
            self._openai(body)
        elif path == "/v1/messages":
            self._anthropic(body)
        else:
            self._send(404, {"error": "no route"})

    def _openai(self, body: dict[str, Any]) -> None:
        if self.headers.get("Authorization") != "Bearer sk-test-openai":
            self._send(401, {"error": {"message": "bad key"}})
            return
        last = body["messages"][-1]["content"]
        if body.get("response_format", {}).get("type") == "json_schema":
            content = json.dumps({"sentiment": "positive", "echo": last})
        else:
            content = f"openai says: {last}"
        self._send(200, {
            "id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        })

    def _anthropic(self, body: dict[str, Any]) -> None:
        if self.headers.get("x-api-key") != "sk-test-anthropic" or not self.headers.get("anthropic-version"):
            self._send(401, {"type": "error", "error": {"type": "authentication_error"}})
            return
        last = body["messages"][-1]["content"]
        if body.get("tools"):
            content = [{"type": "tool_use", "id": "tu_1", "name": body["tools"][0]["name"],
                        "input": {"sentiment": "negative", "echo": last}}]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": f"claude says: {last} / system={body.get('system', '')}"}]
            stop = "end_turn"
        self._send(200, {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                         "content": content, "stop_reason": stop,
                         "usage": {"input_tokens": 5, "output_tokens": 3}})

"""A real OTLP/HTTP trace receiver: takes ``POST /v1/traces`` (protobuf, as the OpenTelemetry
exporter sends it) and keeps each span as a plain dict, read with nothing of MBFlow's code."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.requests = 0
        self.lock = threading.Condition()
        handler = type("Handler", (_Handler,), {"receiver": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def take(self, request: ExportTraceServiceRequest) -> None:
        spans = []
        for resource in request.resource_spans:
            service = _attributes(resource.resource.attributes).get("service.name")
            for scope in resource.scope_spans:
                for span in scope.spans:
                    spans.append({
                        "service": service, "name": span.name, "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(), "parent_span_id": span.parent_span_id.hex(),
                        "kind": span.kind, "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                        "attributes": _attributes(span.attributes), "status": span.status.code,
                        "status_message": span.status.message,
                        "events": [{"name": event.name, "attributes": _attributes(event.attributes)}
                                   for event in span.events],
                        "links": [{"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
                                   "attributes": _attributes(link.attributes)} for link in span.links],
                    })
        with self.lock:
            self.requests += 1
            self.spans.extend(spans)
            self.lock.notify_all()

    def wait_for(self, matches: Any, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The spans ``matches`` accepts, once there are ``count`` of them."""
        with self.lock:
            assert self.lock.wait_for(lambda: len([s for s in self.spans if matches(s)]) >= count, timeout), (
                f"{len([s for s in self.spans if matches(s)])} matching spans, not {count}, in {timeout}s; "
                f"received {[s['name'] for s in self.spans]}")
            return [span for span in self.spans if matches(span)]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    receiver: OtlpReceiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.receiver.take(request)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

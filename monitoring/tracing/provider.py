"""This process's OpenTelemetry tracer provider and its OTLP/HTTP exporter, or nothing.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set
(``settings.MBFLOW_TRACING``): ``MonitoringConfig.ready`` starts it, and the SDK reads the rest
of its configuration from the standard ``OTEL_*`` variables (service name, headers, batch
delays). Off, nothing here is made and the hooks are not wired: no span, no header, no row.

The provider is this module's own, not the OpenTelemetry global one (which can be set once per
process): tests start and stop tracing around a receiver of their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

logger = logging.getLogger(__name__)

SCOPE = InstrumentationScope("mbflow")


def _resource() -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the service named ``mbflow`` by default."""
    found = Resource.create()
    if str(found.attributes.get("service.name", "")).startswith("unknown_service"):
        found = found.merge(Resource({"service.name": "mbflow"}))
    return found


class _Tracing:
    def __init__(self, endpoint: str | None) -> None:
        self.provider = TracerProvider(resource=_resource())
        # Imported here, when tracing starts, not with the module: the exporter brings protobuf
        # and the OTLP messages, 2 MB of every web and worker process that does not trace.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self.processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
        self.provider.add_span_processor(self.processor)
        self.tracer: Tracer = self.provider.get_tracer(SCOPE.name)


_tracing: _Tracing | None = None
_lock = threading.Lock()
_on_start: list[Callable[[], None]] = []
_on_stop: list[Callable[[], None]] = []


def tracing_on() -> bool:
    return _tracing is not None


def when_started(start: Callable[[], None], stop: Callable[[], None]) -> None:
    """Hooks to wire while tracing is on (the engine's listener, the nodes' headers)."""
    _on_start.append(start)
    _on_stop.append(stop)
    if _tracing is not None:
        start()


def start_tracing(endpoint: str | None = None) -> None:
    """Starts exporting (to ``endpoint``, a full ``.../v1/traces`` URL, or where the OTEL_*
    variables say)."""
    global _tracing
    with _lock:
        if _tracing is not None:
            return
        _tracing = _Tracing(endpoint)
    for start in _on_start:
        start()
    logger.info("Tracing: spans exported over OTLP/HTTP")


def stop_tracing(**_: object) -> None:
    """Exports what is pending and stops (a server or worker stopping; tests)."""
    global _tracing
    with _lock:
        tracing, _tracing = _tracing, None
    if tracing is None:
        return
    for stop in _on_stop:
        stop()
    tracing.provider.shutdown()


def tracer() -> Tracer | None:
    tracing = _tracing
    return tracing.tracer if tracing is not None else None


def resource() -> Resource:
    tracing = _tracing
    return tracing.provider.resource if tracing is not None else Resource.get_empty()


def export(span: ReadableSpan) -> None:
    """Hands a finished span (made from the event log, see ``spans``) to the exporter."""
    tracing = _tracing
    if tracing is not None:
        tracing.processor.on_end(span)


def flush(timeout_millis: int = 5000) -> bool:
    tracing = _tracing
    return tracing.provider.force_flush(timeout_millis) if tracing is not None else True

"""A span per HTTP request while tracing is on, continuing the caller's trace when the request
carries a W3C ``traceparent`` (API calls and webhooks alike). Off, Django drops this middleware
at start-up (``MiddlewareNotUsed``): requests pay nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from monitoring.tracing import provider

PROPAGATOR = TraceContextTextMapPropagator()
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_template(route: str) -> str:
    """``^api/v1/executions/(?P<execution_id>[^/]+)/trace/?$`` → ``/api/v1/executions/{execution_id}/trace``
    (a span's name: the same for every execution)."""
    text = _GROUP.sub(r"{\1}", route).replace("^", "")
    for tail in ("/?$", "$", "/?"):
        text = text.removesuffix(tail)
    return "/" + text.lstrip("/")


class TracingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not provider.tracing_on():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tracer = provider.tracer()
        if tracer is None:  # stopped since (tests)
            return self.get_response(request)
        # request.headers is case-insensitive: the propagator's getter finds `traceparent` there.
        parent = PROPAGATOR.extract(carrier=request.headers)
        with tracer.start_as_current_span(f"{request.method} {request.path}", context=parent, kind=SpanKind.SERVER,
                                          attributes={"http.request.method": request.method or "",
                                                      "url.path": request.path}) as span:
            response = self.get_response(request)
            match = request.resolver_match
            if match is not None and match.route:
                route = route_template(match.route)
                span.update_name(f"{request.method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

"""Prometheus metrics served at /metrics: this process's HTTP figures (below) and whatever the
apps register in the default registry (monitoring: executions, nodes, queues, pools, live
subscribers, read from the database and Redis so that every process's work is counted)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from mbflow_site.errors import envelope

REQUESTS = Counter("mbflow_http_requests_total", "HTTP requests", ["method", "status"])
LATENCY = Histogram(
    "mbflow_http_request_duration_seconds",
    "HTTP request duration",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        LATENCY.labels(request.method).observe(time.perf_counter() - start)
        REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.MBFLOW_METRICS_TOKEN
    if token and not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return JsonResponse(envelope("not_authenticated", "/metrics needs its bearer token (MBFLOW_METRICS_TOKEN)."),
                            status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from monitoring.api.serializers import WINDOW_PARAMETERS, SummarySchema, WorkflowMetricsSchema, read_window
from monitoring.services.metrics import tenant_summary, workflow_metrics
from workflows.api.base import TenantView


class WorkflowMetricsView(TenantView):
    """A workflow's executions over a window: counts, success rate, durations (seconds; p50/p95/p99
    interpolated), a time series, and each step's figures."""

    @extend_schema(parameters=WINDOW_PARAMETERS, responses=WorkflowMetricsSchema)
    def get(self, request: Request, ref: str) -> Response:
        window, period = read_window(request.query_params)
        return Response(workflow_metrics(self.caller().tenant, ref, window, period))


class SummaryView(TenantView):
    """The tenant's executions over a window, by workflow, the nodes that fail most and the
    slowest, and what is running now."""

    @extend_schema(parameters=WINDOW_PARAMETERS, responses=SummarySchema)
    def get(self, request: Request) -> Response:
        window, period = read_window(request.query_params)
        return Response(tenant_summary(self.caller().tenant, window, period))

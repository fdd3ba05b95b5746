from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from monitoring.api.serializers import (
    NODES_PARAMETERS,
    WINDOW_PARAMETERS,
    NodeRankingsSchema,
    NodesQuery,
    SummarySchema,
    WorkflowMetricsSchema,
    read_window,
)
from monitoring.services.metrics import node_rankings, tenant_summary, workflow_metrics
from workflows.api.base import TenantView


class WorkflowMetricsView(TenantView):
    """A workflow's executions over a window: counts, success rate, durations (seconds; p50/p95/p99
    interpolated), a time series, and each step's figures."""

    @extend_schema(parameters=WINDOW_PARAMETERS, responses=WorkflowMetricsSchema)
    def get(self, request: Request, ref: str) -> Response:
        window, period = read_window(request.query_params)
        return Response(workflow_metrics(self.caller().tenant, ref, window, period))


class SummaryView(TenantView):
    """The tenant's executions over a window, by workflow, and what is running now."""

    @extend_schema(parameters=WINDOW_PARAMETERS, responses=SummarySchema)
    def get(self, request: Request) -> Response:
        window, period = read_window(request.query_params)
        return Response(tenant_summary(self.caller().tenant, window, period))


class NodesView(TenantView):
    """The nodes that failed most over a window, and the slowest (by p95), of the tenant or of
    one workflow."""

    @extend_schema(parameters=NODES_PARAMETERS, responses=NodeRankingsSchema)
    def get(self, request: Request) -> Response:
        window, period = read_window(request.query_params)
        query = NodesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(node_rankings(self.caller().tenant, window, period, query.validated_data.get("workflow"),
                                      query.validated_data["limit"]))

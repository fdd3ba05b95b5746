"""Business metrics (``spec.metrics``) over a window, and an execution's trace id."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from monitoring.api.business_shapes import TenantBusinessMetricsSchema, TraceSchema, WorkflowBusinessMetricsSchema
from monitoring.api.serializers import WINDOW_PARAMETERS, read_window
from monitoring.services.business import tenant_business_metrics, workflow_business_metrics
from monitoring.services.traces import execution_trace
from workflows.api.base import TenantView


class WorkflowBusinessMetricsView(TenantView):
    """Each business metric the workflow's active version declares, over a window: its figures,
    each label set's, and a time series."""

    @extend_schema(parameters=WINDOW_PARAMETERS, responses=WorkflowBusinessMetricsSchema)
    def get(self, request: Request, ref: str) -> Response:
        window, period = read_window(request.query_params)
        return Response(workflow_business_metrics(self.caller().tenant, ref, window, period))


class BusinessMetricsView(TenantView):
    """The business metrics of every workflow of the tenant that declares some."""

    @extend_schema(parameters=WINDOW_PARAMETERS, responses=TenantBusinessMetricsSchema)
    def get(self, request: Request) -> Response:
        window, period = read_window(request.query_params)
        return Response(tenant_business_metrics(self.caller().tenant, window, period))


class ExecutionTraceView(TenantView):
    """The execution's OpenTelemetry trace id (its spans are exported while tracing is on)."""

    @extend_schema(responses=TraceSchema)
    def get(self, request: Request, execution_id: str) -> Response:
        return Response(execution_trace(self.caller().tenant, execution_id, settings.MBFLOW_TRACE_URL))

"""The metrics API's query parameters, and its answers as OpenAPI describes them."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from mbflow_site.errors import ApiError
from monitoring.periods import Window, WindowError, window_for

WINDOW_PARAMETERS = [
    OpenApiParameter("period", str, description="How far back from now (or from `end`): `<n>s|m|h|d|w`, "
                     "e.g. `1h`, `24h` (the default), `7d`; at most 400d."),
    OpenApiParameter("granularity", str, description="The length of each time-series bucket (`1m`, `1h`, `1d`...); "
                     "by default the finest of 1m, 5m, 15m, 1h, 6h, 1d, 1w giving at most 60 buckets. "
                     "At most 1000 buckets."),
    OpenApiParameter("start", str, description="Instead of `period`: the window's start (ISO 8601)."),
    OpenApiParameter("end", str, description="The window's end (ISO 8601); now by default."),
]


NODES_PARAMETERS = [
    *WINDOW_PARAMETERS,
    OpenApiParameter("workflow", str, description="Only this workflow's nodes (an id or a name)."),
    OpenApiParameter("limit", int, description="How many of each (10 by default, at most 100)."),
]


class NodesQuery(serializers.Serializer):
    workflow = serializers.CharField(required=False, max_length=100)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)


class WindowQuery(serializers.Serializer):
    period = serializers.CharField(required=False, max_length=16)
    granularity = serializers.CharField(required=False, max_length=16)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)


def read_window(params: object) -> tuple[Window, str | None]:
    """The window a request asks for, and its ``period`` as written; a 400 naming the parameter."""
    query = WindowQuery(data=params)
    query.is_valid(raise_exception=True)
    values = query.validated_data
    try:
        window = window_for(timezone.now(), period=values.get("period"), granularity=values.get("granularity"),
                            start=values.get("start"), end=values.get("end"))
    except WindowError as error:
        raise ApiError(str(error), code="validation_error", details={"fields": {error.field: [str(error)]}}) from None
    return window, values.get("period") if values.get("start") is None else None


# --- Answers (for the schema; the views answer plain dicts) -----------------------------------

class PeriodSchema(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    length = serializers.CharField(help_text="The period asked for, or the window's length.")
    granularity = serializers.CharField()


class WorkflowRefSchema(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class FiguresSchema(serializers.Serializer):
    execution_count = serializers.IntegerField(help_text="Executions created in the window, whatever their state.")
    success_count = serializers.IntegerField()
    failure_count = serializers.IntegerField()
    cancelled_count = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True, help_text="Successes over executions that ended.")
    avg_duration = serializers.FloatField(allow_null=True, help_text="Seconds, over executions that ended.")
    p50_duration = serializers.FloatField(allow_null=True)
    p95_duration = serializers.FloatField(allow_null=True)
    p99_duration = serializers.FloatField(allow_null=True)


class PointSchema(serializers.Serializer):
    time = serializers.DateTimeField(help_text="The bucket's start.")
    execution_count = serializers.IntegerField()
    success_count = serializers.IntegerField()
    failure_count = serializers.IntegerField()
    cancelled_count = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    avg_duration = serializers.FloatField(allow_null=True)
    p95_duration = serializers.FloatField(allow_null=True)


class StepSchema(serializers.Serializer):
    execution_count = serializers.IntegerField(help_text="Executions in which the node ran.")
    failure_count = serializers.IntegerField()
    failure_rate = serializers.FloatField(allow_null=True)
    retry_count = serializers.IntegerField(help_text="Attempts after the first.")
    avg_duration = serializers.FloatField(allow_null=True)
    p95_duration = serializers.FloatField(allow_null=True)


class WorkflowMetricsSchema(serializers.Serializer):
    workflow = WorkflowRefSchema()
    period = PeriodSchema()
    metrics = FiguresSchema()
    time_series = PointSchema(many=True)
    step_metrics = serializers.DictField(child=StepSchema(), help_text="By node id.")


class WorkflowFiguresSchema(PointSchema):
    time = None  # type: ignore[assignment]
    workflow = WorkflowRefSchema(allow_null=True, help_text="null for ad hoc executions.")


class NodeFiguresSchema(StepSchema):
    workflow = WorkflowRefSchema(allow_null=True)
    node_id = serializers.CharField()


class NodeRankingsSchema(serializers.Serializer):
    period = PeriodSchema()
    most_failing = NodeFiguresSchema(many=True)
    slowest = NodeFiguresSchema(many=True, help_text="By p95 duration.")


class ActiveSchema(serializers.Serializer):
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    paused = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="Executions with a node waiting for a signal or its turn.")


class SummarySchema(serializers.Serializer):
    period = PeriodSchema()
    metrics = FiguresSchema()
    time_series = PointSchema(many=True)
    workflows = WorkflowFiguresSchema(many=True)
    active = ActiveSchema(help_text="Now, whenever they started.")

"""The business metrics API's answers and an execution's trace, as OpenAPI describes them."""

from __future__ import annotations

from rest_framework import serializers

from monitoring.api.serializers import PeriodSchema, WorkflowRefSchema


class BusinessFiguresSchema(serializers.Serializer):
    count = serializers.IntegerField(help_text="Observations (finished executions that counted).")
    sum = serializers.FloatField(allow_null=True)
    avg = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    last = serializers.FloatField(allow_null=True, help_text="The latest value.")
    value = serializers.FloatField(allow_null=True, help_text="The metric's one figure: a counter's sum, a gauge's "
                                                              "last value, a histogram's average.")


class BusinessPercentilesSchema(BusinessFiguresSchema):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class BusinessSeriesSchema(BusinessPercentilesSchema):
    labels = serializers.DictField(child=serializers.CharField())


class BusinessPointSchema(BusinessFiguresSchema):
    time = serializers.DateTimeField(help_text="The bucket's start.")
    min = None  # type: ignore[assignment]
    max = None  # type: ignore[assignment]


class BusinessMetricSchema(BusinessPercentilesSchema):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["counter", "gauge", "histogram"])
    description = serializers.CharField(allow_null=True)
    labels = serializers.ListField(child=serializers.CharField(), help_text="The label names.")
    series = BusinessSeriesSchema(many=True, help_text="Each set of label values, the most observed first.")
    time_series = BusinessPointSchema(many=True)


class WorkflowBusinessMetricsSchema(serializers.Serializer):
    workflow = WorkflowRefSchema()
    period = PeriodSchema()
    metrics = BusinessMetricSchema(many=True)


class WorkflowBusinessEntrySchema(serializers.Serializer):
    workflow = WorkflowRefSchema()
    metrics = BusinessMetricSchema(many=True)


class TenantBusinessMetricsSchema(serializers.Serializer):
    period = PeriodSchema()
    workflows = WorkflowBusinessEntrySchema(many=True)


class TraceSchema(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether this server exports traces (OTEL_EXPORTER_OTLP_ENDPOINT).")
    trace_id = serializers.CharField(help_text="The execution's trace id (32 hex digits).")
    span_id = serializers.CharField(help_text="The execution's span, every node attempt's parent.")
    traceparent = serializers.CharField(help_text="W3C traceparent of the execution's span.")
    url = serializers.CharField(allow_null=True, help_text="The trace in a trace viewer (MBFLOW_TRACE_URL).")

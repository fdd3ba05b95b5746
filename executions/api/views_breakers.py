from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from executions.engine.breakers import CLOSED, HALF_OPEN, OPEN
from executions.services.breakers import breaker_states, breaker_time, do_reset_breaker
from workflows.api.base import TenantView
from workflows.models import Role


@extend_schema_field(OpenApiTypes.DATETIME)
class EpochTimeField(serializers.Field):
    """Epoch seconds, shown as an ISO 8601 time in UTC."""

    def to_representation(self, value: float) -> str:
        return breaker_time(value).isoformat()


class CircuitBreakerSerializer(serializers.Serializer):
    key = serializers.CharField()
    state = serializers.ChoiceField(choices=[CLOSED, OPEN, HALF_OPEN])
    failures = serializers.IntegerField(help_text="Failures in a row (closed).")
    calls = serializers.IntegerField(help_text="Calls counted in the window.")
    window_failures = serializers.IntegerField(help_text="Failures among the calls in the window.")
    half_open_calls = serializers.IntegerField(help_text="Half open: probes let through and not yet answered.")
    opened_at = EpochTimeField(allow_null=True)
    retry_at = EpochTimeField(allow_null=True, help_text="Open: when the first probe will be let through.")
    updated_at = EpochTimeField()


class BreakerListView(TenantView):
    """The tenant's circuit breakers that have seen a call."""

    @extend_schema(responses=CircuitBreakerSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(request, breaker_states(self.caller().tenant), CircuitBreakerSerializer)


class BreakerResetView(TenantView):
    write_role = Role.ADMIN

    @extend_schema(request=None, responses=CircuitBreakerSerializer)
    def post(self, request: Request, key: str) -> Response:
        caller = self.caller()
        return Response(CircuitBreakerSerializer(do_reset_breaker(caller.tenant, key, by=caller.username)).data)

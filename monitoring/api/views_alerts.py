"""The alerts API: rules (editors write them, everyone of the tenant reads them) and their
firings. Thin views over monitoring.services.alerts."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from mbflow_site.bodies import json_object, read_body
from monitoring.api.alert_shapes import (
    AlertFiringSerializer,
    AlertRuleSerializer,
    RuleCheckSerializer,
    firing_data,
    firings_page,
    rule_data,
)
from monitoring.services.alerts.evaluation import check_rule
from monitoring.services.alerts.rules import (
    RuleChange,
    RuleIn,
    do_change_rule,
    do_create_rule,
    do_delete_rule,
    firings_of,
    get_firing,
    get_rule,
    rules_of,
)
from workflows.api.base import TenantView


class AlertRuleListView(TenantView):
    @extend_schema(responses=AlertRuleSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(request, rules_of(self.caller().tenant), rule_data)

    @extend_schema(request=RuleIn, responses={201: AlertRuleSerializer})
    def post(self, request: Request) -> Response:
        caller = self.caller()
        rule = do_create_rule(caller.tenant, read_body(RuleIn, request.data), caller.username)
        return Response(rule_data(rule), status=status.HTTP_201_CREATED)


class AlertRuleDetailView(TenantView):
    @extend_schema(responses=AlertRuleSerializer)
    def get(self, request: Request, rule_id: str) -> Response:
        return Response(rule_data(get_rule(self.caller().tenant, rule_id)))

    @extend_schema(request=RuleChange, responses=AlertRuleSerializer)
    def patch(self, request: Request, rule_id: str) -> Response:
        rule = get_rule(self.caller().tenant, rule_id)
        given = json_object(request.data)
        return Response(rule_data(do_change_rule(rule, read_body(RuleChange, given), set(given))))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, rule_id: str) -> Response:
        do_delete_rule(get_rule(self.caller().tenant, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertRuleCheckView(TenantView):
    """What the rule's condition finds now, without changing its state or telling anyone."""

    @extend_schema(responses=RuleCheckSerializer)
    def get(self, request: Request, rule_id: str) -> Response:
        outcome = check_rule(get_rule(self.caller().tenant, rule_id), timezone.now())
        return Response({"holds": outcome.holds, "value": outcome.value, "message": outcome.message,
                         "details": outcome.details, "error": outcome.error or None})


FIRING_PARAMETERS = [
    OpenApiParameter("status", str, description="firing, resolved (comma-separated)."),
    OpenApiParameter("severity", str, description="info, warning, critical (comma-separated)."),
    OpenApiParameter("rule", str, description="Only this rule's (its id)."),
]


class AlertFiringListView(TenantView):
    @extend_schema(parameters=FIRING_PARAMETERS, responses=AlertFiringSerializer(many=True))
    def get(self, request: Request) -> Response:
        params = request.query_params
        firings = firings_of(self.caller().tenant, rule=params.get("rule") or None, status=params.get("status"),
                             severity=params.get("severity"))
        # A page's webhook deliveries are read at once (the notices' status is theirs).
        paginator = api_settings.DEFAULT_PAGINATION_CLASS()
        page = list(paginator.paginate_queryset(firings, request, view=self) or [])
        return paginator.get_paginated_response(firings_page(page))


class AlertFiringDetailView(TenantView):
    @extend_schema(responses=AlertFiringSerializer)
    def get(self, request: Request, firing_id: str) -> Response:
        return Response(firing_data(get_firing(self.caller().tenant, firing_id)))

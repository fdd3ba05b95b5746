"""The trigger API: thin views over triggers.services."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.bodies import json_object, read_body
from triggers.api.serializers import (
    EventAnswerSerializer,
    SecretIn,
    SecretOut,
    TriggerChange,
    TriggerCreate,
    TriggerSerializer,
    trigger_data,
)
from triggers.models import Trigger
from triggers.services.events import EventIn, do_publish_event
from triggers.services.triggers import (
    do_add_trigger,
    do_change_trigger,
    do_regenerate_token,
    do_remove_trigger,
    do_set_enabled,
    do_set_signing_secret,
    get_trigger,
    triggers_of,
)
from workflows.api.base import TenantView
from workflows.models import Role
from workflows.public import get_workflow


def base_url(request: Request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


class _TriggerView(TenantView):
    def reveal(self) -> bool:
        """Whether the caller sees webhook URLs: their token starts runs, which viewers may not."""
        return self.caller().can(Role.EDITOR)

    def answer(self, trigger: Trigger, code: int = status.HTTP_200_OK) -> Response:
        return Response(trigger_data(trigger, base_url(self.request), reveal=self.reveal()), status=code)

    def listing(self, request: Request, triggers: Any) -> Response:
        root, reveal = base_url(request), self.reveal()
        return self.paginate(request, triggers, lambda trigger: trigger_data(trigger, root, reveal=reveal))


class WorkflowTriggersView(_TriggerView):
    @extend_schema(responses=TriggerSerializer(many=True))
    def get(self, request: Request, ref: str) -> Response:
        tenant = self.caller().tenant
        return self.listing(request, triggers_of(tenant, workflow=get_workflow(tenant, ref, documents=False)))

    @extend_schema(request=TriggerCreate, responses={201: TriggerSerializer})
    def post(self, request: Request, ref: str) -> Response:
        caller = self.caller()
        body = read_body(TriggerCreate, request.data).model_dump(exclude_unset=True)
        secret = body.pop("secret", None)
        workflow = get_workflow(caller.tenant, ref)
        trigger = do_add_trigger(workflow, body, secret=secret, author=caller.username)
        return self.answer(trigger, status.HTTP_201_CREATED)


class TriggerListView(_TriggerView):
    @extend_schema(parameters=[OpenApiParameter("type", str, description="Kinds, comma-separated."),
                               OpenApiParameter("workflow", str, description="A workflow's id or name.")],
                   responses=TriggerSerializer(many=True))
    def get(self, request: Request) -> Response:
        tenant = self.caller().tenant
        ref = request.query_params.get("workflow")
        workflow = get_workflow(tenant, ref, documents=False) if ref else None
        return self.listing(request, triggers_of(tenant, workflow=workflow, kind=request.query_params.get("type")))


class TriggerDetailView(_TriggerView):
    @extend_schema(responses=TriggerSerializer)
    def get(self, request: Request, trigger_id: str) -> Response:
        return self.answer(get_trigger(self.caller().tenant, trigger_id))

    @extend_schema(request=TriggerChange, responses=TriggerSerializer)
    def patch(self, request: Request, trigger_id: str) -> Response:
        caller = self.caller()
        trigger = get_trigger(caller.tenant, trigger_id)
        changes = json_object(request.data)
        read_body(TriggerChange, changes)
        return self.answer(do_change_trigger(trigger, changes, author=caller.username))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, trigger_id: str) -> Response:
        caller = self.caller()
        do_remove_trigger(get_trigger(caller.tenant, trigger_id), author=caller.username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TriggerEnableView(_TriggerView):
    enabled = True

    @extend_schema(request=None, responses=TriggerSerializer)
    def post(self, request: Request, trigger_id: str) -> Response:
        caller = self.caller()
        trigger = get_trigger(caller.tenant, trigger_id)
        return self.answer(do_set_enabled(trigger, self.enabled, author=caller.username))


class TriggerDisableView(TriggerEnableView):
    enabled = False


class TriggerTokenView(_TriggerView):
    @extend_schema(request=None, responses=TriggerSerializer)
    def post(self, request: Request, trigger_id: str) -> Response:
        return self.answer(do_regenerate_token(get_trigger(self.caller().tenant, trigger_id)))


class TriggerSecretView(_TriggerView):
    @extend_schema(request=SecretIn, responses={200: SecretOut})
    def post(self, request: Request, trigger_id: str) -> Response:
        trigger = get_trigger(self.caller().tenant, trigger_id)
        body = read_body(SecretIn, request.data if request.data else {})
        made = do_set_signing_secret(trigger, body.secret, generate=body.secret is None)
        return Response({"secret": made, "trigger": trigger_data(trigger, base_url(request))})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, trigger_id: str) -> Response:
        do_set_signing_secret(get_trigger(self.caller().tenant, trigger_id), None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventsView(TenantView):
    @extend_schema(request=EventIn, responses={202: EventAnswerSerializer, 200: EventAnswerSerializer})
    def post(self, request: Request) -> Response:
        event = read_body(EventIn, request.data)
        published = do_publish_event(self.caller().tenant, event, timezone.now())
        return Response({"event": published.event, "duplicate": published.duplicate,
                         "executions": published.started, "failed": published.failed},
                        status=status.HTTP_200_OK if published.duplicate else status.HTTP_202_ACCEPTED)

"""The designer's work kept outside versions:

- GET / PUT / DELETE /api/v1/workflows/{id}/draft: the workflow's draft (any text, never run);
- GET / PUT / DELETE /api/v1/workflows/{id}/pinned: its nodes' pinned sample data (test runs only);
- GET / PUT / DELETE /api/v1/drafts/new: the caller's new workflow, not created yet.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.errors import ApiError
from mbflow_site.parsers import SafeJSONParser
from workflows.api.base import TenantView
from workflows.models import CanvasDraft, PinnedData, Role, WorkflowDraft
from workflows.services.drafts import (
    do_discard_canvas_draft,
    do_discard_draft,
    do_save_canvas_draft,
    do_save_draft,
    do_save_pinned,
    get_canvas_draft,
    get_draft,
    get_pinned,
)
from workflows.services.workflows import get_workflow


class DraftSerializer(serializers.Serializer):
    yaml = serializers.CharField(help_text="The draft as typed; it need not parse or validate.")
    base_version = serializers.IntegerField(allow_null=True, help_text="The version the draft was started from.")
    author = serializers.CharField()
    updated_at = serializers.DateTimeField()


class DraftWriteSerializer(serializers.Serializer):
    yaml = serializers.CharField(allow_blank=True, trim_whitespace=False)
    base_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)


def draft_data(draft: WorkflowDraft) -> dict[str, Any]:
    return {"yaml": draft.yaml_text, "base_version": draft.base_version, "author": draft.author,
            "updated_at": draft.updated_at.isoformat().replace("+00:00", "Z")}


class DraftView(TenantView):
    @extend_schema(operation_id="getWorkflowDraft", responses={200: DraftSerializer})
    def get(self, request: Request, ref: str) -> Response:
        return Response(draft_data(get_draft(get_workflow(self.caller().tenant, ref))))

    @extend_schema(operation_id="saveWorkflowDraft", request=DraftWriteSerializer, responses={200: DraftSerializer})
    def put(self, request: Request, ref: str) -> Response:
        caller = self.caller()
        workflow = get_workflow(caller.tenant, ref, documents=False)
        body = request.data
        if not isinstance(body, dict):
            raise ApiError("The body must be a JSON object {yaml, base_version?}.", code="validation_error",
                           details={"fields": {"yaml": ["Required."]}})
        if "yaml" not in body:
            raise ApiError("`yaml` is required: the draft's text.", code="validation_error",
                           details={"fields": {"yaml": ["Required."]}})
        draft = do_save_draft(workflow, body.get("yaml"), base_version=body.get("base_version"),
                              author=caller.username)
        return Response(draft_data(draft))

    @extend_schema(operation_id="discardWorkflowDraft", responses={204: None})
    def delete(self, request: Request, ref: str) -> Response:
        do_discard_draft(get_workflow(self.caller().tenant, ref, documents=False))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class PinnedSerializer(serializers.Serializer):
    nodes = serializers.DictField(child=serializers.JSONField(),
                                  help_text="Node id -> the sample output that node keeps in test runs.")
    author = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class PinnedWriteSerializer(serializers.Serializer):
    nodes = serializers.DictField(child=serializers.JSONField())


def pinned_data(pinned: PinnedData | None) -> dict[str, Any]:
    if pinned is None:
        return {"nodes": {}, "author": "", "updated_at": None}
    return {"nodes": pinned.nodes, "author": pinned.author, "updated_at": _iso(pinned.updated_at)}


class PinnedView(TenantView):
    """The pinned sample data of a workflow's nodes, shared by the tenant's editors. Only test runs
    use it (the designer sends it with POST /executions/adhoc); production runs never do. JSON
    only, at most 1 MB."""

    parser_classes = [SafeJSONParser]

    @extend_schema(operation_id="getWorkflowPinnedData", responses={200: PinnedSerializer})
    def get(self, request: Request, ref: str) -> Response:
        return Response(pinned_data(get_pinned(get_workflow(self.caller().tenant, ref, documents=False))))

    @extend_schema(operation_id="saveWorkflowPinnedData", request=PinnedWriteSerializer,
                   responses={200: PinnedSerializer})
    def put(self, request: Request, ref: str) -> Response:
        caller = self.caller()
        workflow = get_workflow(caller.tenant, ref, documents=False)
        body = request.data
        if not isinstance(body, dict) or "nodes" not in body:
            raise ApiError("The body must be a JSON object {nodes: {node id: output}}.", code="validation_error",
                           details={"fields": {"nodes": ["Required."]}})
        return Response(pinned_data(do_save_pinned(workflow, body["nodes"], author=caller.username)))

    @extend_schema(operation_id="deleteWorkflowPinnedData", responses={204: None})
    def delete(self, request: Request, ref: str) -> Response:
        do_save_pinned(get_workflow(self.caller().tenant, ref, documents=False), {}, author="")
        return Response(status=status.HTTP_204_NO_CONTENT)


class CanvasDraftSerializer(serializers.Serializer):
    yaml = serializers.CharField(allow_blank=True, help_text="The new workflow as typed; it need not parse.")
    template = serializers.CharField(allow_blank=True, help_text="The template it was started from, if any.")
    pinned = serializers.DictField(child=serializers.JSONField())
    updated_at = serializers.DateTimeField()


class CanvasDraftWriteSerializer(serializers.Serializer):
    yaml = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    template = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    pinned = serializers.DictField(child=serializers.JSONField(), required=False)


def canvas_draft_data(draft: CanvasDraft) -> dict[str, Any]:
    return {"yaml": draft.yaml_text, "template": draft.template, "pinned": draft.pinned,
            "updated_at": _iso(draft.updated_at)}


def _owner(caller: Any) -> str:
    """Whose canvas draft: the signed-in user, or the API key (two keys are two owners)."""
    if caller.user_id is not None:
        return f"user:{caller.user_id}"
    if caller.api_key is not None:
        return f"key:{caller.api_key.pk}"
    return f"name:{caller.username}"


class CanvasDraftView(TenantView):
    """The caller's own draft of a new workflow (one per user and tenant), kept until the workflow
    is created or the draft discarded, so that reopening New workflow brings the work back."""

    read_role = Role.EDITOR
    write_role = Role.EDITOR
    parser_classes = [SafeJSONParser]

    @extend_schema(operation_id="getNewWorkflowDraft", responses={200: CanvasDraftSerializer})
    def get(self, request: Request) -> Response:
        caller = self.caller()
        return Response(canvas_draft_data(get_canvas_draft(caller.tenant, _owner(caller))))

    @extend_schema(operation_id="saveNewWorkflowDraft", request=CanvasDraftWriteSerializer,
                   responses={200: CanvasDraftSerializer})
    def put(self, request: Request) -> Response:
        caller = self.caller()
        return Response(canvas_draft_data(do_save_canvas_draft(caller.tenant, _owner(caller), request.data)))

    @extend_schema(operation_id="discardNewWorkflowDraft", responses={204: None})
    def delete(self, request: Request) -> Response:
        caller = self.caller()
        do_discard_canvas_draft(caller.tenant, _owner(caller))
        return Response(status=status.HTTP_204_NO_CONTENT)

"""GET / PUT / DELETE /api/v1/workflows/{id}/draft: the designer's saved work in progress."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.errors import ApiError
from workflows.api.base import TenantView
from workflows.models import WorkflowDraft
from workflows.services.drafts import do_discard_draft, do_save_draft, get_draft
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

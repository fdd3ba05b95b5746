from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.errors import ApiError
from workflows.api.base import AnyAcceptNegotiation, TenantView
from workflows.api.serializers import (
    DiffQuerySerializer,
    DuplicateSerializer,
    RollbackSerializer,
    VersionDetailSerializer,
    VersionSerializer,
    WorkflowDetailSerializer,
    WorkflowPatchSerializer,
    WorkflowSerializer,
)
from workflows.models import Role
from workflows.services.contexts import Imported, describe_context, do_import_document, do_save_document
from workflows.services.diff import diff_versions
from workflows.services.documents import (
    CheckedContext,
    body_from_request_data,
    check_any_document,
    native_yaml,
    read_document,
    validate_loaded,
)
from workflows.services.workflows import (
    do_delete_workflow,
    do_duplicate_workflow,
    do_rollback_version,
    do_set_flags,
    get_version,
    get_workflow,
    workflow_listing,
)
from workflows.spec import CONTEXT_KIND

DOCUMENT_BODY = {
    "application/yaml": {"type": "string", "description": "The workflow YAML, any dialect."},
    "application/json": {
        "type": "object",
        "properties": {"yaml": {"type": "string"}, "document": {"type": "object"}, "message": {"type": "string"}},
    },
}


def _message(request: Request, body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return request.query_params.get("message", "")


def _answer(imported: Imported, extra: dict[str, Any] | None = None) -> Response:
    """A workflow created (201) or given a new version (200), or a WorkflowContext kept for a
    workflow that does not exist yet (202); ``context`` says what a context did."""
    extra = extra or {}
    context = imported.context.to_dict() if imported.context is not None else None
    if imported.workflow is None:
        return Response({"kind": CONTEXT_KIND, "context": context, **extra}, status=status.HTTP_202_ACCEPTED)
    data = WorkflowDetailSerializer(imported.workflow).data
    if context is not None:
        data["context"] = context
    data.update(extra)
    return Response(data, status=status.HTTP_201_CREATED if imported.created else status.HTTP_200_OK)


def _as_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() in {"1", "true", "yes"}


class WorkflowListView(TenantView):
    @extend_schema(
        parameters=[
            OpenApiParameter("search", str), OpenApiParameter("tag", str), OpenApiParameter("archived", bool)
        ],
        responses=WorkflowSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = request.query_params
        listing = workflow_listing(self.caller().tenant, archived=bool(_as_bool(query.get("archived"))),
                                   search=query.get("search", ""), tag=query.get("tag", ""))
        return self.paginate(request, listing, WorkflowSerializer)

    @extend_schema(request=DOCUMENT_BODY, responses={201: WorkflowDetailSerializer, 200: WorkflowDetailSerializer,
                                                     202: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        body = body_from_request_data(request.data)
        document = check_any_document(body)
        caller = self.caller()
        imported = do_import_document(caller.tenant, document, message=_message(request, body), author=caller.username)
        return _answer(imported)


class WorkflowDetailView(TenantView):
    @extend_schema(responses=WorkflowDetailSerializer)
    def get(self, request: Request, ref: str) -> Response:
        return Response(WorkflowDetailSerializer(get_workflow(self.caller().tenant, ref)).data)

    @extend_schema(request=DOCUMENT_BODY, responses=WorkflowDetailSerializer)
    def put(self, request: Request, ref: str) -> Response:
        caller = self.caller()
        workflow = get_workflow(caller.tenant, ref)
        body = body_from_request_data(request.data)
        document = check_any_document(body)
        return _answer(do_save_document(workflow, document, message=_message(request, body), author=caller.username))

    @extend_schema(request=WorkflowPatchSerializer, responses=WorkflowDetailSerializer)
    def patch(self, request: Request, ref: str) -> Response:
        workflow = get_workflow(self.caller().tenant, ref)
        body = body_from_request_data(request.data)
        if isinstance(body, str) or (isinstance(body, dict) and ({"yaml", "document"} & body.keys())):
            return self.put(request, ref)
        serializer = WorkflowPatchSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        workflow = do_set_flags(workflow, **serializer.validated_data)
        return Response(WorkflowDetailSerializer(workflow).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, ref: str) -> Response:
        do_delete_workflow(get_workflow(self.caller().tenant, ref))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowDuplicateView(TenantView):
    @extend_schema(request=DuplicateSerializer, responses={201: WorkflowDetailSerializer})
    def post(self, request: Request, ref: str) -> Response:
        caller = self.caller()
        workflow = get_workflow(caller.tenant, ref)
        serializer = DuplicateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = do_duplicate_workflow(workflow, serializer.validated_data["name"], author=caller.username)
        return Response(WorkflowDetailSerializer(copy).data, status=status.HTTP_201_CREATED)


class VersionListView(TenantView):
    @extend_schema(responses=VersionSerializer(many=True))
    def get(self, request: Request, ref: str) -> Response:
        workflow = get_workflow(self.caller().tenant, ref)
        versions = workflow.versions.defer("yaml_text", "spec").order_by("-number")
        return self.paginate(request, versions, VersionSerializer)


class VersionDetailView(TenantView):
    @extend_schema(responses=VersionDetailSerializer)
    def get(self, request: Request, ref: str, number: int) -> Response:
        workflow = get_workflow(self.caller().tenant, ref)
        return Response(VersionDetailSerializer(get_version(workflow, number)).data)


class DiffView(TenantView):
    @extend_schema(
        parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, ref: str) -> Response:
        workflow = get_workflow(self.caller().tenant, ref)
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        old = get_version(workflow, query.validated_data["from_"])
        new = get_version(workflow, query.validated_data.get("to"))
        return Response(diff_versions(old, new))


class RollbackView(TenantView):
    @extend_schema(request=RollbackSerializer, responses={201: WorkflowDetailSerializer})
    def post(self, request: Request, ref: str) -> Response:
        caller = self.caller()
        workflow = get_workflow(caller.tenant, ref)
        serializer = RollbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = do_rollback_version(
            workflow, serializer.validated_data["version"],
            message=serializer.validated_data["message"], author=caller.username,
        )
        return Response(WorkflowDetailSerializer(workflow).data, status=status.HTTP_201_CREATED)


class ExportView(TenantView):
    content_negotiation_class = AnyAcceptNegotiation  # Accept: text/yaml is answered, not refused

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses={(200, "text/yaml"): OpenApiTypes.STR})
    def get(self, request: Request, ref: str) -> HttpResponse:
        workflow = get_workflow(self.caller().tenant, ref)
        raw_number = request.query_params.get("version")
        if raw_number is not None and not raw_number.isdigit():
            raise ApiError("`version` must be a number.", code="validation_error",
                           details={"fields": {"version": ["Must be a number."]}})
        version = get_version(workflow, int(raw_number) if raw_number else None)
        response = HttpResponse(version.yaml_text, content_type="text/yaml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{workflow.name}.v{version.number}.yaml"'
        return response


def _import_body(request: Request) -> Any:
    upload = request.FILES.get("file") if hasattr(request, "FILES") else None
    if upload is not None:
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError("The uploaded file is not UTF-8 text.", code="parse_error") from None
    return body_from_request_data(request.data)


class ImportView(TenantView):
    @extend_schema(request={**DOCUMENT_BODY, "multipart/form-data": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}},
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        caller = self.caller()
        body = _import_body(request)
        document = check_any_document(body)
        message = _message(request, body) or f"Imported ({document.loaded.dialect} dialect)"
        imported = do_import_document(caller.tenant, document, message=message, author=caller.username)
        return _answer(imported, {"kind": document.loaded.kind, "dialect": document.loaded.dialect,
                                  "warnings": [w.to_dict() for w in document.report.warnings]})


class ValidateView(TenantView):
    write_role = Role.VIEWER  # validating stores nothing

    @extend_schema(request=DOCUMENT_BODY, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        body = _import_body(request)
        loaded = read_document(body)
        report = validate_loaded(loaded)
        answer = {
            "valid": report.valid,
            "kind": loaded.kind,
            "dialect": loaded.dialect,
            "errors": [issue.to_dict() for issue in report.errors],
            "warnings": [issue.to_dict() for issue in report.warnings],
            "yaml": native_yaml(loaded, body),
        }
        if loaded.kind == CONTEXT_KIND:
            answer["message"] = "A WorkflowContext (a workflow's input and output schemas), not a workflow."
            if report.valid:
                context = CheckedContext(loaded=loaded, report=report, yaml_text=answer["yaml"])
                answer["workflow"] = context.workflow_name
                answer["message"] = describe_context(self.caller().tenant, context)
        return Response(answer)

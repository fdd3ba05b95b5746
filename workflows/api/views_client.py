"""A workflow's generated typed client, as a zip: ``GET /workflows/{ref}/client?language=``."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request

from mbflow.codegen import LANGUAGES, ClientSpec, client_files, zipped
from mbflow.errors import MBFlowError
from mbflow_site.errors import ApiError
from workflows.api.base import AnyAcceptNegotiation, TenantView
from workflows.services.workflows import get_version, get_workflow


class WorkflowClientView(TenantView):
    """The typed client of the workflow's active version (or ``version``): input and output
    types from its schemas, ``run``/``start``, step-name constants (see docs/sdk.md)."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("language", str, enum=list(LANGUAGES), default="python"),
                    OpenApiParameter("version", int)],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, ref: str) -> HttpResponse:
        workflow = get_workflow(self.caller().tenant, ref)
        language = request.query_params.get("language", "python")
        if language not in LANGUAGES:
            raise ApiError(f"`language` is one of {', '.join(LANGUAGES)}.", code="validation_error",
                           details={"fields": {"language": [f"One of {', '.join(LANGUAGES)}."]}})
        raw_number = request.query_params.get("version")
        if raw_number is not None and not raw_number.isdigit():
            raise ApiError("`version` must be a number.", code="validation_error",
                           details={"fields": {"version": ["Must be a number."]}})
        version = get_version(workflow, int(raw_number) if raw_number else None)
        try:
            files = client_files(ClientSpec.from_document(version.spec, version.number), language)
        except MBFlowError as exc:  # the generator's own tool is missing here (Node.js for TypeScript)
            raise ApiError(str(exc), code="generator_unavailable", status_code=503) from exc
        folder = f"{workflow.name}-client-{language}"
        response = HttpResponse(zipped(files, folder), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{folder}.zip"'
        return response

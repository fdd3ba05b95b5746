from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from executions.services.payloads import open_step_output
from workflows.api.base import TenantView


class StepOutputView(TenantView):
    """A step's whole output as a JSON file: the download link of an output over the payload
    limit (kept in the payload store), and of any other step's output too."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.BINARY})
    def get(self, request: Request, execution_id: str, node_id: str) -> FileResponse:
        handle, size = open_step_output(self.caller().tenant, execution_id, node_id)
        response = FileResponse(handle, content_type="application/json", as_attachment=True,
                                filename=f"{execution_id}-{node_id}-output.json")
        response["Content-Length"] = str(size)
        return response

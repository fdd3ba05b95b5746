"""The function-task API a user's worker speaks: poll for a task, report its result."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from executions.api.serializers import Completion, Poll
from executions.services.functions import complete_task, poll_task
from mbflow_site.bodies import read_body
from workflows.api.base import TenantView


class FunctionPollView(TenantView):
    """Takes the oldest waiting task of an executor: 200 with ``{"id", "execution_id", "node_id",
    "attempt", "executor", "function", "input"}``, or 204 when none came within ``wait``."""

    @extend_schema(request=Poll, responses={200: OpenApiTypes.OBJECT, 204: None})
    def post(self, request: Request) -> Response:
        body = read_body(Poll, request.data)
        task = poll_task(self.caller(), body.executor, body.functions, body.wait)
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(task.to_dict())


class FunctionCompleteView(TenantView):
    @extend_schema(request=Completion, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, task_id: str) -> Response:
        body = read_body(Completion, request.data)
        error = body.error.model_dump() if body.error is not None else None
        complete_task(self.caller(), task_id, output=body.output, error=error)
        return Response({"id": task_id, "accepted": True})

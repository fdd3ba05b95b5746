from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from pydantic import BaseModel, ConfigDict
from rest_framework.request import Request
from rest_framework.response import Response

from executions.services.expressions import evaluate_expression, secret_names
from mbflow_site.bodies import read_body
from workflows.api.base import TenantView
from workflows.tenancy import Role


class Evaluate(BaseModel):
    """The expression playground's body."""

    model_config = ConfigDict(extra="forbid")

    expression: Any = None
    execution: Any = None
    node: Any = None
    context: Any = None


class EvaluateView(TenantView):
    """``{"expression", "execution"?, "node"?, "context"?}`` → ``{"value", "type"}``: the
    expression evaluated in the sandbox on an execution's data (a node's ``upstream`` and
    ``output`` with ``node``), with ``context`` laid over it; secrets read ``[secret]``."""

    write_role = Role.VIEWER  # it changes nothing

    @extend_schema(request=Evaluate, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        body = read_body(Evaluate, request.data)
        return Response(evaluate_expression(self.caller().tenant, body.expression, execution_id=body.execution,
                                            node=body.node, context=body.context))


class SecretNamesView(TenantView):
    """``{"secrets": [names]}``: the tenant's secret names (never values), for autocomplete of
    ``secrets.NAME`` in the designer's expression fields (editors, who write expressions)."""

    read_role = Role.EDITOR

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"secrets": secret_names(self.caller().tenant)})

from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.bodies import json_object
from mbflow_site.errors import NotFound
from workflows.api.base import TenantView
from workflows.api.serializers import WorkflowDetailSerializer
from workflows.services.documents import body_from_request_data, check_document
from workflows.services.template_setup import do_instantiate_template, template_needs
from workflows.services.templates import (
    TemplateView,
    do_create_template,
    do_delete_template,
    get_template,
    templates_for,
)
from workflows.spec import get_node_type, node_types, workflow_json_schema


class NodeTypeListView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        items = sorted(node_types(), key=lambda t: (t.category, t.name))
        return self.paginate(request, items, lambda t: t.to_dict())


class NodeTypeDetailView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, type_name: str) -> Response:
        node_type = get_node_type(type_name)
        if node_type is None:
            raise NotFound(f"No node type {type_name!r}.", details={"type": type_name})
        return Response(node_type.to_dict())


class WorkflowSchemaView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> JsonResponse:
        return JsonResponse(workflow_json_schema(), content_type="application/schema+json")


def _summary(template: TemplateView) -> dict[str, object]:
    """A template as listed: with what it asks for when filled in (`needs`)."""
    return {**template.summary(), "needs": template_needs(template).to_dict()}


class TemplateListView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return self.paginate(request, templates_for(self.caller().tenant), _summary)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        document = check_document(body_from_request_data(request.data))
        template = do_create_template(self.caller().tenant, document)
        return Response({**_summary(template), "yaml": template.yaml}, status=status.HTTP_201_CREATED)


class TemplateDetailView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, template_id: str) -> Response:
        template = get_template(self.caller().tenant, template_id)
        return Response({**_summary(template), "yaml": template.yaml})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, template_id: str) -> Response:
        do_delete_template(self.caller().tenant, template_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateInstantiateView(TenantView):
    """A new workflow from a template, with the variables it asks for (`needs.variables`) set."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: WorkflowDetailSerializer})
    def post(self, request: Request, template_id: str) -> Response:
        caller = self.caller()
        template = get_template(caller.tenant, template_id)
        workflow = do_instantiate_template(caller.tenant, template, json_object(request.data), author=caller.username)
        return Response(WorkflowDetailSerializer(workflow).data, status=status.HTTP_201_CREATED)

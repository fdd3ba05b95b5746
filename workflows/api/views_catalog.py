from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.errors import NotFound
from workflows.api.base import TenantView
from workflows.services.documents import body_from_request_data, check_document
from workflows.services.templates import do_create_template, do_delete_template, get_template, templates_for
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


class TemplateListView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return self.paginate(request, templates_for(self.caller().tenant), lambda t: t.summary())

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        document = check_document(body_from_request_data(request.data))
        template = do_create_template(self.caller().tenant, document)
        return Response({**template.summary(), "yaml": template.yaml}, status=status.HTTP_201_CREATED)


class TemplateDetailView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, template_id: str) -> Response:
        template = get_template(self.caller().tenant, template_id)
        return Response({**template.summary(), "yaml": template.yaml})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, template_id: str) -> Response:
        do_delete_template(self.caller().tenant, template_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

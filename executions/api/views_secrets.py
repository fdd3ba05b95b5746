from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from executions.api.serializers import SecretListQuerySerializer, SecretSerializer
from executions.models import Secret
from executions.services.secrets import do_delete_secret, do_set_secret, secret_entries
from mbflow_site.bodies import json_object
from workflows.api.base import TenantView
from workflows.models import Role


def _secret_data(secret: Secret) -> dict[str, str]:
    return {"name": secret.name, "created_at": secret.created_at.isoformat(),
            "updated_at": secret.updated_at.isoformat()}


class SecretListView(TenantView):
    """Names only: a value is written here and read by the engine, never returned. Each name
    comes with the workflows whose active version reads it (`used_by`)."""

    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(parameters=[SecretListQuerySerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        query = SecretListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = secret_entries(self.caller().tenant, with_unset=query.validated_data["with_unset"])
        return self.paginate(request, entries, lambda entry: entry.to_dict())

    @extend_schema(request=SecretSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        body = json_object(request.data)
        secret = do_set_secret(self.caller().tenant, body.get("name"), body.get("value"))
        return Response(_secret_data(secret), status=status.HTTP_201_CREATED)


class SecretDetailView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(request=SecretSerializer, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request, name: str) -> Response:
        return Response(_secret_data(do_set_secret(self.caller().tenant, name, json_object(request.data).get("value"))))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        do_delete_secret(self.caller().tenant, name)
        return Response(status=status.HTTP_204_NO_CONTENT)

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mbflow_site.errors import ApiError, NotFound
from workflows.api.base import TenantView
from workflows.api.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MemberCreateSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    TenantChoiceSerializer,
)
from workflows.models import ApiKey, Membership, Role
from workflows.services.keys import (
    do_add_member,
    do_change_role,
    do_create_key,
    do_remove_member,
    do_revoke_key,
    get_member,
)
from workflows.tenancy import SESSION_TENANT_KEY, Caller


def _me(caller: Caller) -> dict:
    tenants = []
    if caller.user_id is not None:
        tenants = [
            {"id": str(m.tenant_id), "slug": m.tenant.slug, "name": m.tenant.name, "role": m.role}
            for m in Membership.objects.select_related("tenant").filter(user_id=caller.user_id)
        ]
    return {
        "username": caller.username,
        "tenant": {"id": str(caller.tenant.id), "slug": caller.tenant.slug, "name": caller.tenant.name},
        "role": caller.role,
        "tenants": tenants,
    }


class MeView(TenantView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(_me(self.caller()))


class MeTenantView(TenantView):
    write_role = Role.VIEWER  # choosing one's own tenant changes nothing shared

    @extend_schema(request=TenantChoiceSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        caller = self.caller()
        serializer = TenantChoiceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if caller.user_id is None:
            raise ApiError("An API key belongs to one tenant.", code="not_a_session")
        membership = (
            Membership.objects.select_related("tenant")
            .filter(user_id=caller.user_id, tenant__slug=serializer.validated_data["tenant"])
            .first()
        )
        if membership is None:
            raise NotFound("You are not a member of that tenant.")
        request.session[SESSION_TENANT_KEY] = str(membership.tenant_id)
        chosen = Caller(tenant=membership.tenant, role=membership.role, username=caller.username,
                        user_id=caller.user_id)
        return Response(_me(chosen))


class KeyListView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=ApiKeySerializer(many=True))
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(tenant=self.caller().tenant)
        return self.paginate(request, keys, ApiKeySerializer)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeySerializer})
    def post(self, request: Request) -> Response:
        caller = self.caller()
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data["role"]
        if not caller.can(role):
            raise ApiError("You cannot create a key with more rights than your own.",
                           code="permission_denied", status_code=403)
        key, raw = do_create_key(caller.tenant, name=serializer.validated_data["name"], role=role,
                                 created_by_id=caller.user_id)
        return Response({**ApiKeySerializer(key).data, "key": raw}, status=status.HTTP_201_CREATED)


def _key_of(request: Request, key_id: str) -> ApiKey:
    try:
        key = ApiKey.objects.filter(tenant=request.auth.tenant, pk=uuid.UUID(key_id)).first()
    except ValueError:
        key = None
    if key is None:
        raise NotFound("No such API key.")
    return key


class KeyDetailView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=ApiKeySerializer)
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeySerializer(_key_of(request, key_id)).data)

    @extend_schema(responses=ApiKeySerializer)
    def delete(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeySerializer(do_revoke_key(_key_of(request, key_id))).data)


class MemberListView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request) -> Response:
        members = Membership.objects.select_related("user").filter(tenant=self.caller().tenant)
        return self.paginate(request, members, MemberSerializer)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def post(self, request: Request) -> Response:
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = do_add_member(self.caller().tenant, **serializer.validated_data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)


class MemberDetailView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def patch(self, request: Request, member_id: int) -> Response:
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = do_change_role(get_member(self.caller().tenant, member_id), serializer.validated_data["role"])
        return Response(MemberSerializer(member).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, member_id: int) -> Response:
        do_remove_member(get_member(self.caller().tenant, member_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

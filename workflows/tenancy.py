"""Who is calling, for which tenant, with which role."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.models import ApiKey, Membership, Role, Tenant


@dataclass(frozen=True, slots=True)
class Caller:
    tenant: Tenant
    role: str
    username: str
    user_id: int | None = None
    api_key: ApiKey | None = None

    def can(self, minimum_role: str) -> bool:
        return Role.at_least(self.role, minimum_role)


class KeyPrincipal:
    """The request.user of a call made with an API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.username = f"key:{key.name}"

    def __str__(self) -> str:
        return self.username


SESSION_TENANT_KEY = "mbflow_tenant_id"


def membership_for(user_id: int, tenant_id: str | None) -> Membership | None:
    memberships = Membership.objects.select_related("tenant").filter(user_id=user_id)
    if tenant_id:
        chosen = memberships.filter(tenant_id=tenant_id).first()
        if chosen is not None:
            return chosen
    return memberships.order_by("tenant__slug").first()

"""API keys and memberships: what a tenant admin manages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.utils import timezone

from mbflow_site.errors import ApiError, Conflict, NotFound
from workflows.auth import forget_cached_keys
from workflows.models import ApiKey, Membership, Role, Tenant
from workflows.models.keys import generate_raw_key, hash_key


def do_create_key(tenant: Tenant, *, name: str, role: str, created_by_id: int | None) -> tuple[ApiKey, str]:
    """Returns the key and its secret, which is never stored and never shown again."""
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name=name, role=role, created_by_id=created_by_id)
    key.set_secret(raw)
    key.save()
    return key, raw


def do_revoke_key(key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
        forget_cached_keys()
        key.refresh_from_db()
    return key


def seed_keys_from_settings(tenant: Tenant) -> int:
    """Stores the API_KEYS of the environment (hashed) for this tenant; returns how many were new."""
    created = 0
    for index, raw in enumerate(settings.API_KEYS, start=1):
        if ApiKey.objects.filter(key_hash=hash_key(raw)).exists():
            continue
        key = ApiKey(tenant=tenant, name=f"API_KEYS #{index}", role=Role.ADMIN)
        key.set_secret(raw)
        key.save()
        created += 1
    return created


def do_add_member(tenant: Tenant, *, username: str, role: str) -> Membership:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApiError(f"No user {username!r}.", code="validation_error",
                       details={"fields": {"username": ["No such user."]}})
    try:
        return Membership.objects.create(tenant=tenant, user=user, role=role)
    except IntegrityError:
        raise Conflict(f"{username} is already a member.", code="already_member") from None


def get_member(tenant: Tenant, member_id: int) -> Membership:
    member = Membership.objects.select_related("user").filter(tenant=tenant, pk=member_id).first()
    if member is None:
        raise NotFound("No such member.")
    return member


def _is_last_owner(member: Membership) -> bool:
    return member.role == Role.OWNER and not Membership.objects.filter(
        tenant=member.tenant, role=Role.OWNER).exclude(pk=member.pk).exists()


def do_change_role(member: Membership, role: str) -> Membership:
    if role != Role.OWNER and _is_last_owner(member):
        raise Conflict("A tenant keeps at least one owner.", code="last_owner")
    member.role = role
    member.save(update_fields=["role"])
    return member


def do_remove_member(member: Membership) -> None:
    if _is_last_owner(member):
        raise Conflict("A tenant keeps at least one owner.", code="last_owner")
    member.delete()

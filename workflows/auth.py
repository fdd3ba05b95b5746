"""API-key and session authentication; both resolve the caller's tenant and role."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from workflows.models import ApiKey
from workflows.models.keys import hash_key
from workflows.tenancy import SESSION_TENANT_KEY, Caller, KeyPrincipal, membership_for

LAST_USED_RESOLUTION = timedelta(minutes=1)
CACHED_KEYS_LIMIT = 4096

# Key hash -> (monotonic expiry, caller): the key's row and tenant are read once per
# API_KEY_CACHE_SECONDS per process instead of once per request (the read and its ORM compilation
# were about a tenth of a small request's CPU). Every change of a key through this process empties
# it; a key revoked by another process stops working here within API_KEY_CACHE_SECONDS.
_cached_callers: dict[str, tuple[float, Caller]] = {}
clock = time.monotonic
_forgotten = [0]  # how many times the cache was emptied: a read that raced a change is not kept


def forget_cached_keys() -> None:
    _forgotten[0] += 1
    _cached_callers.clear()


def forget_cached_keys_on_change(**_: Any) -> None:
    forget_cached_keys()


def raw_key_from(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.META.get("HTTP_X_API_KEY") or None


def caller_for_key(raw_key: str) -> Caller | None:
    key_hash = hash_key(raw_key)
    cached = _cached_callers.get(key_hash)
    if cached is not None and cached[0] > clock():
        return cached[1]
    forgotten = _forgotten[0]
    caller = _read_caller(key_hash)
    lifetime = settings.API_KEY_CACHE_SECONDS
    if caller is not None and lifetime > 0 and forgotten == _forgotten[0]:
        if len(_cached_callers) >= CACHED_KEYS_LIMIT:
            _cached_callers.clear()
        _cached_callers[key_hash] = (clock() + lifetime, caller)
    return caller


def _read_caller(key_hash: str) -> Caller | None:
    # key_hash is unique: a plain lookup, no ORDER BY to compile.
    key = next(iter(ApiKey.objects.select_related("tenant").filter(key_hash=key_hash)[:1]), None)
    if key is None or key.revoked:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Coarse on purpose: one write a minute per key instead of one per request.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return Caller(tenant=key.tenant, role=key.role, username=f"key:{key.name}", api_key=key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Caller] | None:
        raw_key = raw_key_from(request)
        if raw_key is None:
            return None
        caller = caller_for_key(raw_key)
        if caller is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        assert caller.api_key is not None
        return KeyPrincipal(caller.api_key), caller

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="mbflow"'


class TenantSessionAuthentication(authentication.SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Caller | None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        membership = membership_for(user.pk, request.session.get(SESSION_TENANT_KEY))
        if membership is None:
            return user, None
        return user, Caller(
            tenant=membership.tenant, role=membership.role, username=user.get_username(), user_id=user.pk
        )

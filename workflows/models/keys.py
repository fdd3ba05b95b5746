from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models

from workflows.models.tenants import Role, Tenant

KEY_PREFIX = "mbf_"


def hash_key(raw_key: str) -> str:
    # Keys are long random tokens, so one SHA-256 is enough; a slow KDF would only add latency
    # to every API call without adding resistance against guessing.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_raw_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def set_secret(self, raw_key: str) -> None:
        self.key_hash = hash_key(raw_key)
        self.prefix = raw_key[:12]

"""The tenant's secret store: values encrypted at rest with Fernet, readable only by the engine.

The key is ``MBFLOW_SECRETS_KEY`` when set (a Fernet key, or any text, which is hashed into
one), else derived from ``SECRET_KEY``. The API lists names and never returns a value.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from executions.models import Secret
from mbflow_site.errors import ApiError, NotFound
from workflows.models import Tenant

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_VALUE_BYTES = 64 * 1024


@lru_cache(maxsize=4)
def _fernet(material: str) -> Fernet:
    try:
        return Fernet(material.encode())
    except ValueError:
        digest = hashlib.sha256(b"mbflow-secrets:" + material.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def fernet() -> Fernet:
    return _fernet(getattr(settings, "MBFLOW_SECRETS_KEY", "") or settings.SECRET_KEY)


def check_secret(name: Any, value: Any) -> tuple[str, str]:
    fields: dict[str, list[str]] = {}
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        fields["name"] = ["Letters, digits and underscores, not starting with a digit (at most 100)."]
    if not isinstance(value, str) or not value:
        fields["value"] = ["A non-empty string."]
    elif len(value.encode()) > MAX_VALUE_BYTES:
        fields["value"] = [f"At most {MAX_VALUE_BYTES} bytes."]
    if fields:
        raise ApiError("The secret is not valid.", code="validation_error", details={"fields": fields})
    return str(name), str(value)


def do_set_secret(tenant: Tenant, name: str, value: str) -> Secret:
    name, value = check_secret(name, value)
    secret, _ = Secret.objects.update_or_create(
        tenant=tenant, name=name, defaults={"ciphertext": fernet().encrypt(value.encode())}
    )
    return secret


def do_delete_secret(tenant: Tenant, name: str) -> None:
    deleted, _ = Secret.objects.filter(tenant=tenant, name=name).delete()
    if not deleted:
        raise NotFound(f"No secret {name!r}.")


def secret_names(tenant: Tenant) -> list[Secret]:
    return list(Secret.objects.filter(tenant=tenant).defer("ciphertext").order_by("name"))


def secrets_for(tenant_id: Any) -> dict[str, str]:
    """Every secret of the tenant, decrypted: for the engine only, never for an API answer."""
    values: dict[str, str] = {}
    box = fernet()
    for name, ciphertext in Secret.objects.filter(tenant_id=tenant_id).values_list("name", "ciphertext"):
        try:
            values[name] = box.decrypt(bytes(ciphertext)).decode()
        except InvalidToken:
            continue  # encrypted under another key; behaves as a missing secret
    return values

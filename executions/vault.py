"""The tenant's secret values at rest: encrypted with Fernet, decrypted only for the engine.

The key is ``MBFLOW_SECRETS_KEY`` when set (a Fernet key, or any text, which is hashed into
one), else derived from ``SECRET_KEY``. Below the engine and the services: both read here.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from executions.models import Secret


@lru_cache(maxsize=4)
def _fernet(material: str) -> Fernet:
    try:
        return Fernet(material.encode())
    except ValueError:
        digest = hashlib.sha256(b"mbflow-secrets:" + material.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def fernet() -> Fernet:
    return _fernet(getattr(settings, "MBFLOW_SECRETS_KEY", "") or settings.SECRET_KEY)


def encrypt(value: str) -> bytes:
    return fernet().encrypt(value.encode())


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

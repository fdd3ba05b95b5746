"""The tenant's secret store: set, list by name, delete. Values are encrypted at rest
(``executions.vault``) and readable only by the engine; the API never returns one."""

from __future__ import annotations

import re
from typing import Any

from executions.models import Secret
from executions.vault import encrypt
from mbflow_site.errors import ApiError, NotFound
from workflows.models import Tenant

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_VALUE_BYTES = 64 * 1024


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
        tenant=tenant, name=name, defaults={"ciphertext": encrypt(value)}
    )
    return secret


def do_delete_secret(tenant: Tenant, name: str) -> None:
    deleted, _ = Secret.objects.filter(tenant=tenant, name=name).delete()
    if not deleted:
        raise NotFound(f"No secret {name!r}.")


def secret_names(tenant: Tenant) -> list[Secret]:
    return list(Secret.objects.filter(tenant=tenant).defer("ciphertext").order_by("name"))

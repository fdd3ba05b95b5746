"""The tenant's secret store: set, list by name, delete. Values are encrypted at rest
(``executions.vault``) and readable only by the engine; the API never returns one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from executions.models import Secret
from executions.vault import encrypt
from mbflow_site.errors import ApiError, NotFound
from workflows.models import Tenant
from workflows.public import WorkflowRef, secret_users

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


@dataclass(frozen=True, slots=True)
class SecretEntry:
    """A secret name as the Credentials page lists it: whether a value is set, and who reads it."""

    name: str
    set: bool
    created_at: datetime | None
    updated_at: datetime | None
    used_by: list[WorkflowRef]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "set": self.set,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "used_by": [ref.to_dict() for ref in self.used_by],
        }


def secret_entries(tenant: Tenant, *, with_unset: bool = False) -> list[SecretEntry]:
    """The tenant's secrets by name with the workflows whose active version reads each; with
    ``with_unset`` also the names workflows read that have no value yet."""
    users = secret_users(tenant)
    entries = [
        SecretEntry(name=s.name, set=True, created_at=s.created_at, updated_at=s.updated_at,
                    used_by=users.get(s.name, []))
        for s in secret_names(tenant)
    ]
    if with_unset:
        stored = {entry.name for entry in entries}
        entries += [SecretEntry(name=name, set=False, created_at=None, updated_at=None, used_by=refs)
                    for name, refs in users.items() if name not in stored]
        entries.sort(key=lambda entry: entry.name)
    return entries

"""Which workflows read which secrets: the `secrets.NAME` references of each active version.

A version never changes, so the names it reads are a function of its content checksum and are
kept in the cache by checksum: listing the users of every secret of a tenant costs one query for
the tenant's workflows, one cache round trip, and a read of only the versions not seen before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from workflows.models import Tenant, Workflow, WorkflowVersion
from workflows.spec.expressions import iter_expressions, referenced_secrets

_CACHE_PREFIX = "secret-names:"
_CACHE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class WorkflowRef:
    id: str
    name: str
    title: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "title": self.title}


def secrets_read_by(document: dict[str, Any]) -> frozenset[str]:
    """The names of the secrets a native document reads anywhere (variables, nodes, output...)."""
    names: set[str] = set()
    for _, text in iter_expressions(document.get("spec", {})):
        names |= referenced_secrets(text)
    return frozenset(names)


def secret_users(tenant: Tenant) -> dict[str, list[WorkflowRef]]:
    """Secret name → the tenant's workflows (not archived) whose active version reads it, by name."""
    rows = list(
        Workflow.objects.filter(tenant=tenant, archived=False, active_version__isnull=False)
        .order_by("name")
        .values_list("id", "name", "title", "active_version_id", "active_version__checksum")
    )
    checksums = {checksum for *_, checksum in rows}
    known: dict[str, list[str]] = {
        key[len(_CACHE_PREFIX):]: value
        for key, value in cache.get_many([_CACHE_PREFIX + c for c in checksums]).items()
    }
    missing = {version_id: checksum for *_, version_id, checksum in rows if checksum not in known}
    if missing:
        found: dict[str, list[str]] = {}
        for version_id, spec in WorkflowVersion.objects.filter(pk__in=missing).values_list("pk", "spec"):
            found[missing[version_id]] = sorted(secrets_read_by(spec))
        cache.set_many({_CACHE_PREFIX + c: names for c, names in found.items()}, _CACHE_SECONDS)
        known.update(found)
    users: dict[str, list[WorkflowRef]] = defaultdict(list)
    for workflow_id, name, title, _, checksum in rows:
        for secret in known.get(checksum, ()):
            users[secret].append(WorkflowRef(id=str(workflow_id), name=name, title=title))
    return dict(users)

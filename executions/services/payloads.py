"""Offloaded node outputs (``executions.engine.payloads``) as the API serves them, and their
deletion with the executions retention prunes."""

from __future__ import annotations

from io import BytesIO
from typing import IO, Any
from uuid import UUID

from django.conf import settings

from executions.engine import payloads
from executions.models import Execution, NodeRun
from executions.services.retention import on_prune
from mbflow_site.errors import NotFound
from workflows.models import Tenant


def download_url(execution_id: Any, node_id: str) -> str:
    return f"{settings.MBFLOW_PUBLIC_URL}/api/v1/executions/{execution_id}/steps/{node_id}/output"


def shown(value: Any, execution_id: Any, node_id: str) -> Any:
    """A step's output as the API shows it: a reference gets its download link."""
    ref = payloads.reference(value)
    if ref is None:
        return value
    return {payloads.MARKER: {**ref, "url": download_url(execution_id, node_id)}}


def open_step_output(tenant: Tenant, execution_id: str, node_id: str) -> tuple[IO[bytes], int]:
    """The stored output of the tenant's execution's step, as a file, and its size (an output
    kept in the row is served as JSON too). 404 for another tenant's execution or no such step."""
    try:
        pk = UUID(str(execution_id))
    except ValueError:
        raise NotFound(f"No execution {execution_id!r}.") from None
    run = (NodeRun.objects.filter(execution_id=pk, execution__tenant=tenant, node_id=node_id)
           .values_list("output", flat=True).first())
    if run is None and not NodeRun.objects.filter(execution_id=pk, execution__tenant=tenant,
                                                  node_id=node_id).exists():
        raise NotFound(f"No step {node_id!r} in execution {execution_id!r}.")
    ref = payloads.reference(run)
    key = payloads.owned_key(ref, tenant.pk) if ref is not None else None
    if key is None:  # an output kept in the row: served the same way
        data = payloads.json_bytes(run)
        return BytesIO(data), len(data)
    try:
        return payloads.storage().open(key, "rb"), int(ref["size"])  # type: ignore[index]
    except (FileNotFoundError, OSError):
        raise NotFound(f"The output of step {node_id!r} is no longer stored.") from None


@on_prune
def delete_payloads(execution_ids: list[UUID]) -> None:
    """The payloads of the executions retention deletes."""
    rows = Execution._base_manager.filter(pk__in=execution_ids).values_list("tenant_id", "pk")
    payloads.delete_for([f"{tenant_id}/{pk}" for tenant_id, pk in rows])

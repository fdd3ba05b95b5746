"""What the API says of an execution's trace."""

from __future__ import annotations

import uuid
from typing import Any

from executions.models import Execution
from mbflow_site.errors import NotFound
from monitoring.tracing import ids
from monitoring.tracing.provider import tracing_on
from workflows.models import Tenant


def execution_trace(tenant: Tenant, ref: Any, url_template: str = "") -> dict[str, Any]:
    try:
        execution_id = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No execution {ref!r}.") from None
    if not Execution.objects.filter(tenant=tenant, pk=execution_id).exists():
        raise NotFound(f"No execution {ref!r}.")
    trace_id, span_id = ids.trace_id_of(execution_id), ids.execution_span_id(execution_id)
    return {"enabled": tracing_on(), "trace_id": f"{trace_id:032x}", "span_id": f"{span_id:016x}",
            "traceparent": ids.traceparent(trace_id, span_id),
            "url": url_template.replace("{trace_id}", f"{trace_id:032x}") if url_template else None}

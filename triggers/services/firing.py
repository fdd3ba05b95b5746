"""Starting a run from a trigger: the one way every kind of trigger starts its workflow."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from executions.models import Execution
from executions.services.executions import do_start_execution
from mbflow_site.errors import Conflict
from triggers.models import Trigger


def not_live_reason(trigger: Trigger) -> str | None:
    """Why the trigger starts no run now (None: it does). Only an active workflow's enabled
    triggers start runs."""
    workflow = trigger.workflow
    if not trigger.declared:
        return "trigger_removed"
    if workflow.archived:
        return "workflow_archived"
    if not workflow.active:
        return "workflow_inactive"
    if not trigger.enabled:
        return "trigger_disabled"
    return None


_REASONS = {
    "trigger_removed": "The workflow's active version no longer has this trigger.",
    "workflow_archived": "The workflow is archived.",
    "workflow_inactive": "The workflow is not active: turn it on to let its triggers start runs.",
    "trigger_disabled": "This trigger is disabled (enabled: false).",
}


def check_live(trigger: Trigger) -> None:
    reason = not_live_reason(trigger)
    if reason is not None:
        raise Conflict(_REASONS[reason], code=reason, details={"trigger": str(trigger.pk)})


def start_from(trigger: Trigger, data: Any, record: dict[str, Any] | None = None) -> Execution:
    """Starts the trigger's workflow (its active version) with ``data`` as input; the execution
    records the trigger (``type``, ``id``, ``name`` and what ``record`` adds)."""
    execution, _ = do_start_execution(
        trigger.tenant, str(trigger.workflow_id), data=data,
        trigger={"type": trigger.kind, "id": str(trigger.pk), "name": trigger.label, **(record or {})},
    )
    Trigger.objects.filter(pk=trigger.pk).update(last_fired_at=timezone.now(), last_execution_id=execution.pk)
    return execution

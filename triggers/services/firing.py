"""Starting a run from a trigger: the one way every kind of trigger starts its workflow."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from executions.engine.store import RowUpdate
from executions.models import Execution
from executions.services.executions import do_start_execution
from mbflow_site.errors import Conflict
from mbflow_site.queries import Precondition
from triggers.models import Trigger
from workflows.models import Workflow


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


def started_by(triggers: QuerySet[Trigger]) -> QuerySet[Trigger]:
    """``triggers`` read with what starting their workflow needs: its tenant, and its workflow
    with its active version (without the version's documents: its plan is cached)."""
    return triggers.select_related("workflow__active_version", "tenant").defer(
        "workflow__active_version__yaml_text", "workflow__active_version__spec")


def start_from(trigger: Trigger, data: Any, record: dict[str, Any] | None = None,
               only_if: Precondition | None = None) -> Execution:
    """Starts the trigger's workflow (its active version) with ``data`` as input; the execution
    records the trigger (``type``, ``id``, ``name`` and what ``record`` adds), and the trigger
    its last run, written in the start's own statement (which checks ``only_if``: see
    ``do_start_execution``)."""

    def fired(execution: Execution) -> list[RowUpdate]:
        trigger.last_fired_at, trigger.last_execution_id = timezone.now(), execution.pk
        return [RowUpdate(trigger, ("last_fired_at", "last_execution_id"))]

    # The workflow as the trigger's lookup read it, with its active version (``started_by``);
    # else read again by id.
    read = Workflow.active_version.is_cached(trigger.workflow)
    execution, _ = do_start_execution(
        trigger.tenant, trigger.workflow if read else str(trigger.workflow_id), data=data,
        trigger={"type": trigger.kind, "id": str(trigger.pk), "name": trigger.label, **(record or {})},
        stamp=fired, only_if=only_if if read else None,
    )
    return execution

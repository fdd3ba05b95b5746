"""Signals from outside to a node waiting for one: an approval's decision."""

from __future__ import annotations

from typing import Any

from executions.engine import runner
from executions.engine.plan import plan_for
from executions.engine.projection import NodeState
from executions.engine.step import Outcome
from executions.executors.approval import approval_output
from executions.models import Execution, NodeRun
from mbflow_site.errors import ApiError, Conflict, PermissionDeniedError
from workflows.tenancy import Caller


def do_signal(caller: Caller, execution: Execution, node_id: str, decision: str, *,
              comment: str | None = None, data: Any = None) -> Execution:
    """Decides the approval node ``node_id`` of ``execution`` (already scoped to the caller's
    tenant) and advances the execution; 409 when that node is not waiting for a decision."""
    node = plan_for(execution.version_id, execution.pk, execution.adhoc_spec).nodes.get(node_id)
    if node is None:
        raise ApiError(f"The workflow has no node {node_id!r}.", code="validation_error",
                       details={"fields": {"node_id": [f"No node {node_id!r} in this execution's workflow."]}})
    if node.type != "approval":
        raise Conflict(f"Node {node_id} is a {node.type} node; only approval nodes take a decision.",
                       code="not_an_approval", details={"node_id": node_id, "type": node.type})
    approvers = node.config.get("approvers") or []
    if approvers and caller.username not in approvers:
        raise PermissionDeniedError(f"Only {', '.join(approvers)} may decide node {node_id}.",
                                    code="not_an_approver", details={"node_id": node_id})

    def decide(state: NodeState) -> Outcome:
        message = state.input.get("message", "") if isinstance(state.input, dict) else ""
        return Outcome(output=approval_output(decision, by=caller.username, comment=comment, data=data,
                                              message=message))

    if not runner.resolve_waiting(str(execution.pk), node_id, decide):
        current = NodeRun.objects.filter(execution=execution, node_id=node_id).values_list("status", flat=True).first()
        execution.refresh_from_db(fields=["status"])
        status = current if execution.status == "running" else f"{current} (the execution {execution.status})"
        raise Conflict(f"Node {node_id} is not waiting for a decision: it is {status}.", code="not_waiting",
                       details={"node_id": node_id, "status": current, "execution_status": execution.status})
    execution.refresh_from_db()
    return execution

from __future__ import annotations

from typing import Any

from executions.engine.step import Outcome
from executions.executors.base import Executor, NodeContext, PermanentError, Suspend
from executions.executors.registry import executor

MAX_DEPTH = 5


def outcome_of_child(status: str, output: Any, error: Any) -> Outcome:
    if status == "succeeded":
        return Outcome(output=output)
    message = (error or {}).get("message") if isinstance(error, dict) else None
    return Outcome(error=PermanentError(f"The sub-workflow {status}: {message or 'no detail'}",
                                        details=error, code=f"sub_workflow_{status}"))


@executor("sub_workflow")
class SubWorkflowExecutor(Executor):
    """Starts a workflow of the same tenant as a child execution.

    With ``wait`` (the default) the node stays running, holding no worker, until the child
    ends; the child's last step reports its outcome to this node. Without it the node succeeds
    at once with the child's id. The child's idempotency key is derived from this attempt, so
    a redelivered task finds the same child instead of starting a second one.
    """

    def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        from executions.services.executions import start_child

        if ctx.depth + 1 > MAX_DEPTH:
            raise PermanentError(f"Sub-workflows nest at most {MAX_DEPTH} deep.", code="depth_exceeded")
        wait = bool(config.get("wait", True))
        child_input = config.get("input") or {}
        if not isinstance(child_input, dict):
            raise PermanentError("`input` must be an object.", code="invalid_config")
        child = start_child(
            ctx.tenant_id, str(config.get("workflow")), config.get("version"), child_input,
            parent_id=ctx.execution_id, parent_node_id=ctx.node_id, parent_attempt=ctx.attempt,
            depth=ctx.depth + 1, wait=wait,
        )
        if not wait:
            return {"execution_id": str(child.pk), "status": child.status}
        if child.status in ("succeeded", "failed", "cancelled"):
            outcome = outcome_of_child(child.status, child.output, child.error)
            if outcome.error is not None:
                raise outcome.error
            return outcome.output
        return Suspend("waiting for the child execution", {"execution_id": str(child.pk)})

"""Child executions of ``sub_workflow`` nodes: the row a node's ``StartChild`` asks for, and the
outcome a finished child reports to its parent's node."""

from __future__ import annotations

from typing import Any

from executions.engine.plan import Plan, check_input, plan_for_version
from executions.engine.step import Outcome
from executions.executors import NodeContext, PermanentError, StartChild
from executions.models import Execution
from mbflow_site.errors import ApiError
from workflows.models import Tenant
from workflows.public import get_version, get_workflow


def child_key(ctx: NodeContext, suffix: str = "") -> str:
    """The child's idempotency key: one child per attempt (the attempt whose call a redelivery
    makes again keeps it), however often the task is delivered; ``suffix`` tells several apart."""
    key = f"sub:{ctx.execution_id}:{ctx.node_id}:{ctx.redelivery_of or ctx.attempt}"
    return f"{key}:{suffix}" if suffix else key


def existing_child(ctx: NodeContext, suffix: str = "") -> Execution | None:
    return Execution.objects.filter(tenant_id=ctx.tenant_id, idempotency_key=child_key(ctx, suffix)).first()


def new_child(ctx: NodeContext, request: StartChild, suffix: str = "") -> tuple[Execution, Plan]:
    """The unsaved child row and its plan; a workflow, version or input that does not do is the
    node's permanent failure."""
    tenant = Tenant.objects.get(pk=ctx.tenant_id)
    try:
        workflow = get_workflow(tenant, request.workflow)
        pinned = get_version(workflow, request.version)
        plan = plan_for_version(pinned.pk)
        check_input(plan, request.input)
    except ApiError as exc:
        raise PermanentError(f"Cannot start the sub-workflow: {exc.message}", code=exc.code,
                             details=exc.details) from None
    execution = Execution(
        tenant=tenant, workflow=workflow, version=pinned, input=request.input, idempotency_key=child_key(ctx, suffix),
        parent_id=ctx.execution_id, parent_node_id=ctx.node_id, depth=ctx.depth + 1,
        trigger={"type": "sub_workflow", "parent_attempt": ctx.attempt, "wait": request.wait},
    )
    return execution, plan


def outcome_of_child(status: str, output: Any, error: Any) -> Outcome:
    if status == "succeeded":
        return Outcome(output=output)
    message = (error or {}).get("message") if isinstance(error, dict) else None
    return Outcome(error=PermanentError(f"The sub-workflow {status}: {message or 'no detail'}",
                                        details=error, code=f"sub_workflow_{status}"))

"""Approval: the node waits, holding no worker, until someone approves or rejects it through
``POST /api/v1/executions/{id}/signals`` (or the designer's buttons), or its timeout passes."""

from __future__ import annotations

from typing import Any

from executions.executors.base import Executor, NodeContext, PermanentError, Suspend
from executions.executors.registry import executor
from workflows.spec.durations import parse_duration

DECISIONS = ("approved", "rejected")


@executor("approval")
class ApprovalExecutor(Executor):
    """Runs inline (it does no I/O): the step that reaches it marks it waiting. Its output, once
    signalled, is ``{"decision", "approved", "by", "comment", "data", "message"}``, and edges
    with ``port: approved`` or ``port: rejected`` follow the decision. A timeout is a failure
    (``port: failure`` or a failure edge catches it)."""

    light = True

    def run(self, config: dict[str, Any], ctx: NodeContext) -> Suspend:
        raw = config.get("timeout")
        try:
            timeout = parse_duration(raw) if raw not in (None, "") else ctx.timeout
        except ValueError as exc:
            raise PermanentError(str(exc), code="invalid_config") from None
        approvers = config.get("approvers") or []
        if not isinstance(approvers, list) or not all(isinstance(name, str) for name in approvers):
            raise PermanentError("`approvers` must be a list of user names.", code="invalid_config")
        message = config.get("message")
        return Suspend("approval", {"message": "" if message is None else str(message), "approvers": approvers},
                       waiting=True, timeout=timeout or None)

    @staticmethod
    def port(output: Any) -> str:
        return str(output.get("decision")) if isinstance(output, dict) else Executor.port(output)


def approval_output(decision: str, *, by: str, comment: str | None, data: Any, message: str) -> dict[str, Any]:
    """The node's output once someone decided."""
    return {"decision": decision, "approved": decision == "approved", "by": by, "comment": comment or "",
            "data": data if data is not None else {}, "message": message}

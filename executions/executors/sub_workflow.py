from __future__ import annotations

from typing import Any

from executions.executors.base import Executor, NodeContext, PermanentError, StartChild
from executions.executors.registry import executor

MAX_DEPTH = 5


@executor("sub_workflow")
class SubWorkflowExecutor(Executor):
    """Runs a workflow of the same tenant as a child execution (started by the engine, see
    ``StartChild``): with ``wait`` (the default) its output becomes this node's, its failure this
    node's failure; without it the node succeeds at once with ``{execution_id, status}``."""

    def run(self, config: dict[str, Any], ctx: NodeContext) -> StartChild:
        if ctx.depth + 1 > MAX_DEPTH:
            raise PermanentError(f"Sub-workflows nest at most {MAX_DEPTH} deep.", code="depth_exceeded")
        child_input = config.get("input") or {}
        if not isinstance(child_input, dict):
            raise PermanentError("`input` must be an object.", code="invalid_config")
        version = config.get("version")
        return StartChild(str(config.get("workflow")), int(version) if version is not None else None, child_input,
                          bool(config.get("wait", True)))

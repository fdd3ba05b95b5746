"""Function: a step run by the user's own worker process (a Magic Flow step).

The node waits, holding no worker of ours, as a task of its ``executor``: the user's worker
takes it with ``POST /api/v1/function-tasks/poll`` and reports with
``POST /api/v1/function-tasks/{id}/complete`` (``executions.services.functions``).
"""

from __future__ import annotations

from typing import Any

from executions.executors.base import Executor, NodeContext, PermanentError, Suspend
from executions.executors.registry import executor
from workflows.spec.expressions import render_value


@executor("function")
class FunctionExecutor(Executor):
    """Runs inline (it does no I/O): the step that reaches it publishes the task. The task's
    input is ``input`` when the node sets one, else the node's upstream. ``output`` (kept
    unrendered until the result comes) maps the worker's ``response`` to the node's output.
    The node's ``timeout`` bounds the whole wait, a worker that took the task and died
    included; its ``retry`` then publishes the task again."""

    light = True
    raw_keys = frozenset({"output"})

    def run(self, config: dict[str, Any], ctx: NodeContext) -> Suspend:
        name = config.get("executor")
        if not isinstance(name, str) or not name:
            raise PermanentError("`executor` (the worker's name) is required.", code="invalid_config")
        function = config.get("function")
        task_input = config["input"] if config.get("input") else ctx.upstream
        return Suspend("function", {"executor": name, "function": function, "input": task_input},
                       waiting=True, timeout=ctx.timeout)


def function_output(mapping: Any, response: Any) -> Any:
    """The node's output from the worker's response: ``mapping`` rendered over ``response``, or
    the response itself when the node maps nothing."""
    return render_value(mapping, {"response": response}) if mapping else response

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from django.db import connection

from executions.executors.base import (
    Executor,
    NodeContext,
    NodeError,
    PermanentError,
    StartChild,
    Suspend,
    config_field,
)
from executions.executors.registry import executor, get_executor
from workflows.spec.expressions import ExpressionError

# How often a foreach over a workflow looks at its children.
CHILD_POLL_SECONDS = 0.1


@executor("foreach")
class ForeachExecutor(Executor):
    """Runs ``node`` once per item, or the sub-workflow ``workflow`` once per item (a child
    execution each, with ``input`` rendered per item, else the item itself), ``concurrency`` at
    a time; results keep the items' order.

    The inner node's config (or ``input``) is rendered per item with ``item`` and ``index`` in
    scope. A failed item fails the foreach (its error names the index), so the node's retry
    policy applies to the whole loop.
    """

    raw_keys = frozenset({"node", "input"})

    def run(self, config: dict[str, Any], ctx: NodeContext) -> list[Any]:
        items = config.get("items")
        if not isinstance(items, list):
            raise PermanentError(f"`items` must be a list, got {type(items).__name__}.", code="invalid_config")
        concurrency = max(1, min(int(config.get("concurrency") or 4), 100, len(items) or 1))
        if config.get("workflow"):
            return self._workflows(config, items, concurrency, ctx)
        inner = config.get("node")
        if not isinstance(inner, dict) or "type" not in inner:
            raise PermanentError("foreach needs `node: {type, config}`.", code="invalid_config")
        runner = get_executor(str(inner["type"]))
        if isinstance(runner, ForeachExecutor):
            raise PermanentError("foreach cannot run foreach directly.", code="invalid_config")
        raw_config = inner.get("config") or {}

        def one(index: int) -> Any:
            try:
                return run_item(index)
            finally:
                connection.close()  # ctx.cancelled() may have opened one in this pool thread

        def run_item(index: int) -> Any:
            if ctx.cancelled():
                raise PermanentError("The execution was cancelled.", code="cancelled")
            names = {"item": items[index], "index": index}
            item_ctx = replace(ctx, expressions={**ctx.expressions, **names}, item_index=index)
            try:
                rendered = {}
                for key, value in raw_config.items():
                    with config_field("config", "node", "config", key):
                        rendered[key] = value if key in runner.raw_keys else item_ctx.render(value)
                result = runner.run(rendered, item_ctx)
            except (NodeError, ExpressionError) as exc:
                exc.message = f"item {index}: {exc.message}"
                raise
            if isinstance(result, Suspend | StartChild):
                raise PermanentError("This node type cannot run inside foreach (use `workflow:` for a "
                                     "sub-workflow per item).", code="invalid_config")
            return result

        if concurrency == 1:
            return [one(i) for i in range(len(items))]
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="mbflow-foreach") as pool:
            return list(pool.map(one, range(len(items))))

    def _workflows(self, config: dict[str, Any], items: list[Any], concurrency: int, ctx: NodeContext) -> list[Any]:
        """A child execution per item, at most ``concurrency`` running; waits for them all."""
        if ctx.children is None:
            raise PermanentError("A foreach over a workflow runs on a worker only.", code="invalid_config")
        workflow = str(config["workflow"])
        version = config.get("version")
        results: list[Any] = [None] * len(items)
        waiting = list(range(len(items)))
        running: dict[str, int] = {}
        while waiting or running:
            while waiting and len(running) < concurrency:
                index = waiting.pop(0)
                request = StartChild(workflow, int(version) if version is not None else None,
                                     self._child_input(config, items, index, ctx), wait=False)
                running[ctx.children.start(request, str(index))] = index
            for child_id, state in ctx.children.states(list(running)).items():
                if not state.ended:
                    continue
                index = running.pop(child_id)
                if state.status != "succeeded":
                    message = (state.error or {}).get("message") if isinstance(state.error, dict) else None
                    raise PermanentError(f"item {index}: the sub-workflow {state.status}: {message or 'no detail'}",
                                         details={"index": index, "execution_id": child_id, "error": state.error},
                                         code=f"sub_workflow_{state.status}")
                results[index] = state.output
            if running:
                if ctx.cancelled():
                    raise PermanentError("The execution was cancelled.", code="cancelled")
                ctx.remaining()  # raises the node's timeout once it has passed
                time.sleep(CHILD_POLL_SECONDS)
        return results

    @staticmethod
    def _child_input(config: dict[str, Any], items: list[Any], index: int, ctx: NodeContext) -> dict[str, Any]:
        item = items[index]
        if config.get("input") is None:
            return item if isinstance(item, dict) else {"item": item, "index": index}
        with config_field("config", "input"):
            rendered = ctx.render(config["input"], item=item, index=index)
        if not isinstance(rendered, dict):
            raise PermanentError("`input` must render to an object.", code="invalid_config")
        return rendered

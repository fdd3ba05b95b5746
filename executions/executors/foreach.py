from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from django.db import connection

from executions.executors.base import Executor, NodeContext, NodeError, PermanentError, Suspend, config_field
from executions.executors.registry import executor, get_executor
from workflows.spec.expressions import ExpressionError


@executor("foreach")
class ForeachExecutor(Executor):
    """Runs ``node`` once per item, ``concurrency`` at a time; results keep the items' order.

    The inner node's config is rendered per item with ``item`` and ``index`` in scope. A failed
    item fails the foreach (its error names the index), so the node's retry policy applies to
    the whole loop.
    """

    raw_keys = frozenset({"node"})

    def run(self, config: dict[str, Any], ctx: NodeContext) -> list[Any]:
        items = config.get("items")
        if not isinstance(items, list):
            raise PermanentError(f"`items` must be a list, got {type(items).__name__}.", code="invalid_config")
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
            if isinstance(result, Suspend):
                raise PermanentError("This node type cannot run inside foreach.", code="invalid_config")
            return result

        concurrency = max(1, min(int(config.get("concurrency") or 4), 100, len(items) or 1))
        if concurrency == 1:
            return [one(i) for i in range(len(items))]
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="mbflow-foreach") as pool:
            return list(pool.map(one, range(len(items))))

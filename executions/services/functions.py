"""Function tasks: ``function`` nodes waiting for the user's own worker, which polls for them
over the API and reports each one's result."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from executions.engine import runner
from executions.engine.plan import plan_for
from executions.engine.projection import NodeState
from executions.engine.step import Outcome
from executions.engine.store import release_connection
from executions.executors import PermanentError, RetryableError
from executions.executors.function import function_output
from executions.models import Execution, ExecutionEvent, NodeRun
from executions.services.executions import get_execution
from mbflow_site.errors import Conflict, NotFound
from mbflow_site.turns import stepped_aside
from workflows.spec.expressions import ExpressionError
from workflows.tenancy import Caller

MAX_POLL_WAIT = 20.0
# How many waiting tasks one poll looks at before it gives up a round (others may take them).
_CANDIDATES = 20
_PAGE = 200  # untaken tasks of an executor read at a time (of any tenant: executors are named by each tenant)


@dataclass(frozen=True, slots=True)
class FunctionTask:
    id: str
    execution_id: str
    node_id: str
    attempt: int
    executor: str
    function: str | None
    input: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def task_id(execution_id: Any, attempt: int, node_id: str) -> str:
    return f"{execution_id}:{attempt}:{node_id}"


def _parse_task_id(raw: str) -> tuple[uuid.UUID, int, str]:
    try:
        execution_id, attempt, node_id = raw.split(":", 2)
        return uuid.UUID(execution_id), int(attempt), node_id
    except ValueError:
        raise NotFound(f"No function task {raw!r}.") from None


def poll_task(caller: Caller, executor: str, functions: list[str] | None = None, wait: float = 0.0
              ) -> FunctionTask | None:
    """Takes the oldest waiting task of ``executor`` in the caller's tenant (only of
    ``functions`` when given), waiting up to ``wait`` seconds for one. Each task is taken by
    exactly one poller."""
    deadline = time.monotonic() + min(max(wait, 0.0), MAX_POLL_WAIT)
    pause = 0.05
    with stepped_aside():
        while True:
            task = _take(caller, executor, functions)
            remaining = deadline - time.monotonic()
            if task is not None or remaining <= 0:
                return task
            release_connection()
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.5)


def _candidates(caller: Caller, executor: str, functions: list[str] | None) -> list[tuple[Any, Any, str, int]]:
    """The oldest untaken tasks of ``executor`` in the caller's tenant: read from the index of
    untaken tasks by executor (noderun_waiting_untaken) alone, page by page, then kept when their
    execution is the tenant's and running (looked up by key). One query joining the two let the
    planner, its statistics stale after a burst of parked runs, walk every running execution of
    the tenant (12.7 s per poll with 8,000 approvals waiting; bench/parked.py)."""
    waiting = NodeRun.objects.filter(status="waiting", worker="", input__executor=executor)
    if functions:
        waiting = waiting.filter(input__function__in=functions)
    ordered = waiting.order_by("started_at", "pk").values_list("pk", "execution_id", "node_id", "attempt",
                                                              "started_at")
    found: list[tuple[Any, Any, str, int]] = []
    page = 0
    while True:  # to the end if need be: other tenants' older tasks of the same name never starve these
        rows = list(ordered[page * _PAGE:(page + 1) * _PAGE])
        page += 1
        if not rows:
            break
        ours = set(Execution.objects.filter(pk__in={row[1] for row in rows}, tenant=caller.tenant,
                                            status="running").values_list("pk", flat=True))
        found += [row[:4] for row in rows if row[1] in ours]
        if len(found) >= _CANDIDATES or len(rows) < _PAGE:
            break
    return found[:_CANDIDATES]


def _take(caller: Caller, executor: str, functions: list[str] | None) -> FunctionTask | None:
    claimant = f"poll:{caller.username}"[:200]
    for pk, execution_id, node_id, attempt in _candidates(caller, executor, functions):
        if not NodeRun.objects.filter(pk=pk, status="waiting", worker="", attempt=attempt).update(worker=claimant):
            continue  # another poller took it first
        waited = (ExecutionEvent.objects.filter(execution_id=execution_id, node_id=node_id, type="node.waiting")
                  .order_by("-seq").values_list("payload", flat=True).first()) or {}
        return FunctionTask(task_id(execution_id, attempt, node_id), str(execution_id), node_id, attempt,
                            executor, waited.get("function"), waited.get("input"))
    return None


def complete_task(caller: Caller, raw_id: str, *, output: Any = None, error: dict[str, Any] | None = None) -> None:
    """Records a task's result (``output``) or failure (``error``: ``message``, ``code``,
    ``retryable`` (true), ``details``) and advances its execution. 409 when the task is not
    waiting any more: done already, timed out, or its execution cancelled."""
    execution_id, attempt, node_id = _parse_task_id(raw_id)
    execution = get_execution(caller.tenant, execution_id)
    node = plan_for(execution.version_id, execution.pk, execution.adhoc_spec).nodes.get(node_id)
    if node is None or node.type != "function":
        raise NotFound(f"No function task {raw_id!r}.")

    def decide(state: NodeState) -> Outcome:
        if error is not None:
            kind = RetryableError if error.get("retryable", True) else PermanentError
            return Outcome(error=kind(str(error.get("message") or "The function failed."), details=error.get("details"),
                                      code=str(error.get("code") or "function_error")))
        try:
            return Outcome(output=function_output(node.config.get("output"), output))
        except ExpressionError as exc:
            return Outcome(error=PermanentError(f"The output mapping failed: {exc.message}", code="expression_error"))

    if not runner.resolve_waiting(str(execution.pk), node_id, decide, attempt=attempt):
        current = NodeRun.objects.filter(execution=execution, node_id=node_id).values_list("status", "attempt").first()
        status, now = current or ("unknown", 0)
        where = status if now == attempt else f"{status} with attempt {now}"
        raise Conflict(f"Function task {raw_id} is not waiting for a result: node {node_id} is {where}.",
                       code="not_waiting", details={"node_id": node_id, "status": status, "attempt": now})

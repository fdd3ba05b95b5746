"""The contract every node executor implements, built-in or custom.

An executor is registered for one node ``type`` with ``@executor("type")`` and is a stateless
object (one instance serves every run, from many threads at once). For each attempt the
engine calls ``run(config, ctx)``:

- ``config`` is the node's config with every expression rendered, except the keys listed in
  ``raw_keys``, which the executor renders itself (``ctx.render`` / ``ctx.evaluate``) because
  they need names only it knows (``value`` in a switch case, ``item`` in a foreach).
- A value the document took from a secret arrives as an opaque ``Secret`` or ``SecretText``
  (``workflows.spec.expressions``): it reads ``[secret]`` as text. An executor that sends it
  out (a header, a URL, a body field) calls ``reveal()`` on the request it is about to send, and
  never puts the revealed text into its output, an error or a log line.
- It returns the node's output: JSON-serialisable data. Secret values found in it are
  redacted by the engine before the output is stored.
- It must honour ``ctx.timeout`` / ``ctx.remaining()`` (pass them to network calls) and may
  poll ``ctx.cancelled()`` in long loops. It never sleeps to wait for a retry: raising is
  enough, the engine schedules the next attempt.
- It raises ``RetryableError`` for a failure that may pass on another attempt (a 503, a
  connection reset), ``PermanentError`` for one that will not (a 404, a bad config). Any
  other exception counts as retryable.
- ``light`` executors are pure and quick (no I/O): the orchestrator runs them inline in the
  same transaction that decided they were ready. The others are sent to a worker queue
  (``queue``: ``io`` or ``llm``).
- ``defer(config)`` may return seconds to wait before the run is dispatched (delay nodes);
  the wait is a scheduled dispatch, not a sleeping worker.
- ``run`` may return ``Suspend`` when the result comes later from outside (with ``waiting``,
  a signal through the API, such as an approval), or ``StartChild`` to have the engine start a
  child execution whose end settles the node.
- ``port(output)`` names the labelled output an edge with ``port`` must match.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from workflows.spec.expressions import ExpressionError, budget, evaluate, render_value


class NodeError(Exception):
    retryable = True
    code = "node_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.details is not None:
            data["details"] = self.details
        return data


class RetryableError(NodeError):
    retryable = True


class PermanentError(NodeError):
    retryable = False


class NodeTimeout(RetryableError):
    code = "timeout"


@dataclass(frozen=True, slots=True)
class Suspend:
    """Returned by an executor whose result arrives later: the node stays open until the
    engine is told its outcome.

    A sub-workflow being waited for stays ``running`` (the child reports back). With
    ``waiting`` the node shows as ``waiting`` for a signal (an approval): it holds no lease and
    no worker, and ``timeout`` seconds later, if no signal came, it times out.
    """

    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    waiting: bool = False
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class StartChild:
    """Returned by an executor that runs another workflow of the tenant as a child execution
    (``sub_workflow``): the engine starts the child, once per attempt however often the task is
    delivered. With ``wait`` the node stays open, holding no worker, until the child ends and
    reports its outcome; without it the node succeeds at once with the child's id."""

    workflow: str
    version: int | None
    input: dict[str, Any]
    wait: bool = True


@dataclass(frozen=True, slots=True)
class ChildState:
    status: str
    output: Any = None
    error: Any = None

    @property
    def ended(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


class Children(Protocol):
    """Child executions an executor that runs several (``foreach`` over a workflow) starts and
    watches itself: given by the engine on a worker, None elsewhere."""

    def start(self, request: StartChild, key: str) -> str:
        """Starts the child (once per ``key`` in this attempt, however often it is delivered); its id."""

    def states(self, ids: list[str]) -> dict[str, ChildState]:
        """How the children are doing now."""


@dataclass(slots=True)
class NodeContext:
    execution_id: str
    tenant_id: str
    node_id: str
    attempt: int
    timeout: float | None
    expressions: dict[str, Any]
    inputs: dict[str, Any]  # outputs of the nodes whose edges into this one were taken
    depth: int = 0
    started: float = field(default_factory=time.monotonic)
    cancelled: Callable[[], bool] = lambda: False
    # Masks the tenant's secret values in a value: for anything an executor writes outside the
    # stored events (a log line), which the engine redacts by itself.
    redact: Callable[[Any], Any] = lambda value: value
    # The attempt whose call this one makes again: its worker died and the attempt was requeued.
    redelivery_of: int | None = None
    # When the attempt was due, for a node that waited for its time (a delay, wait_until).
    scheduled_at: datetime | None = None
    # The node's circuit breaker (the engine's business: executors leave it alone).
    breaker: Any = None
    children: Children | None = None
    # Inside ``foreach``: the index of the item this call is for.
    item_index: int | None = None

    @property
    def idempotency_key(self) -> str:
        """Names this call to a remote service, which may deduplicate on it: the run of an
        attempt whose worker died keeps that attempt's key; a retry after a failure has its own.
        ``<execution id>:<node id>:<attempt>``, and ``:<item index>`` inside ``foreach``."""
        key = f"{self.execution_id}:{self.node_id}:{self.redelivery_of or self.attempt}"
        return key if self.item_index is None else f"{key}:{self.item_index}"

    @property
    def upstream(self) -> Any:
        return self.expressions.get("upstream")

    def remaining(self, default: float = 30.0) -> float:
        if self.timeout is None:
            return default
        left = self.timeout - (time.monotonic() - self.started)
        if left <= 0:
            raise NodeTimeout(f"Node {self.node_id} timed out after {self.timeout:g}s.")
        return left

    def _budget(self) -> AbstractContextManager[Any]:
        """The expressions' CPU budget, ended early by the node's timeout."""
        if self.timeout is None:
            return budget()
        return budget(max(self.timeout - (time.monotonic() - self.started), 0.0))

    def render(self, value: Any, /, **names: Any) -> Any:
        with self._budget():
            return render_value(value, {**self.expressions, **names} if names else self.expressions)

    def evaluate(self, expression: str, /, **names: Any) -> Any:
        with self._budget():
            return evaluate(expression, {**self.expressions, **names} if names else self.expressions)


@contextmanager
def config_field(*path: str | int) -> Iterator[None]:
    """Names where in the node an expression failing inside the block sits (``config.cases``)."""
    try:
        yield
    except ExpressionError as exc:
        exc.path[:0] = path
        raise


class Executor:
    type: ClassVar[str] = ""
    light: ClassVar[bool] = False
    queue: ClassVar[str] = "io"
    raw_keys: ClassVar[frozenset[str]] = frozenset()
    # True when ``run`` reads only its rendered config and the context's ids, timeout and
    # depth, never ``ctx.expressions`` or ``ctx.inputs``: a worker may then run it from the
    # config the orchestrator rendered and sent along, without re-reading the execution.
    stateless: ClassVar[bool] = False

    def defer(self, config: dict[str, Any], ctx: NodeContext) -> float:
        return 0.0

    @staticmethod
    def port(output: Any) -> str:
        """The labelled output port this output takes (a condition's ``true``, a switch case)."""
        return ("true" if output else "false") if isinstance(output, bool) else str(output)

    def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        raise NotImplementedError

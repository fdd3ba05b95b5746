"""The execution's state as a pure fold over its events.

``apply_event`` is the only place that knows how an event changes the state. Live writes apply
each event to the state loaded from the rows and then save the rows; ``replay`` folds the whole
log from an empty state. Both must agree, which the tests check on many executions.
No Django here: the state is plain dataclasses, mapped to and from rows in ``store``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EXECUTION_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
NODE_TERMINAL = frozenset({"succeeded", "failed", "skipped", "timed_out", "cancelled"})


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    node_id: str
    payload: dict[str, Any]
    time: datetime


@dataclass(slots=True)
class NodeState:
    node_id: str
    order: int = 0
    status: str = "pending"
    attempt: int = 0
    input: Any = None
    output: Any = None
    # The event whose payload holds ``output`` (the node run's row reads it from there).
    output_seq: int | None = None
    error: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_until: datetime | None = None
    scheduled_at: datetime | None = None
    first_attempt: int = 1
    reused_from: Any = None
    limit_key: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in NODE_TERMINAL


NODE_FIELDS = tuple(f for f in NodeState.__slots__ if f not in ("node_id",))  # type: ignore[attr-defined]


@dataclass(slots=True)
class ExecutionState:
    status: str = "pending"
    input: Any = None
    output: Any = None
    error: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total_steps: int = 0
    last_seq: int = 0
    # Set while the execution runs its compensation steps, and after: {"error", "nodes", "status"}.
    compensation: Any = None
    nodes: dict[str, NodeState] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in EXECUTION_TERMINAL


EXECUTION_FIELDS = ("status", "input", "output", "error", "started_at", "finished_at", "total_steps", "last_seq",
                    "compensation")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _node(state: ExecutionState, event: Event) -> NodeState:
    node = state.nodes.get(event.node_id)
    if node is None:
        node = state.nodes[event.node_id] = NodeState(event.node_id, order=len(state.nodes))
    return node


def _finish(node: NodeState, status: str, event: Event) -> None:
    if "attempt" in event.payload:
        # A node run inline by the orchestrator: one event records its start and its end.
        node.attempt = event.payload["attempt"]
        node.started_at = event.time
    node.status = status
    node.finished_at = event.time
    node.lease_until = None


def apply_event(state: ExecutionState, event: Event) -> ExecutionState:
    """Applies one event to the state in place and returns it."""
    if event.seq != state.last_seq + 1:
        raise ValueError(f"event #{event.seq} follows #{state.last_seq}")
    state.last_seq = event.seq
    payload = event.payload
    kind = event.type

    if kind.startswith("execution."):
        if kind == "execution.created":
            state.input = payload.get("input")
            for order, node_id in enumerate(payload.get("nodes", [])):
                state.nodes[node_id] = NodeState(node_id, order=order)
            state.total_steps = len(state.nodes)
        elif kind == "execution.started":
            state.status, state.started_at = "running", event.time
        elif kind == "execution.succeeded":
            state.status, state.output, state.finished_at = "succeeded", payload.get("output"), event.time
        elif kind == "execution.compensating":
            # Failing: the compensation steps run (status stays running) before execution.failed.
            state.compensation = {"error": payload.get("error"), "nodes": payload.get("nodes", []),
                                  "status": "running", "ending": payload.get("ending", "failed")}
        elif kind == "execution.failed":
            state.status, state.error, state.finished_at = "failed", payload.get("error"), event.time
            if state.compensation is not None:
                state.compensation = {**state.compensation, "status": payload.get("compensation", "completed")}
        elif kind == "execution.cancelled":
            state.status, state.finished_at = "cancelled", event.time
            state.error = payload.get("error")
            if state.compensation is not None:
                state.compensation = {**state.compensation, "status": payload.get("compensation", "cancelled")}
        elif kind == "execution.paused":
            state.status = "paused"
        elif kind == "execution.resumed":
            state.status = "running"
        elif kind == "execution.timeout_passed":
            pass  # the workflow's timeout passed with timeout_action: ignore; nothing changes
        elif kind == "execution.retried":
            # A failed execution goes on from its failed nodes (each reset by a node.reset).
            state.status, state.error, state.finished_at, state.compensation = "running", None, None, None
        else:
            raise ValueError(f"unknown event type {kind!r}")
        return state

    node = _node(state, event)
    if kind == "node.scheduled":
        node.status = "pending"
        node.scheduled_at = _when(payload.get("scheduled_at"))
        node.limit_key = payload.get("limit")  # a start its rate limit promised for then
    elif kind == "node.started":
        node.status = "running"
        node.limit_key = payload.get("limit")
        node.attempt = payload["attempt"]
        node.input = payload.get("input")
        node.error = None
        node.started_at, node.finished_at = event.time, None
        node.lease_until = _when(payload.get("lease_until"))
    elif kind == "node.succeeded":
        node.output, node.output_seq, node.error = payload.get("output"), event.seq, None
        if isinstance(payload.get("fallback"), str):
            # It failed, and its fallback node (or fallback_output) stands in for it: what failed is kept.
            node.error = {**(payload.get("replaced_error") or {}), "replaced_by": payload["fallback"]}
        if "input" in payload:
            node.input = payload["input"]
        _finish(node, "succeeded", event)
    elif kind in ("node.failed", "node.timed_out"):
        node.error = payload.get("error")
        if "input" in payload:
            node.input = payload["input"]
        _finish(node, "failed" if kind == "node.failed" else "timed_out", event)
    elif kind == "node.falling_back":
        # Failed, and waiting for its fallback node, whose outcome becomes its own.
        node.status = "falling_back"
        node.error = payload.get("error")
        node.lease_until = None
        if "input" in payload:
            node.input = payload["input"]
        if "attempt" in payload:
            node.attempt, node.started_at = payload["attempt"], event.time
    elif kind == "node.waiting":
        # Waiting for a signal (an approval): no worker holds it. Its lease is the end of its
        # wait, so the sweep times it out even if the timer was lost with its process. Or
        # waiting for its limit (``limit``), in line from ``since``.
        node.status = "waiting"
        node.lease_until = _when(payload.get("timeout_at"))
        node.limit_key = payload.get("limit")
        if "since" in payload:
            node.scheduled_at = _when(payload["since"])
    elif kind == "node.retrying":
        node.status = "retrying"
        node.limit_key = None
        node.error = payload.get("error")
        node.scheduled_at = _when(payload.get("scheduled_at"))
        node.lease_until = None
    elif kind == "node.requeued":
        node.status = "pending"
        node.limit_key = None
        node.lease_until = None
        node.scheduled_at = _when(payload.get("scheduled_at"))
    elif kind == "node.reset":
        # Run again: after an execution retry, from the attempt after its last.
        node.status = "pending"
        node.output = node.output_seq = node.error = node.scheduled_at = node.lease_until = None
        node.started_at = node.finished_at = None
        node.first_attempt = node.attempt + 1
        node.limit_key = None
    elif kind == "node.reused":
        # A replay reuses this node's output from the execution it replays: it does not run.
        node.status, node.output, node.output_seq, node.error = "succeeded", payload.get("output"), event.seq, None
        node.reused_from = payload.get("from")
        node.started_at = node.finished_at = event.time
    elif kind == "node.skipped":
        _finish(node, "skipped", event)
    elif kind == "node.cancelled":
        _finish(node, "cancelled", event)
    else:
        raise ValueError(f"unknown event type {kind!r}")
    return state


def fold(events: list[Event]) -> ExecutionState:
    state = ExecutionState()
    for event in events:
        apply_event(state, event)
    return state

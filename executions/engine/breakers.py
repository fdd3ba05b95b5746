"""Circuit breakers: stop calling a service that keeps failing, probe it again after a while.

A breaker is keyed by tenant and ``key``: the node's ``circuit_breaker.key`` when given (nodes
that call the same service share it), else ``<workflow>:<node id>``. Its state is shared by
every web and worker process through the ``BreakerStore`` port (Redis when configured, process
memory in the embedded mode), wired at start-up by ``executions.apps``.

States: ``closed`` (calls go through; ``failure_threshold`` consecutive failures, or a failure
rate of at least ``failure_rate_threshold`` over the last ``window`` calls once there are that
many, open it) → ``open`` (calls are refused without being made, ``circuit_open``, until
``recovery_timeout`` has passed) → ``half_open`` (up to ``half_open_max_calls`` probe calls are let
through; as many successes close it, one failure opens it again).

The engine asks ``admit`` before an attempt makes its call and reports the attempt's outcome
with ``record``; both return what changed, which the engine writes into the node's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from workflows.spec.models import CircuitBreaker


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    state: str  # closed | open | half_open: the state the call was admitted (or refused) in
    retry_at: float | None = None  # when refused: when the breaker will let a probe through (epoch seconds)
    changed: str | None = None  # the state it moved to by this admission (open -> half_open), if any


@dataclass(frozen=True, slots=True)
class BreakerState:
    key: str
    state: str
    failures: int  # consecutive failures while closed
    calls: int  # calls counted in the window
    window_failures: int
    opened_at: float | None
    half_open_calls: int
    updated_at: float


class BreakerStore(Protocol):
    def admit(self, tenant_id: Any, key: str, policy: CircuitBreaker) -> Admission:
        """Whether an attempt may make its call now; reserves a probe slot when half open."""

    def record(self, tenant_id: Any, key: str, policy: CircuitBreaker, ok: bool) -> str | None:
        """Counts an admitted call's outcome; returns the state the breaker moved to, if it moved."""

    def states(self, tenant_id: Any) -> list[BreakerState]:
        """Every breaker of the tenant that has seen a call."""

    def reset(self, tenant_id: Any, key: str) -> bool:
        """Closes the breaker and forgets its counts; False when the tenant has no such breaker."""


def breaker_key(policy: CircuitBreaker, workflow: str, node_id: str) -> str:
    return policy.key or f"{workflow}:{node_id}"

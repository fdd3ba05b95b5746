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

The rules live once, in the pure functions ``decide_admission`` and ``decide_outcome`` (a stored
state or none, the policy and ``now`` in, the decision and the state to store out); every store
runs them, in its own way of making a read and a write one atomic change:

- A closed breaker admits every call; each admitted call's outcome is counted: ``failures`` (in a
  row), and the last ``window`` outcomes as bits (``recent``, the newest in bit 0, 1 for a
  failure), of which ``calls`` and ``window_failures`` are the counts. A failure opens it when
  it makes ``failure_threshold`` in a row, or when ``calls`` has reached ``window`` and
  ``window_failures / calls`` is at least ``failure_rate_threshold``.
- An open breaker refuses until ``retry_at`` (``opened_at + recovery_timeout``, fixed when it
  opened). An outcome reported while it is open (a call admitted before it opened) changes
  nothing: the evidence that opened it is newer.
- The first admission at or after ``retry_at`` turns it half open and is the first probe. Half
  open, ``admit`` reserves one of ``half_open_max_calls`` probe slots (``half_open_calls``: probes
  let through whose outcome has not come back); when all are taken it refuses, with ``retry_at``
  the time the slots are given up as lost (``probed_at + recovery_timeout``: a worker that died
  mid-probe never reports, and must not keep the breaker half open for ever). Each success
  frees its slot and counts towards ``half_open_max_calls`` successes, which close the breaker
  with its counts forgotten; one failure opens it again.
- ``reset`` closes it and forgets its counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from workflows.spec.models import CircuitBreaker

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


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
    half_open_calls: int  # half open: probes let through whose outcome has not come back
    updated_at: float
    retry_at: float | None = None  # open: when it lets the first probe through
    half_open_successes: int = 0
    probed_at: float | None = None  # half open: when the last probe was let through
    recent: int = 0  # the last ``calls`` outcomes, newest in bit 0 (1: a failure)


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


# --- The state machine: pure functions, the one place of the rules --------------------------


def closed_state(key: str, now: float) -> BreakerState:
    """A breaker that has counted nothing (also what ``reset`` leaves)."""
    return BreakerState(key=key, state=CLOSED, failures=0, calls=0, window_failures=0, opened_at=None,
                        half_open_calls=0, updated_at=now)


def decide_admission(
    current: BreakerState | None, key: str, policy: CircuitBreaker, now: float
) -> tuple[Admission, BreakerState | None]:
    """Whether a call may be made at ``now``, and the state to store (None: nothing changed)."""
    if current is None or current.state == CLOSED:
        return Admission(allowed=True, state=CLOSED), None
    if current.state == OPEN:
        retry_at = _retry_at(current, policy)
        if now < retry_at:
            return Admission(allowed=False, state=OPEN, retry_at=retry_at), None
        probing = replace(current, state=HALF_OPEN, retry_at=None, half_open_calls=1, half_open_successes=0,
                          probed_at=now, updated_at=now)
        return Admission(allowed=True, state=HALF_OPEN, changed=HALF_OPEN), probing
    in_flight = current.half_open_calls
    lost_at = (current.probed_at if current.probed_at is not None else current.updated_at) + policy.recovery_timeout
    if in_flight >= policy.half_open_max_calls and now >= lost_at:
        in_flight = 0  # the probes never reported (their worker died): let new ones through
    if in_flight >= policy.half_open_max_calls:
        return Admission(allowed=False, state=HALF_OPEN, retry_at=lost_at), None
    return Admission(allowed=True, state=HALF_OPEN), replace(current, half_open_calls=in_flight + 1, probed_at=now,
                                                              updated_at=now)


def decide_outcome(
    current: BreakerState | None, key: str, policy: CircuitBreaker, ok: bool, now: float
) -> tuple[str | None, BreakerState | None]:
    """Counts an admitted call's outcome: the state the breaker moved to (None: it did not
    move), and the state to store (None: nothing changed)."""
    state = current or closed_state(key, now)
    if state.state == OPEN:
        return None, None
    if state.state == HALF_OPEN:
        if not ok:
            return OPEN, _opened(replace(state, failures=state.failures + 1), policy, now)
        successes = state.half_open_successes + 1
        if successes >= policy.half_open_max_calls:
            return CLOSED, closed_state(state.key, now)
        return None, replace(state, half_open_calls=max(0, state.half_open_calls - 1),
                             half_open_successes=successes, updated_at=now)
    mask = (1 << policy.window) - 1
    recent = ((state.recent << 1) | (0 if ok else 1)) & mask
    calls = min(state.calls + 1, policy.window)
    counted = replace(state, failures=0 if ok else state.failures + 1, calls=calls, recent=recent,
                      window_failures=recent.bit_count(), updated_at=now)
    if not ok and _trips(counted, policy):
        return OPEN, _opened(counted, policy, now)
    return None, counted


def _trips(state: BreakerState, policy: CircuitBreaker) -> bool:
    if state.failures >= policy.failure_threshold:
        return True
    rate = policy.failure_rate_threshold
    # A division, not ``failures >= rate * calls``: 0.3 * 10 is 3.0000000000000004 in floats,
    # while 3 / 10 is the same float as 0.3.
    return rate is not None and state.calls >= policy.window and state.window_failures / state.calls >= rate


def _opened(state: BreakerState, policy: CircuitBreaker, now: float) -> BreakerState:
    # The counts that opened it stay, to be shown; they are forgotten when it closes again.
    return replace(state, state=OPEN, opened_at=now, retry_at=now + policy.recovery_timeout, half_open_calls=0,
                   half_open_successes=0, probed_at=None, updated_at=now)


def _retry_at(state: BreakerState, policy: CircuitBreaker) -> float:
    if state.retry_at is not None:
        return state.retry_at
    return (state.opened_at if state.opened_at is not None else state.updated_at) + policy.recovery_timeout


# --- The embedded store -----------------------------------------------------------------------


class MemoryBreakerStore:
    """Breakers in this process's memory (the embedded mode, where one process runs everything),
    behind one lock: a decision and its write are one step."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], BreakerState] = {}

    def admit(self, tenant_id: Any, key: str, policy: CircuitBreaker) -> Admission:
        with self._lock:
            name = (str(tenant_id), key)
            admission, new = decide_admission(self._states.get(name), key, policy, self._clock())
            if new is not None:
                self._states[name] = new
            return admission

    def record(self, tenant_id: Any, key: str, policy: CircuitBreaker, ok: bool) -> str | None:
        with self._lock:
            name = (str(tenant_id), key)
            moved, new = decide_outcome(self._states.get(name), key, policy, ok, self._clock())
            if new is not None:
                self._states[name] = new
            return moved

    def states(self, tenant_id: Any) -> list[BreakerState]:
        tenant = str(tenant_id)
        with self._lock:
            return sorted((state for (owner, _), state in self._states.items() if owner == tenant),
                          key=lambda state: state.key)

    def reset(self, tenant_id: Any, key: str) -> bool:
        with self._lock:
            name = (str(tenant_id), key)
            if name not in self._states:
                return False
            self._states[name] = closed_state(key, self._clock())
            return True

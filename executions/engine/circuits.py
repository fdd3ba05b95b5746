"""Where the engine meets the circuit breakers (``breakers``): an attempt asks before it makes
its call, is refused with ``circuit_open`` (no call made) while its breaker is open, and reports
how its call went. A state change the attempt caused is written into its outcome event.

A breaker store that cannot be reached (Redis down) lets calls through: a breaker protects a
remote service; it must not stop a workflow whose service is fine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from executions.engine.breakers import Admission
from executions.engine.ports import breaker_store
from executions.executors import NodeContext, PermanentError
from workflows.spec.models import CircuitBreaker

logger = logging.getLogger(__name__)

# Failures that say nothing about the remote service: they neither trip nor close a breaker.
NOT_THE_SERVICE = frozenset({"circuit_open", "expression_error", "expression_limit", "secret_misuse",
                             "invalid_config", "cancelled"})


@dataclass(frozen=True, slots=True)
class BreakerPlan:
    key: str
    policy: CircuitBreaker

    def portable(self) -> dict[str, Any]:
        return {"key": self.key, "policy": self.policy.model_dump(mode="json")}

    @classmethod
    def from_portable(cls, data: dict[str, Any] | None) -> BreakerPlan | None:
        return cls(data["key"], CircuitBreaker.model_validate(data["policy"])) if data else None


class CircuitOpen(PermanentError):
    code = "circuit_open"


def admit(ctx: NodeContext) -> Admission | None:
    """None when the node has no breaker (or its store is unreachable: the call goes through)."""
    plan: BreakerPlan | None = ctx.breaker
    if plan is None:
        return None
    try:
        return breaker_store().admit(ctx.tenant_id, plan.key, plan.policy)
    except Exception:
        logger.warning("Circuit breaker %s: the store is unreachable; the call goes through", plan.key, exc_info=True)
        return None


@contextmanager
def preloaded(tenant_id: Any, plans: Iterable[BreakerPlan | None]) -> Iterator[None]:
    """A block in which the breakers of ``plans`` were read at once (one round trip), for the
    admissions of the nodes a step runs inline (see ``RedisBreakerStore.preloaded``); nothing
    is read when there is no breaker, or the store reads nothing ahead (process memory)."""
    keys = [plan.key for plan in plans if plan is not None]
    preload = getattr(breaker_store(), "preloaded", None) if keys else None
    with ExitStack() as stack:
        if preload is not None:
            try:
                stack.enter_context(preload(tenant_id, keys))
            except Exception:
                logger.warning("Circuit breakers: the store is unreachable; each call asks it again", exc_info=True)
        yield


def refusal(ctx: NodeContext, admission: Admission) -> CircuitOpen:
    plan: BreakerPlan = ctx.breaker
    when = datetime.fromtimestamp(admission.retry_at, UTC).isoformat() if admission.retry_at else None
    return CircuitOpen(f"The circuit breaker `{plan.key}` is {admission.state.replace('_', ' ')}: the call was not "
                       f"made{f'; calls are tried again from {when}' if when else ''}.",
                       details={"breaker": plan.key, "state": admission.state, "retry_at": when})


def record(ctx: NodeContext, admission: Admission | None, error: Any) -> dict[str, Any] | None:
    """Reports an admitted call's outcome (``error`` None: it went well); returns the breaker's
    change of state, for the node's event, or None."""
    if admission is None or not admission.allowed:
        return None
    plan: BreakerPlan = ctx.breaker
    moved = admission.changed
    if error is None or getattr(error, "code", None) not in NOT_THE_SERVICE:
        try:
            moved = breaker_store().record(ctx.tenant_id, plan.key, plan.policy, error is None) or moved
        except Exception:
            logger.warning("Circuit breaker %s: the store is unreachable; the outcome is not counted", plan.key,
                           exc_info=True)
    return {"breaker": plan.key, "state": moved} if moved else None

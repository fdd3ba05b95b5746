"""Bulkheads and rate limits: how many attempts of a node (or of every node naming one ``limit``
in a tenant) run at once, and how many start per period, across every worker.

The truth is in the database, next to the journal: the attempts holding a limit are the node
runs ``running`` with its ``limit_key``, and a rate limit's token bucket is its ``Limit`` row.
A start is decided with that row locked (``SELECT ... FOR UPDATE``), in the transaction of the
step that starts the node, so two orchestrators never both take the last slot; executions are
always locked before limits, so the locks cannot deadlock.

Over the limit, work waits instead of failing, in order and holding no worker: over a
concurrency limit the node waits (``node.waiting`` with ``limit``) until a holder ends and wakes
the oldest waiter; over a rate the node is scheduled (``node.scheduled`` with ``limit``) at the
time its token comes, the bucket going negative by the starts it promised, so they keep the order
they came in. The lease sweep wakes waiters too, should a wake-up be lost with its process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from executions.models import Limit, NodeRun
from workflows.spec.models import RateLimit


@dataclass(frozen=True, slots=True)
class LimitPlan:
    name: str  # the limit's name, or <workflow>:<node id>
    concurrency: int | None
    rate: RateLimit | None

    def key(self, tenant_id: object) -> str:
        return f"{tenant_id}:{self.name}"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Literal["go", "wait", "later"]
    key: str
    at: float | None = None  # "later": when (epoch seconds)


def decide(plan: LimitPlan, key: str, *, running_here: int = 0, promised: bool = False) -> Decision:
    """Whether an attempt under ``plan`` may start now. ``running_here``: holders this step
    started or ended that the rows do not show yet (+ started, - ended); ``promised``: the rate
    limit gave this start its token already (it was scheduled for now)."""
    row = _locked(key, plan)
    if plan.concurrency is not None:
        holders = NodeRun.objects.filter(limit_key=key, status="running").count() + running_here
        if holders >= plan.concurrency:
            return Decision("wait", key)
    if plan.rate is not None and not promised:
        now = time.time()
        starts = [moment for moment in row.starts if moment > now - plan.rate.per]
        at = now
        if len(starts) >= plan.rate.requests:  # the start `requests` back must be `per` ago
            at = max(now, starts[-plan.rate.requests] + plan.rate.per)
        starts = [*starts, at][-plan.rate.requests:]
        Limit.objects.filter(pk=row.pk).update(starts=starts)
        if at > now:
            return Decision("later", key, at)
    return Decision("go", key)


def _locked(key: str, plan: LimitPlan) -> Limit:
    row, created = Limit.objects.get_or_create(key=key)
    if created:
        return row
    return Limit.objects.select_for_update().get(pk=row.pk)


def waiters(key: str, count: int) -> list[str]:
    """The executions of the ``count`` oldest nodes waiting for the limit, oldest first."""
    rows = (NodeRun.objects.filter(limit_key=key, status="waiting").order_by("scheduled_at", "pk")
            .values_list("execution_id", flat=True)[:count])
    return [str(execution_id) for execution_id in rows]


def waiting_executions(batch: int = 200) -> list[str]:
    """Executions with a node waiting for a limit (the sweep's wake-up of last resort)."""
    rows = (NodeRun.objects.filter(status="waiting", limit_key__isnull=False).order_by("scheduled_at")
            .values_list("execution_id", flat=True)[:batch])
    return list(dict.fromkeys(str(execution_id) for execution_id in rows))

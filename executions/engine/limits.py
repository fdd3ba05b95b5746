"""Bulkheads and rate limits: how many attempts of a node (or of every node naming one ``limit``
in a tenant) run at once, and how many start per period, across every worker.

The truth is in the database, next to the journal: the attempts holding a limit are the node
runs ``running`` with its ``limit_key``, and a rate limit's token bucket is its ``Limit`` row.
A start is decided with that row locked (``SELECT ... FOR UPDATE``), in the transaction of the
step that starts the node, so two orchestrators never both take the last slot; executions are
always locked before limits, and a step locks the rows of every limit it may decide on at once,
in key order (``LimitBook``), so its decisions cost one round trip, not three statements each.

Over the limit, work waits instead of failing, in order and holding no worker: over a
concurrency limit the node waits (``node.waiting`` with ``limit``) until a holder ends and wakes
the oldest waiter; over a rate the node is scheduled (``node.scheduled`` with ``limit``) at the
time its token comes, the bucket going negative by the starts it promised, so they keep the order
they came in. The lease sweep wakes waiters too, should a wake-up be lost with its process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from django.db import connection

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


@dataclass(slots=True)
class _Held:
    """A limit row this step holds locked: its holders as the rows showed them once locked, and
    its rate limit's starts (``changed``: to write back with the step)."""

    holders: int
    starts: list[float]
    changed: bool = False


class LimitBook:
    """The limits one step decides on, each locked and read once for the whole step.

    While a step holds a limit's row locked no other step can start a holder of it (a holder
    ends without the lock, so the count read once can only be too high, never too low), and
    what this step itself starts or ends it counts apart (``running_here``): one read of each
    row serves every decision of the step. The rows of the limits a step may decide on are
    locked together, in key order, in one round trip (``lock``): a chain of 40 nodes each under
    a limit costs two statements, not three per node. The rate limits' new starts are written
    when the step's journal is flushed (``write``).
    """

    def __init__(self) -> None:
        self._rows: dict[str, _Held] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def lock(self, keys: Iterable[str]) -> None:
        wanted = sorted(set(keys) - self._rows.keys())
        if not wanted:
            return
        if connection.vendor != "postgresql":
            for key in wanted:
                row, created = Limit.objects.get_or_create(key=key)
                if not created:
                    row = Limit.objects.select_for_update().get(pk=row.pk)
                holders = NodeRun.objects.filter(limit_key=key, status="running").count()
                self._rows[key] = _Held(holders, list(row.starts or []))
            return
        found = _lock_rows(wanted)
        missing = [key for key in wanted if key not in found]
        if missing:  # first use of a limit: its row is made (by us or by a step racing us), then locked
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {_LIMIT} (key, starts) SELECT k, '[]'::jsonb FROM unnest(%s::text[]) "
                               f"AS k ORDER BY k ON CONFLICT (key) DO NOTHING", [missing])
            found.update(_lock_rows(missing))
        for key in wanted:
            holders, starts = found[key]
            self._rows[key] = _Held(holders, starts)

    def decide(self, plan: LimitPlan, key: str, *, running_here: int = 0, promised: bool = False) -> Decision:
        """Whether an attempt under ``plan`` may start now. ``running_here``: holders this step
        started or ended that the rows do not show yet (+ started, - ended); ``promised``: the
        rate limit gave this start its token already (it was scheduled for now)."""
        self.lock([key])
        held = self._rows[key]
        if plan.concurrency is not None and held.holders + running_here >= plan.concurrency:
            return Decision("wait", key)
        if plan.rate is not None and not promised:
            now = time.time()
            starts = [moment for moment in held.starts if moment > now - plan.rate.per]
            at = now
            if len(starts) >= plan.rate.requests:  # the start `requests` back must be `per` ago
                at = max(now, starts[-plan.rate.requests] + plan.rate.per)
            held.starts, held.changed = [*starts, at][-plan.rate.requests:], True
            if at > now:
                return Decision("later", key, at)
        return Decision("go", key)

    def write(self) -> None:
        """Writes the rate limits' starts this step changed (with the step's journal)."""
        changed = [(key, held) for key, held in self._rows.items() if held.changed]
        for key, held in changed:
            Limit.objects.filter(key=key).update(starts=held.starts)
            held.changed = False


_LIMIT = Limit._meta.db_table
_RUN = NodeRun._meta.db_table


def _lock_rows(keys: list[str]) -> dict[str, tuple[int, list[float]]]:
    """Locks the limit rows of ``keys`` (in key order) and then counts their running holders:
    two statements, sent together. The count is a statement of its own, after the lock: its
    snapshot sees the holders a step that held a row before us committed."""
    connection.ensure_connection()
    locked, counted = connection.cursor(), connection.cursor()
    try:
        with connection.wrap_database_errors, connection.connection.pipeline():
            locked.execute(f"SELECT key, starts FROM {_LIMIT} WHERE key = ANY(%s) ORDER BY key FOR UPDATE", [keys])
            counted.execute(f"SELECT limit_key, count(*) FROM {_RUN} WHERE limit_key = ANY(%s) "
                            f"AND status = 'running' GROUP BY limit_key", [keys])
        starts = {key: list((json.loads(value) if isinstance(value, str) else value) or [])
                  for key, value in locked.fetchall()}
        holders = dict(counted.fetchall())
    finally:
        locked.close()
        counted.close()
    return {key: (int(holders.get(key, 0)), value) for key, value in starts.items()}


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

"""Checks the stored projection against the event log it was written from.

The rows the API reads (an execution and its node runs) are a projection of the execution's
events, saved in the same transaction. ``verify_executions`` folds each log again with the
projection's own ``fold`` and compares the result with the rows, field by field
(``EXECUTION_FIELDS``, ``NODE_FIELDS``): a difference means a row was written behind the
engine's back, or that the live writes and the fold disagree.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from django.db.models import QuerySet

from executions.engine.projection import (
    EXECUTION_FIELDS,
    EXECUTION_TERMINAL,
    NODE_FIELDS,
    ExecutionState,
    fold,
)
from executions.engine.store import event_of, state_of
from executions.models import Execution, ExecutionEvent, NodeRun
from mbflow_site.errors import ApiError, NotFound
from workflows.models import Tenant

# Executions read per round of queries: memory holds this many projections (and one log at a time).
BATCH_SIZE = 200
# Reads of an execution that keeps being written to before it is reported as not checked.
READS = 3
# A field a row may hold without an event, by the node's status: heartbeats move the lease of a
# running attempt on its row alone (``claim_node_runs``, ``renew_leases``).
WRITTEN_WITHOUT_EVENTS: dict[str, frozenset[str]] = {"running": frozenset({"lease_until"})}
SHOWN_CHARS = 200


@dataclass(frozen=True, slots=True)
class Difference:
    node_id: str  # "" for the execution's own row
    field: str
    stored: Any
    replayed: Any


@dataclass(frozen=True, slots=True)
class Verification:
    execution_id: str
    differences: tuple[Difference, ...] = ()
    broken_log: str = ""  # why the log could not be folded (a gap in ``seq``, an unknown type)
    unsettled: bool = False  # written to during every read: not checked

    @property
    def matches(self) -> bool:
        return not self.differences and not self.broken_log and not self.unsettled

    def lines(self) -> list[str]:
        """One line per difference: execution id, node id (``-`` for the execution), field,
        stored and replayed values."""
        if self.unsettled:
            return [f"{self.execution_id} -: not checked, written to while it was read"]
        if self.broken_log:
            return [f"{self.execution_id} - log: {self.broken_log}"]
        return [f"{self.execution_id} {d.node_id or '-'} {d.field}: stored {shown(d.stored)}, "
                f"replayed {shown(d.replayed)}" for d in self.differences]


@dataclass(slots=True)
class Tally:
    checked: int = 0
    matching: int = 0
    differing: int = 0
    unsettled: int = 0

    def add(self, verification: Verification) -> None:
        if verification.unsettled:
            self.unsettled += 1
            return
        self.checked += 1
        if verification.matches:
            self.matching += 1
        else:
            self.differing += 1

    def __str__(self) -> str:
        text = f"checked {self.checked} execution(s): {self.matching} matching, {self.differing} differing"
        if self.unsettled:
            text += f"; {self.unsettled} not checked (written to while read)"
        return text


def shown(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def same(a: Any, b: Any) -> bool:
    """Equal as stored JSON values are: ``1``, ``1.0`` and ``true`` differ (Python's ``==``
    takes them as one)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def compare(stored: ExecutionState, replayed: ExecutionState) -> list[Difference]:
    """The fields in which the stored projection differs from the replayed one."""
    differences = [Difference("", name, getattr(stored, name), getattr(replayed, name))
                   for name in EXECUTION_FIELDS if not same(getattr(stored, name), getattr(replayed, name))]
    node_ids = [*stored.nodes, *(node_id for node_id in replayed.nodes if node_id not in stored.nodes)]
    for node_id in node_ids:
        row, rebuilt = stored.nodes.get(node_id), replayed.nodes.get(node_id)
        if row is None or rebuilt is None:
            differences.append(Difference(node_id, "node run", "missing" if row is None else "present",
                                          "missing" if rebuilt is None else "present"))
            continue
        unlogged = WRITTEN_WITHOUT_EVENTS.get(row.status, frozenset()) if row.status == rebuilt.status else frozenset()
        differences += [Difference(node_id, name, getattr(row, name), getattr(rebuilt, name))
                        for name in NODE_FIELDS
                        if name not in unlogged and not same(getattr(row, name), getattr(rebuilt, name))]
    return differences


def executions_to_verify(*, execution_id: str | None = None, tenant: str | None = None,
                         since: datetime | None = None, include_running: bool = False) -> QuerySet[Execution]:
    """The executions a check covers: one by id (whatever its status), or those of a tenant
    (by slug) and/or created since a time; finished ones only unless ``include_running``."""
    executions = Execution.objects.all()
    if execution_id is not None:
        try:
            pk = uuid.UUID(str(execution_id))
        except ValueError:
            raise ApiError(f"{execution_id!r} is not an execution id.", code="validation_error",
                           details={"fields": {"execution": ["An execution id (a UUID)."]}}) from None
        executions = executions.filter(pk=pk)
        if not executions.exists():
            raise NotFound(f"No execution {pk}.")
    elif not include_running:
        executions = executions.filter(status__in=EXECUTION_TERMINAL)
    if tenant is not None:
        if not Tenant.objects.filter(slug=tenant).exists():
            raise NotFound(f"No tenant {tenant!r}.")
        executions = executions.filter(tenant__slug=tenant)
    if since is not None:
        executions = executions.filter(created_at__gte=since)
    return executions


def verify_executions(executions: QuerySet[Execution], *, limit: int | None = None,
                      batch_size: int = BATCH_SIZE) -> Iterator[Verification]:
    """Verifies ``executions`` (at most ``limit``) in batches of ``batch_size``, in id order."""
    executions = executions.order_by("pk")
    after: Any = None
    left = limit
    while left is None or left > 0:
        page = executions if after is None else executions.filter(pk__gt=after)
        ids = list(page.values_list("pk", flat=True)[:batch_size if left is None else min(batch_size, left)])
        if not ids:
            return
        after = ids[-1]
        if left is not None:
            left -= len(ids)
        for _ in range(READS):
            checked, ids = _verify_batch(ids)
            yield from checked
            if not ids:
                break
        yield from (Verification(str(pk), unsettled=True) for pk in ids)


def _verify_batch(ids: list[Any]) -> tuple[list[Verification], list[Any]]:
    """The verifications of the executions in ``ids``, and the ids of those written to meanwhile."""
    rows = {execution.pk: execution for execution in Execution.objects.filter(pk__in=ids).only("pk", *EXECUTION_FIELDS)}
    runs: dict[Any, list[NodeRun]] = defaultdict(list)
    for run in NodeRun.objects.filter(execution_id__in=list(rows)):
        runs[run.execution_id].append(run)
    replayed: dict[Any, ExecutionState | str] = {}
    events = ExecutionEvent.objects.filter(execution_id__in=list(rows)).order_by("execution_id", "seq")
    for execution_id, log in groupby(events.iterator(chunk_size=2000), key=lambda event: event.execution_id):
        replayed[execution_id] = _replay(event_of(event) for event in log)
    # Every write of an execution's rows appends an event and moves ``last_seq`` in the same
    # transaction, so a ``last_seq`` unchanged since the rows were read means that the node
    # runs and events read in between belong to that same state. One that moved is read again.
    last_seqs = dict(Execution.objects.filter(pk__in=list(rows)).values_list("pk", "last_seq"))
    checked, moved = [], []
    for pk in ids:
        execution = rows.get(pk)
        if execution is None or pk not in last_seqs:
            continue  # deleted meanwhile
        if last_seqs[pk] != execution.last_seq:
            moved.append(pk)
            continue
        rebuilt = replayed.get(pk, ExecutionState())
        if isinstance(rebuilt, str):
            checked.append(Verification(str(pk), broken_log=rebuilt))
        else:
            checked.append(Verification(str(pk), tuple(compare(state_of(execution, runs[pk]), rebuilt))))
    return checked, moved


def _replay(log: Iterable[Any]) -> ExecutionState | str:
    try:
        return fold(list(log))
    except ValueError as error:  # a gap in ``seq``, an unknown type
        return str(error)
    except (KeyError, TypeError, AttributeError) as error:  # a payload without a key the fold needs
        return f"an event cannot be applied: {type(error).__name__} {error}"

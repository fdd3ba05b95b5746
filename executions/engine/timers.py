"""Due timers, resumed in batches: nodes that waited for their time (a ``delay``, a
``wait_until``, a retry's backoff, a limit's turn) taken from their rows, many per transaction.

A node waiting for its time is a row: ``status`` pending or retrying with ``scheduled_at`` set
(the ``node.scheduled`` and ``node.retrying`` events). Nothing else holds it - no thread, no
connection, no broker message (``executions.dispatch.timers`` sends none for a time far enough
ahead). ``resume_due`` claims the rows come due, oldest first, by locking their executions
with ``FOR UPDATE SKIP LOCKED`` (each claimer, in any process, takes other executions), and
starts each node in that same transaction, one savepoint per execution:

- a ``delay`` or ``wait_until`` node, whose run only reports the wait, is started, run and
  settled there, and its execution advanced (a light node after it runs in the same step): its
  whole resumption is one step of one shared commit, with no message and no second
  transaction as a worker's claim and completion would take;
- any other node is started as the orchestrator starts a node due now (``node.started`` with
  its long lease, unclaimed) and handed to the dispatcher once the batch has committed: a
  worker claims and runs it as any other.

The events are those of a delivery of the node's timed message (``runner._start_scheduled``
then ``runner.complete``): ``node.started``, then its outcome, then what the step went on to.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from executions.engine.leases import held_lease
from executions.engine.ports import Dispatch, get_dispatcher
from executions.engine.runner import after_finish, redelivery_of, render_or_fail
from executions.engine.step import Outcome, Step, as_node_error, lease_until
from executions.engine.store import Journal
from executions.executors import get_executor
from executions.models import Execution, NodeRun

logger = logging.getLogger(__name__)

# The node types whose run only reports the wait they were scheduled for: run in the step
# that starts them. (Their ``run`` is pure: no call, no secret, nothing to hold.)
RUN_IN_STEP = frozenset({"delay", "wait_until"})
WAITING_FOR_TIME = ("pending", "retrying")

Due = tuple[str, str, int]  # execution id, node id, the attempt to start
# A lost attempt the lease sweep requeued (pending again after it started, no limit's turn): the
# sweep sends it as a message at once, whose worker starts it as the call made again
# (``redelivery_of``, the same idempotency key). Not a timer: never claimed here.
REQUEUED = "(n.status = 'pending' AND n.attempt > 0 AND n.started_at IS NOT NULL AND n.limit_key IS NULL)"


@dataclass
class Resumed:
    """What one ``resume_due`` did."""

    claimed: int = 0
    # Executions whose resumption raised (rolled back to their savepoint alone, logged).
    failed: list[str] = field(default_factory=list)
    # Executions with a lost attempt's call to make again, sent to a worker as a message instead
    # (see ``resume``): their rows stay due until that worker starts them.
    handed: list[str] = field(default_factory=list)

    @property
    def resumed(self) -> int:
        return self.claimed - len(self.failed) - len(self.handed)


def _tables() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(NodeRun._meta.db_table), quote(Execution._meta.db_table)


def _not_in(execution_ids: Collection[str], params: list[Any]) -> str:
    """The condition leaving ``execution_ids`` out; their values appended to ``params``."""
    key = Execution._meta.pk
    params.extend(key.get_db_prep_value(key.to_python(value), connection) for value in execution_ids)
    return f"AND n.execution_id NOT IN ({', '.join(['%s'] * len(execution_ids))}) "


def next_due(skip: Collection[str] = ()) -> datetime | None:
    """When the next node waiting for its time in a running execution (not in ``skip``) is due,
    maybe already past; None when none waits."""
    runs, executions = _tables()
    sql = (f"SELECT n.scheduled_at FROM {runs} n JOIN {executions} e ON e.id = n.execution_id "
           f"WHERE n.status IN ('pending', 'retrying') AND n.scheduled_at IS NOT NULL AND e.status = 'running' "
           f"AND NOT {REQUEUED} ")
    params: list[Any] = []
    if skip:
        sql += _not_in(skip, params)
    with connection.cursor() as cursor:
        cursor.execute(sql + "ORDER BY n.scheduled_at LIMIT 1", params)
        row = cursor.fetchone()
    if not row:
        return None
    due = row[0]
    # SQLite's raw rows carry the naive UTC time Django stored (PostgreSQL's are aware).
    return timezone.make_aware(due, UTC) if timezone.is_naive(due) else due


def claim_due(limit: int, now: datetime, skip: Collection[str] = ()) -> list[Due]:
    """The nodes due by ``now`` of running executions, oldest first, at most ``limit``, their
    executions locked for this transaction; executions another transaction holds (a step in
    progress, another claimer) are passed over, as are the executions in ``skip``."""
    if not connection.in_atomic_block:
        raise RuntimeError("claim_due locks the executions it returns: call it inside a transaction")
    runs, executions = _tables()
    sql = (f"SELECT n.execution_id, n.node_id, n.attempt FROM {runs} n "
           f"JOIN {executions} e ON e.id = n.execution_id "
           f"WHERE n.status IN ('pending', 'retrying') AND n.scheduled_at <= %s AND e.status = 'running' "
           f"AND NOT {REQUEUED} ")
    params: list[Any] = [now]
    if skip:
        sql += _not_in(skip, params)
    sql += "ORDER BY n.scheduled_at LIMIT %s"
    params.append(limit)
    if connection.features.has_select_for_update_skip_locked:
        sql += " FOR UPDATE OF e SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # SQLite's raw rows carry the UUID as 32 hex digits: made the same text as str(row.pk).
        return [(str(uuid.UUID(str(execution_id))), node_id, attempt + 1)
                for execution_id, node_id, attempt in cursor.fetchall()]


def resume_due(limit: int, skip: Collection[str] = ()) -> Resumed:
    """Claims up to ``limit`` due nodes and starts them (see the module), in one transaction.
    The caller may pass over the executions ``failed`` and ``handed`` for a while (``skip``)."""
    done = Resumed()
    with transaction.atomic():
        claimed = claim_due(limit, timezone.now(), skip)
        done.claimed = len(claimed)
        by_execution: dict[str, list[tuple[str, int]]] = {}
        for execution_id, node_id, attempt in claimed:
            by_execution.setdefault(execution_id, []).append((node_id, attempt))
        # The claim locked the executions: their rows are read for all of them at once (two
        # queries), not locked and read again one by one as ``open_journal`` would.
        executions = {str(row.pk): row for row in Execution.objects.filter(pk__in=list(by_execution))}
        runs: dict[str, list[NodeRun]] = {execution_id: [] for execution_id in by_execution}
        for run in NodeRun.objects.filter(execution_id__in=list(by_execution)):
            runs[str(run.execution_id)].append(run)
        for execution_id, nodes in by_execution.items():
            try:
                with transaction.atomic():  # a savepoint: what fails is this execution's alone
                    journal = Journal(executions[execution_id], runs[execution_id])
                    for node_id, attempt in nodes:
                        if resume(journal, node_id, attempt) == HANDED:
                            done.handed.append(execution_id)
                    journal.flush()
            except Exception:
                logger.exception("Resuming %s of execution %s failed", nodes, execution_id)
                done.failed.append(execution_id)
    return done


RESUMED, HANDED = "resumed", "handed"


def resume(journal: Journal, node_id: str, attempt: int) -> str:
    """Starts ``attempt`` of a node that waited for its time, in the journal's step (the
    execution locked): ``RESUMED``; "", with nothing written, when it is not due or not waiting
    with the attempt before (started meanwhile by a message of the same timer, or cancelled);
    ``HANDED`` for a lost attempt's call made again after its limit's turn: a worker's delivery
    starts it (``runner._start_scheduled``), which gives the call its first key."""
    state = journal.state
    current = state.nodes.get(node_id)
    if (state.status != "running" or current is None or current.status not in WAITING_FOR_TIME
            or current.attempt != attempt - 1 or current.scheduled_at is None
            or current.scheduled_at > timezone.now()):
        return ""
    execution_id = str(journal.execution.pk)
    step = Step.open(journal)
    node = step.plan.nodes[node_id]
    executor = get_executor(node.type)
    if current.status == "pending" and current.attempt and redelivery_of(execution_id, node_id) is not None:
        work = Dispatch("node", execution_id, node_id, attempt, None, executor.queue)
        transaction.on_commit(lambda: get_dispatcher().dispatch_all([work]))
        return HANDED
    if not step.admit_limit(node, attempt, executor.queue):
        return RESUMED  # waits for its limit, or is scheduled again for when its rate allows
    rendered = render_or_fail(step, node, attempt, executor)
    if rendered is None:
        return RESUMED
    ctx, config = rendered
    in_step = node.type in RUN_IN_STEP
    step.append("node.started", node_id, {
        "attempt": attempt, "input": step.redactor.clean(config),
        "lease_until": (held_lease() if in_step else lease_until(node)).isoformat(), **step.holding(node),
    })
    if not in_step:
        # Unclaimed, as a node the orchestrator starts for a worker: the worker's claim takes it.
        NodeRun.objects.filter(execution_id=execution_id, node_id=node_id).exclude(worker="").update(worker="")
        step.dispatch(Dispatch("node", execution_id, node_id, attempt, None, executor.queue, (executor, config, ctx),
                               step.portable(node, executor, config, ctx)))
        return RESUMED
    try:
        outcome = Outcome(output=executor.run(config, ctx))
    except Exception as exc:
        outcome = Outcome(error=as_node_error(exc))
    step.settle(node, attempt, outcome)
    step.advance()
    after_finish(step)
    return RESUMED

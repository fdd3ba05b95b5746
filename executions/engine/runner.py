"""The engine's entry points. Each is a plain function, called by the API, by Celery tasks
or by the embedded dispatcher alike; each changes state in one transaction per step."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from executions.engine import circuits, limits
from executions.engine.children import existing_child, new_child, outcome_of_child
from executions.engine.leases import heartbeat, held_lease
from executions.engine.plan import NodePlan, Plan, open_lease_seconds, plan_for
from executions.engine.ports import Dispatch, get_dispatcher
from executions.engine.projection import NodeState
from executions.engine.step import Outcome, Step, as_node_error, lease_until, worker_name
from executions.engine.store import (
    Journal,
    RowUpdate,
    claim_node_runs,
    last_boundaries,
    new_journal,
    open_journal,
    release_connection,
)
from executions.executors import (
    ChildState,
    Executor,
    NodeContext,
    NodeTimeout,
    StartChild,
    Suspend,
    get_executor,
)
from executions.models import Execution, ExecutionEvent, NodeRun
from mbflow_site.queries import Precondition

logger = logging.getLogger(__name__)
# An execution whose running nodes' outcomes are still recorded: running, or paused (which only
# stops new nodes from starting).
OPEN = ("running", "paused")
CANCEL_CHECK_INTERVAL = 1.0


def start(execution: Execution, plan: Plan, reuse: dict[str, Any] | None = None,
          reused_from: str | None = None, updates: Sequence[RowUpdate] = (),
          only_if: Precondition | None = None) -> Execution:
    """Saves a new execution and runs its first step (every light node it can reach).

    ``execution`` is an unsaved row with tenant, version (or adhoc document), input and the
    rest set; it is inserted in the same transaction as its first events. ``reuse`` (a replay)
    gives nodes that do not run but keep an output from ``execution.replay_of`` (or from
    ``reused_from``: ``pinned``, the sample data of a test run from the designer). ``updates``
    are rows of other tables written in the first step's statement (``Journal.also_update``).
    ``only_if`` is what the rows the start was made from must still say (a workflow this
    process read earlier): checked by the insert of the execution's row, which raises
    ``PreconditionFailed`` and writes nothing when it no longer holds.
    """
    with new_journal(execution, only_if) as journal:
        for update in updates:
            journal.also_update(update.row, update.fields)
        journal.append("execution.created", "", {
            "input": execution.input, "nodes": list(plan.order),
            "workflow": plan.name, "version": plan.version,
        })
        journal.append("execution.started")
        for node_id, output in (reuse or {}).items():
            journal.append("node.reused", node_id, {"output": output,
                                                    "from": reused_from or str(execution.replay_of_id)})
        step = Step(journal, plan)
        _schedule_expiry(step, generation=0)
        step.advance()
        after_finish(step)
        # The nodes as this step leaves them (their rows' fields, as ``NodeState``), so an answer
        # about the new execution needs no re-read; copied when the execution goes on, before the
        # commit hands its journal to the next step, which changes the states it holds.
        nodes = journal.state.nodes.values()
        known = sorted(nodes if journal.state.terminal else map(copy.copy, nodes), key=lambda node: node.order)
    execution.known_runs = known  # type: ignore[attr-defined]
    return execution


@dataclass
class Claim:
    executor: Executor
    config: dict[str, Any]
    ctx: NodeContext
    # The claim cut the attempt's lease to the worker's (see ``leases``): a run that hands the
    # node over (``Suspend``) gives it back its long lease, that of ``node`` when known.
    held: bool = False
    node: NodePlan | None = None

    def long_lease(self) -> datetime:
        if self.node is not None:
            return lease_until(self.node)
        return timezone.now() + timedelta(seconds=open_lease_seconds(self.ctx.timeout))


def claim(execution_id: str, node_id: str, attempt: int, prepared: Any = None,
          portable: dict[str, Any] | None = None, won: bool | None = None) -> Claim | None:
    """Takes one attempt of a node for this worker, or None when it is not ours to run.

    ``portable`` is the attempt as the orchestrator rendered it (``Step.portable``), sent in
    the task message: with it the winner of the claim needs no read of the execution. ``won``
    is the outcome of a claim already made for this attempt with others (``claim_together``).
    """
    if prepared is not None:
        # Handed over in memory by the step that marked the attempt started (the embedded
        # dispatcher): that commit is its one delivery, so there is no duplicate to race.
        executor, config, ctx = prepared
        ctx.cancelled = _cancel_checker(execution_id)
        return Claim(executor, config, ctx)
    # The orchestrator already marked the attempt started (due-now nodes). Whoever sets
    # ``worker`` first wins: the conditional UPDATE returns 1 for exactly one caller, so a
    # redelivered duplicate of the task backs off and the node never runs twice at once. A
    # stale delivery (the broker gave back the message of a worker that died, after its
    # visibility timeout or at once) finds the attempt claimed by the dead worker, or requeued
    # and started again as a later attempt, and backs off as well (``_start_scheduled``).
    if won is None:
        won = bool(NodeRun.objects.filter(
            execution_id=execution_id, node_id=node_id, attempt=attempt, status="running", worker=""
        ).update(worker=worker_name(), lease_until=held_lease()))
    if won:
        if portable is not None:
            return _unpack(execution_id, node_id, attempt, portable)
        return _prepare(execution_id, node_id, attempt)
    return _start_scheduled(execution_id, node_id, attempt)


def claim_together(execution_id: str, attempts: Sequence[tuple[str, int]]) -> set[str]:
    """Claims several started attempts of one execution in one statement (nodes delivered in
    one message); returns the node ids won, to pass to ``run_node`` as ``won``."""
    return claim_node_runs(execution_id, attempts, worker_name(), held_lease())


def _unpack(execution_id: str, node_id: str, attempt: int, portable: dict[str, Any]) -> Claim:
    ctx = NodeContext(execution_id=execution_id, tenant_id=portable["tenant_id"], node_id=node_id, attempt=attempt,
                      timeout=portable["timeout"], expressions={}, inputs={}, depth=portable["depth"],
                      breaker=circuits.BreakerPlan.from_portable(portable.get("breaker")))
    ctx.cancelled = _cancel_checker(execution_id)
    return Claim(get_executor(portable["type"]), portable["config"], ctx, held=True)


def _prepare(execution_id: str, node_id: str, attempt: int) -> Claim | None:
    """Renders the claimed node's config from the committed state (read only, no lock)."""
    execution = Execution.objects.get(pk=execution_id)
    journal = Journal(execution, list(NodeRun.objects.filter(execution_id=execution_id)))
    step = Step.open(journal)
    node = step.plan.nodes[node_id]
    executor = get_executor(node.type)
    ctx = step.node_context(node, attempt)
    try:
        config = step.render_config(node, executor, ctx)
    except Exception as exc:
        complete(execution_id, node_id, attempt, Outcome(error=as_node_error(exc, light=True)))
        return None
    ctx.cancelled = _cancel_checker(execution_id)
    return Claim(executor, config, ctx, held=True, node=node)


def _start_scheduled(execution_id: str, node_id: str, attempt: int) -> Claim | None:
    """Starts a node that waited for its time (a delay, a retry, a requeue after a lost worker).

    The execution row is locked, so a duplicate delivery finds the node already running or
    done and backs off, and so does a stale one: an attempt is started from the state just
    before it only (the attempt before, pending or retrying).
    """
    with open_journal(execution_id) as journal:
        state = journal.state
        current = state.nodes.get(node_id)
        if (state.status != "running" or current is None or current.status not in ("pending", "retrying")
                or current.attempt != attempt - 1):
            if current is not None:
                logger.info("Delivery of %s/%s attempt %s refused: the node is %s at attempt %s",
                            execution_id, node_id, attempt, current.status, current.attempt)
            return None
        step = Step.open(journal)
        node = step.plan.nodes[node_id]
        executor = get_executor(node.type)
        if not step.admit_limit(node, attempt, executor.queue):
            return None  # waits for its limit, or is scheduled for when its rate allows
        rendered = render_or_fail(step, node, attempt, executor)
        if rendered is None:
            return None
        ctx, config = rendered
        payload: dict[str, Any] = {"attempt": attempt, "input": step.redactor.clean(config),
                                   "lease_until": held_lease().isoformat(), **step.holding(node)}
        # Pending again after it started: requeued, or reset by a retry of the execution.
        again = redelivery_of(execution_id, node_id) if current.status == "pending" and current.attempt else None
        if again is not None:
            ctx.redelivery_of = payload["redelivery_of"] = again
        step.append("node.started", node_id, payload)
        # Claimed in the same transaction: no other delivery can take the attempt in between.
        NodeRun.objects.filter(execution_id=execution_id, node_id=node_id).update(worker=worker_name())
    ctx.cancelled = _cancel_checker(execution_id)
    return Claim(executor, config, ctx, held=True, node=node)


def render_or_fail(step: Step, node: NodePlan, attempt: int,
                   executor: Executor) -> tuple[NodeContext, dict[str, Any]] | None:
    """The attempt's context and rendered config; None when rendering failed, the attempt then
    started and failed in this step (its retry and failure edges apply) and the run went on."""
    ctx = step.node_context(node, attempt)
    try:
        return ctx, step.render_config(node, executor, ctx)
    except Exception as exc:
        step.append("node.started", node.id, {"attempt": attempt})
        step.settle(node, attempt, Outcome(error=as_node_error(exc, light=True)))
        step.advance()
        after_finish(step)
        return None


def redelivery_of(execution_id: str, node_id: str) -> int | None:
    """When the attempt about to start makes a lost attempt's call again (the lease sweep
    requeued that attempt: its worker died), the attempt whose call that is: the lost one, or
    the one it made again itself. None for a new call (a delay's, a retry's, a reset node's)."""
    events = last_boundaries(execution_id, node_id)
    if [type_ for type_, _payload in events] != ["node.requeued", "node.started"]:
        return None
    lost = events[1][1]
    return int(lost.get("redelivery_of") or lost["attempt"])


def _cancel_checker(execution_id: str) -> Any:
    last = [0.0, False]

    def cancelled() -> bool:
        now = time.monotonic()
        if not last[1] and now - last[0] >= CANCEL_CHECK_INTERVAL:
            last[0] = now
            last[1] = not Execution.objects.filter(pk=execution_id, status__in=OPEN).exists()
        return bool(last[1])

    return cancelled


def run_node(execution_id: str, node_id: str, attempt: int, prepared: Any = None,
             portable: dict[str, Any] | None = None, won: bool | None = None) -> None:
    """Claims, runs and completes one attempt of an I/O node (the body of a worker task)."""
    claimed = claim(execution_id, node_id, attempt, prepared, portable, won)
    if claimed is None:
        return
    release_connection()
    with _inbox_lock:
        _running_here[execution_id] = _running_here.get(execution_id, 0) + 1
    admission = None
    claimed.ctx.children = _Children(claimed.ctx)
    try:
        with heartbeat.holding(execution_id, node_id, attempt, claimed.ctx.timeout,
                               overran=partial(_overran, execution_id, node_id, attempt)):
            admission = circuits.admit(claimed.ctx)
            if admission is not None and not admission.allowed:
                raise circuits.refusal(claimed.ctx, admission)
            result = claimed.executor.run(claimed.config, claimed.ctx)
            if isinstance(result, StartChild):
                result = _start_child(claimed.ctx, result)
    except Exception as exc:
        error = as_node_error(exc)
        outcome = Outcome(error=error, circuit=circuits.record(claimed.ctx, admission, error))
    except BaseException:  # the worker is going away: the lease sweep re-runs the node
        with _inbox_lock:
            _ran_here(execution_id)
        raise
    else:
        if isinstance(result, Suspend):
            with _inbox_lock:
                _ran_here(execution_id)
            if result.waiting:
                _wait(execution_id, node_id, attempt, result)
            elif claimed.held:
                # Held by no worker from now on: the long lease again, not the worker's.
                NodeRun.objects.filter(execution_id=execution_id, node_id=node_id, attempt=attempt,
                                       status="running").update(lease_until=claimed.long_lease())
            return  # the node stays open until its outcome is reported (a child ends, a signal comes)
        outcome = Outcome(output=result, circuit=circuits.record(claimed.ctx, admission, None))
    complete(execution_id, node_id, attempt, outcome, ran_here=True)


def _start_child(ctx: NodeContext, request: StartChild) -> Any:
    """Starts the child a node asked for (or finds the one an earlier delivery of this attempt
    started): its id without ``wait``; with it, its outcome when it already ended (all light
    nodes), else a Suspend until it reports."""
    child = _child(ctx, request)
    if not request.wait:
        return {"execution_id": str(child.pk), "status": child.status}
    if child.status in ("succeeded", "failed", "cancelled"):
        outcome = outcome_of_child(child.status, child.output, child.error)
        if outcome.error is not None:
            raise outcome.error
        return outcome.output
    return Suspend("waiting for the child execution", {"execution_id": str(child.pk)})


def _child(ctx: NodeContext, request: StartChild, suffix: str = "") -> Execution:
    child = existing_child(ctx, suffix)
    if child is not None:
        return child
    child, plan = new_child(ctx, request, suffix)
    try:
        return start(child, plan)
    except IntegrityError:  # a duplicate delivery of this attempt started it meanwhile
        found = existing_child(ctx, suffix)
        if found is None:
            raise
        return found


@dataclass
class _Children:
    """The children port of a node run by a worker (``NodeContext.children``)."""

    ctx: NodeContext

    def start(self, request: StartChild, key: str) -> str:
        return str(_child(self.ctx, request, key).pk)

    def states(self, ids: list[str]) -> dict[str, ChildState]:
        rows = Execution.objects.filter(pk__in=ids).values_list("pk", "status", "output", "error")
        return {str(pk): ChildState(status, output, error) for pk, status, output, error in rows}


def _overran(execution_id: str, node_id: str, attempt: int, limit: float) -> None:
    """The node is still running on this live worker past its timeout and the lease: it fails
    with a timeout here (its retry policy and timeout action apply), rather than being sent to
    another worker as if this one had died. What its run returns later is ignored."""
    complete(execution_id, node_id, attempt, Outcome(error=NodeTimeout(
        f"Node {node_id} did not finish within {limit:g}s on its worker (its timeout and the worker lease).")))


# Outcomes waiting to be recorded, by execution; the executions a thread is recording; how many
# nodes of each execution are running in this process.
_inbox: dict[str, list[tuple[str, int, Outcome]]] = {}
_draining: set[str] = set()
_running_here: dict[str, int] = {}
_inbox_lock = threading.Lock()
_arrived = threading.Condition(_inbox_lock)
# How long the first outcome of a wave waits for its siblings running here before it is recorded.
LINGER = 0.02


def _ran_here(execution_id: str) -> None:
    """Counts one node of the execution less as running here (call with ``_inbox_lock`` held)."""
    left = _running_here.get(execution_id, 0) - 1
    if left > 0:
        _running_here[execution_id] = left
    else:
        _running_here.pop(execution_id, None)


def complete(execution_id: str, node_id: str, attempt: int, outcome: Outcome, *, ran_here: bool = False) -> None:
    """Records the outcome of a running attempt and advances the execution.

    Outcomes of one execution are recorded together (a group commit): one arriving while
    another thread is recording is queued for that thread's next transaction, and the first
    outcome waits up to ``LINGER`` for the other nodes of the execution still running in this
    process. Ten parallel calls finishing within a few milliseconds of each other cost one
    transaction, not ten queued on the execution's lock; the last outcome of a wave, which
    decides what runs next, has nothing to wait for. ``ran_here``: the node was counted as
    running in this process (``run_node``).
    """
    with _arrived:
        _inbox.setdefault(execution_id, []).append((node_id, attempt, outcome))
        if ran_here:
            _ran_here(execution_id)
        _arrived.notify_all()
        if execution_id in _draining:
            return
        _draining.add(execution_id)
        deadline = time.monotonic() + LINGER
        while _running_here.get(execution_id) and _arrived.wait(max(deadline - time.monotonic(), 0)):
            pass
    try:
        while True:
            with _inbox_lock:
                batch = _inbox.pop(execution_id, [])
                if not batch:
                    _draining.discard(execution_id)
                    return
            _complete_batch(execution_id, batch)
    except BaseException:
        with _inbox_lock:
            _draining.discard(execution_id)
        raise


def _complete_batch(execution_id: str, batch: list[tuple[str, int, Outcome]]) -> None:
    with open_journal(execution_id) as journal:
        step = Step.open(journal)
        settled = False
        for node_id, attempt, outcome in batch:
            current = journal.state.nodes.get(node_id)
            if journal.state.status not in OPEN or current is None or current.status != "running" \
                    or current.attempt != attempt:
                continue  # cancelled meanwhile, or the lease ran out and another worker re-ran it
            step.settle(step.plan.nodes[node_id], attempt, outcome)
            settled = True
        if settled:
            step.advance()
            after_finish(step)


def _wait(execution_id: str, node_id: str, attempt: int, suspend: Suspend) -> None:
    with open_journal(execution_id) as journal:
        current = journal.state.nodes.get(node_id)
        if journal.state.status not in OPEN or current is None or current.status != "running" \
                or current.attempt != attempt:
            return
        step = Step.open(journal)
        step.wait(step.plan.nodes[node_id], attempt, suspend)
        # Whoever takes up the wait (a function task's poller) claims it anew.
        NodeRun.objects.filter(execution_id=execution_id, node_id=node_id).update(worker="")


def resolve_waiting(execution_id: str, node_id: str, decide: Callable[[NodeState], Outcome],
                    attempt: int | None = None) -> bool:
    """Settles a node waiting for a signal with ``decide(node)`` and advances the execution.

    False, with nothing written, when the node is not waiting (any more), or waits with
    another attempt than ``attempt``: the execution row is locked, so of two signals at once
    exactly one is taken.
    """
    with open_journal(execution_id) as journal:
        current = journal.state.nodes.get(node_id)
        if journal.state.status not in OPEN or current is None or current.status != "waiting" \
                or (attempt is not None and current.attempt != attempt):
            return False
        step = Step.open(journal)
        step.settle(step.plan.nodes[node_id], current.attempt, decide(current))
        step.advance()
        after_finish(step)
    return True


def time_out(execution_id: str, node_id: str, attempt: int) -> bool:
    """A waiting node's time is up: it fails with a timeout, unless a signal came first."""
    return resolve_waiting(execution_id, node_id, lambda node: Outcome(error=NodeTimeout(
        f"Node {node_id} timed out waiting for a signal.")), attempt=attempt)


def advance(execution_id: str) -> None:
    with open_journal(execution_id) as journal:
        step = Step.open(journal)
        step.advance()
        after_finish(step)


def cancel(execution_id: Any, message: str = "Cancelled.", *, compensate: bool = False) -> bool:
    """Cancels what is still open; with ``compensate``, the compensation steps due run first."""
    with open_journal(execution_id) as journal:
        if journal.state.terminal:
            return False
        step = Step.open(journal)
        step.cancel({"code": "cancelled", "message": message}, compensate=compensate)
        after_finish(step)
    return True


def _schedule_expiry(step: Step, generation: int) -> None:
    """The workflow's own timeout, counted from now; ``generation`` counts the execution's
    retries, so the timer of an earlier run that fires later does nothing."""
    timeout = step.plan.spec.spec.timeout
    if timeout:
        step.dispatch(Dispatch("expire", str(step.journal.execution.pk), attempt=generation,
                               eta=timezone.now() + timedelta(seconds=timeout), queue="light"))


def _retries(execution_id: Any) -> int:
    return ExecutionEvent.objects.filter(execution_id=execution_id, type="execution.retried").count()


def pause(execution_id: Any) -> bool:
    """Stops starting new nodes (running ones finish and are recorded); False unless running."""
    with open_journal(execution_id) as journal:
        if journal.state.status != "running":
            return False
        journal.append("execution.paused")
    return True


def resume(execution_id: Any) -> bool:
    """Goes on from where a pause stopped; False unless paused."""
    with open_journal(execution_id) as journal:
        if journal.state.status != "paused":
            return False
        journal.append("execution.resumed")
        step = Step.open(journal)
        _dispatch_scheduled(step)
        step.advance()
        after_finish(step)
    return True


def _dispatch_scheduled(step: Step) -> None:
    """Sends again the nodes waiting for their time (retries, delays, requeues): a delivery that
    came while the execution was paused was refused. A delivery still on its way finds the
    attempt taken and backs off."""
    now = timezone.now()
    execution_id = str(step.journal.execution.pk)
    for node_id, node in step.state.nodes.items():
        if node.status in ("pending", "retrying") and node.scheduled_at is not None:
            queue = get_executor(step.plan.nodes[node_id].type).queue
            due = node.scheduled_at if node.scheduled_at > now else None
            step.dispatch(Dispatch("node", execution_id, node_id, node.attempt + 1, due, queue))


def retry(execution_id: Any) -> bool:
    """A failed execution goes on from its failed nodes: they, and the nodes they had kept from
    running, run again (each from the attempt after its last); the nodes that succeeded keep
    their outputs. False unless failed."""
    with open_journal(execution_id) as journal:
        if journal.state.status != "failed":
            return False
        generation = _retries(execution_id) + 1
        journal.append("execution.retried", "", {"generation": generation})
        step = Step.open(journal)
        reset = [node_id for node_id, node in journal.state.nodes.items() if node.status != "succeeded"]
        for node_id in reset:
            step.append("node.reset", node_id, {"reason": "the execution was retried"})
        # Claimed by no worker any more: the next attempt's worker claims it as a first one's does.
        NodeRun.objects.filter(execution_id=execution_id, node_id__in=reset).update(worker="")
        _schedule_expiry(step, generation)
        step.advance()
        after_finish(step)
    return True


def expire(execution_id: str, generation: int = 0) -> None:
    """The workflow's own timeout: fails what is still open."""
    with open_journal(execution_id) as journal:
        if journal.state.terminal or generation != _retries(execution_id):
            return
        step = Step.open(journal)
        message = f"The execution did not finish within {step.plan.spec.spec.timeout:g}s."
        if step.plan.spec.spec.timeout_action == "ignore":
            journal.append("execution.timeout_passed", "", {"message": message})  # recorded; it goes on
            return
        step.fail({"code": "timeout", "message": message})
        after_finish(step)


def sweep_expired_leases() -> int:
    """Re-dispatches nodes whose worker vanished (lease ran out), and times out nodes whose wait
    for a signal ended while their timer was lost with its process. Returns how many."""
    now = timezone.now()
    overdue = list(NodeRun.objects.filter(status="waiting", lease_until__lt=now)
                   .values_list("execution_id", "node_id", "attempt"))
    timed_out = sum(time_out(str(execution_id), node_id, attempt) for execution_id, node_id, attempt in overdue)
    expired = list(NodeRun.objects.filter(status="running", lease_until__lt=now)
                   .values_list("execution_id", "node_id", "attempt"))
    requeued = 0
    for execution_id, node_id, attempt in expired:
        with open_journal(execution_id) as journal:
            current = journal.state.nodes.get(node_id)
            if (journal.state.status not in OPEN or current is None or current.status != "running"
                    or current.attempt != attempt):
                continue
            # The lease is the row's, not the journal's: heartbeats move it without an event.
            # Read and released in one conditional UPDATE, which waits for a heartbeat renewing
            # the row at the same moment and then sees its new lease: a live worker keeps its node.
            if not NodeRun.objects.filter(execution_id=execution_id, node_id=node_id, attempt=attempt,
                                          status="running", lease_until__lt=now).update(worker=""):
                continue
            step = Step.open(journal)
            step.release_limit(node_id)
            step.append("node.requeued", node_id, {"scheduled_at": now.isoformat(), "lost_attempt": attempt})
            queue = get_executor(step.plan.nodes[node_id].type).queue
            step.dispatch(Dispatch("node", str(execution_id), node_id, attempt + 1, None, queue))
            requeued += 1
    _wake_limit_waiters()
    _redispatch_overdue(now)
    return requeued + timed_out


# Nodes this process sent again lately, (execution, node, attempt) -> when (monotonic). A node
# late only because the workers are behind (thousands of parked runs coming due together) is
# sent again once a lease, not on every sweep: a duplicate per sweep piled onto the backlog that
# made it late (bench/parked.py).
_resent: dict[tuple[str, str, int], float] = {}
_resent_lock = threading.Lock()
REDISPATCH_BATCH = 500


def _resend_now(key: tuple[str, str, int]) -> bool:
    """Whether to send ``key`` again now (not sent again by this process within a lease)."""
    now, period = time.monotonic(), float(settings.MBFLOW_LEASE_SECONDS)
    with _resent_lock:
        if len(_resent) > 20 * REDISPATCH_BATCH:
            for old in [k for k, sent in _resent.items() if now - sent >= period]:
                del _resent[old]
        sent = _resent.get(key)
        if sent is not None and now - sent < period:
            return False
        _resent[key] = now
        return True


def _redispatch_overdue(now: datetime) -> None:
    """Sends again the nodes whose time came a lease ago and that have not started: their timed
    message (a retry's backoff, a delay, a rate-limit turn) was lost with a worker before the
    broker's visibility timeout gave it back. A delivery still on its way finds the attempt
    taken and backs off. The most overdue first; each at most once a lease from this process."""
    late = now - timedelta(seconds=settings.MBFLOW_LEASE_SECONDS)
    overdue = (NodeRun.objects.filter(status__in=("pending", "retrying"), scheduled_at__lt=late,
                                      execution__status="running").order_by("scheduled_at")
               .values_list("execution_id", "node_id", "attempt", "execution__version_id",
                            "execution__adhoc_spec")[:4 * REDISPATCH_BATCH])
    works = []
    for execution_id, node_id, attempt, version_id, adhoc_spec in overdue:
        if len(works) >= REDISPATCH_BATCH or not _resend_now((str(execution_id), node_id, attempt)):
            continue
        plan = plan_for(version_id, execution_id, adhoc_spec)
        works.append(Dispatch("node", str(execution_id), node_id, attempt + 1, None,
                              get_executor(plan.nodes[node_id].type).queue))
    if works:
        get_dispatcher().dispatch_all(works)


def _wake_limit_waiters() -> None:
    """The oldest waiter of each limit tries again: the wake-up of last resort, should the one
    its holder's end sent have been lost with its process."""
    woken = [Dispatch("advance", execution_id, queue="light")
             for key in NodeRun.objects.filter(status="waiting", limit_key__isnull=False).order_by()
             .values_list("limit_key", flat=True).distinct()[:500]
             for execution_id in limits.waiters(key, 1)]
    if woken:
        get_dispatcher().dispatch_all(woken)


def after_finish(step: Step) -> None:
    """When the step ended the execution, tell the parent waiting for it (sub-workflows)."""
    execution = step.journal.execution
    if not step.state.terminal or execution.parent_id is None or not execution.parent_node_id:
        return
    parent_attempt = int((execution.trigger or {}).get("parent_attempt") or 0)
    if not parent_attempt or not (execution.trigger or {}).get("wait", True):
        return
    outcome = outcome_of_child(step.state.status, step.state.output, step.state.error)
    parent_id, node_id = str(execution.parent_id), execution.parent_node_id
    step.journal.after_commit.append(lambda: complete(parent_id, node_id, parent_attempt, outcome))

"""One orchestration step on a locked execution: settle a node's outcome, decide the next
wave, run the light nodes of that wave inline and queue the others.

Nodes are visited in topological order, so a single pass sees each node after all of its
predecessors: a chain of light nodes completes in one step and one transaction.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
from django.utils import timezone

from executions.engine import circuits, limits, payloads
from executions.engine.plan import NodePlan, Plan, plan_for
from executions.engine.ports import Dispatch, get_dispatcher
from executions.engine.projection import ExecutionState, NodeState
from executions.engine.store import Journal
from executions.engine.values import NO_SECRETS, Redactor
from executions.executors import (
    Executor,
    NodeContext,
    NodeError,
    NodeTimeout,
    PermanentError,
    Suspend,
    UnknownExecutor,
    config_field,
    get_executor,
)
from executions.vault import secrets_for
from workflows.spec.expressions import ExpressionError, ExpressionTimeout, Secret, budget, evaluate, render_value

_HOST = socket.gethostname()
# The largest rendered config (as JSON) a broker message carries; a larger one is re-read by
# the worker from the database instead.
MESSAGE_CONFIG_LIMIT = 64 * 1024


def worker_name() -> str:
    return f"{_HOST}:{os.getpid()}:{threading.current_thread().name}"


@dataclass(slots=True)
class Outcome:
    output: Any = None
    error: NodeError | None = None
    circuit: dict[str, Any] | None = None  # the breaker's change of state this attempt caused

    @property
    def ok(self) -> bool:
        return self.error is None


def as_node_error(exc: BaseException, *, light: bool = False) -> NodeError:
    if isinstance(exc, NodeError):
        return exc
    if isinstance(exc, ExpressionTimeout):  # the node's timeout, with its timeout_action
        return NodeTimeout(f"{exc.message} (in `{exc.field}`)" if exc.path else exc.message)
    if isinstance(exc, ExpressionError):
        # Never retried: the same expression over the same data goes over the same limit.
        details: dict[str, Any] = {"expression": exc.expression[:500]}
        message = exc.message
        if exc.path:
            details["field"] = exc.field
            message = f"{message} (in `{exc.field}`)"
        return PermanentError(message, code=exc.code, details=details)
    error_type = PermanentError if light else NodeError
    return error_type(f"{type(exc).__name__}: {exc}", code="executor_error")


def lease_until(node: NodePlan) -> datetime:
    if node.type == "sub_workflow":
        return timezone.now() + timedelta(days=7)  # the child execution has its own timeouts
    return timezone.now() + timedelta(seconds=node.policy.lease_seconds)


def _truthy(value: Any) -> bool:
    return bool(value) and value != "false"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass
class Step:
    journal: Journal
    plan: Plan
    dispatches: list[Dispatch] = field(default_factory=list)
    _secrets: dict[str, str] | None = None
    _redactor: Redactor | None = None
    _base: dict[str, Any] | None = None
    _edges: dict[tuple[int, str, str], bool] = field(default_factory=dict)
    _revisit: bool = False
    # Holders of each limit this step started (+1) or ended (-1): the rows show them at commit.
    _limit_delta: Counter[str] = field(default_factory=Counter)
    # The limit rows this step locked and read (once each, see ``limits.LimitBook``).
    _limits: limits.LimitBook | None = None
    # Offloaded outputs read back in this step, by storage key.
    _payloads: dict[str, Any] = field(default_factory=dict)
    _ids: tuple[str, str] | None = None  # the execution's and the tenant's id as text
    _payload_limit: int | None = None  # the workflow's, or the site's (read once a step)
    # The journal's state (the same object for the journal's life), read at every turn of a step.
    state: ExecutionState = field(init=False)

    def __post_init__(self) -> None:
        self.state = self.journal.state

    @classmethod
    def open(cls, journal: Journal) -> Step:
        execution = journal.execution
        return cls(journal, plan_for(execution.version_id, execution.pk, execution.adhoc_spec))

    # --- expressions and secrets -------------------------------------------------------
    @property
    def secrets(self) -> dict[str, str]:
        if self._secrets is None:
            if self.plan.uses_secrets:
                self._secrets = secrets_for(self.journal.tenant_id)
            else:
                self._secrets = {}
        return self._secrets

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor(self.secrets.values()) if self.secrets else NO_SECRETS
        return self._redactor

    def base_context(self) -> dict[str, Any]:
        if self._base is None:
            execution = self.journal.execution
            base: dict[str, Any] = {
                "input": self.state.input,
                # Opaque values: they flow whole into a config and read [secret] as text.
                "secrets": {name: Secret(name, value) for name, value in self.secrets.items()},
                "execution": {
                    "id": str(execution.pk),
                    "workflow": self.plan.name,
                    "version": self.plan.version,
                    "started_at": _iso(self.state.started_at),
                },
                "nodes": {node_id: self._node_view(node) for node_id, node in self.state.nodes.items()},
            }
            if self.plan.variables:
                with config_field("variables"):
                    base["vars"] = render_value(self.plan.variables, base)
            else:
                base["vars"] = {}
            self._base = base
        return self._base

    def _node_view(self, node: NodeState) -> dict[str, Any]:
        return {"output": self.output_of(node), "status": node.status, "error": node.error, "attempt": node.attempt}

    def output_of(self, node: NodeState) -> Any:
        """The node's output as expressions see it: read back from the payload store when it was
        offloaded (once per step)."""
        output = node.output
        if payloads.reference(output) is None:
            return output
        return payloads.load(output, self.journal.tenant_id, self._payloads)

    def _refresh_node(self, node_id: str) -> None:
        if self._base is not None:
            self._base["nodes"][node_id] = self._node_view(self.state.nodes[node_id])

    def append(self, type_: str, node_id: str = "", payload: dict[str, Any] | None = None) -> None:
        self.journal.append(type_, node_id, payload)
        if node_id:
            self._refresh_node(node_id)

    # --- edges ---------------------------------------------------------------------------
    def edge_taken(self, edge: Any) -> bool | None:
        """None while the edge is undecided (its source has not finished)."""
        key = (edge.index, edge.source, edge.target)
        if key in self._edges:
            return self._edges[key]
        source = self.state.nodes[edge.source]
        if edge.on == "fallback":  # to the node's fallback: taken while the node waits for it
            if source.status == "falling_back":
                taken = True
            elif source.terminal:
                taken = False
            else:
                return None
            self._edges[key] = taken
            return taken
        if not source.terminal:
            return None
        taken = self._decide_edge(edge, source)
        self._edges[key] = taken
        return taken

    def _decide_edge(self, edge: Any, source: NodeState) -> bool:
        if source.status == "succeeded":
            ok = True
        elif source.status in ("failed", "timed_out"):
            ok = False
        else:
            return False  # skipped or cancelled: the path ends here
        if (edge.on == "success" and not ok) or (edge.on == "failure" and ok):
            return False
        if edge.port is not None:
            if edge.port in ("failure", "success"):
                if (edge.port == "failure") == ok:
                    return False
            elif not ok or get_executor(self.plan.nodes[edge.source].type).port(self.output_of(source)) != edge.port:
                return False
        if edge.condition:
            try:
                return _truthy(evaluate(edge.condition, {**self.base_context(), "output": self.output_of(source)}))
            except ExpressionError:
                return False
        return True

    def readiness(self, node: NodePlan) -> str:
        if not node.inbound:
            return "run"
        taken_any = undecided = serving = False
        for edge in node.inbound:
            taken = self.edge_taken(edge)
            if taken is None:
                undecided = True
            elif taken:
                taken_any = True
                serving = serving or edge.on == "fallback"
        if taken_any and (serving or node.merge_mode in ("first", "any")):
            return "run"
        if undecided:
            return "wait"
        return "run" if taken_any else "skip"

    def node_context(self, node: NodePlan, attempt: int) -> NodeContext:
        inputs: dict[str, Any] = {}
        for edge in node.inbound:
            if self.edge_taken(edge):
                inputs[edge.source] = self.output_of(self.state.nodes[edge.source])
        if len(inputs) == 1:
            upstream: Any = next(iter(inputs.values()))
        elif inputs:
            upstream = {}
            for value in inputs.values():
                if isinstance(value, dict):
                    upstream.update(value)
        else:
            upstream = self.state.input
        execution = self.journal.execution
        if self._ids is None:
            self._ids = (str(execution.pk), str(execution.tenant_id))
        return NodeContext(
            execution_id=self._ids[0],
            tenant_id=self._ids[1],
            node_id=node.id,
            attempt=attempt,
            timeout=node.policy.timeout,
            expressions={**self.base_context(), "upstream": upstream},
            inputs=inputs,
            depth=execution.depth,
            redact=self.redactor.clean,
            breaker=node.breaker,
            scheduled_at=self.state.nodes[node.id].scheduled_at,
        )

    @staticmethod
    def render_config(node: NodePlan, executor: Executor, ctx: NodeContext) -> dict[str, Any]:
        """The node's config with its expressions rendered, under the node's budget."""
        with budget(node.policy.timeout):
            return Step._rendered(node, executor, ctx)

    @staticmethod
    def _rendered(node: NodePlan, executor: Executor, ctx: NodeContext) -> dict[str, Any]:
        """``render_config`` inside a budget opened already (``_run_inline``'s)."""
        raw = executor.raw_keys
        rendered: dict[str, Any] = {}
        for key, value in node.config.items():
            try:  # as ``config_field("config", key)``, without a context manager per key
                rendered[key] = value if key in raw else render_value(value, ctx.expressions)
            except ExpressionError as exc:
                exc.path[:0] = ("config", key)
                raise
        return rendered

    # --- the wave ---------------------------------------------------------------------------
    def advance(self) -> None:
        """Starts every node that is ready (light ones inline, the others queued), then ends the
        execution if nothing is left. A paused execution records outcomes but starts nothing."""
        state = self.state
        if state.status == "paused":
            return
        if state.status == "running":
            try:
                self.base_context()  # the workflow's variables, rendered once
            except ExpressionError as exc:
                self.fail({"code": exc.code, "message": f"The workflow's variables failed: "
                           f"{as_node_error(exc).message}"})
                return
        if state.compensation is not None:
            self._compensate_next()
            return
        guarded = [node.breaker for node in self.plan.guarded if state.nodes[node.id].status == "pending"]
        with circuits.preloaded(self.journal.tenant_id, guarded):
            self._advance_pass()
        self.finish_if_done()

    def _advance_pass(self) -> None:
        state = self.state
        compensation_nodes = self.plan.compensation_nodes
        self._revisit = True
        while self._revisit:
            # A fallback ending settles the node it stood in for, which comes before it in the
            # order: the nodes after that one get another pass.
            self._revisit = False
            for node_id in self.plan.order:
                if state.status != "running":
                    return
                current = state.nodes[node_id]
                if current.status == "waiting" and current.limit_key:
                    self._start(self.plan.nodes[node_id])  # its turn may have come
                    continue
                if current.status != "pending" or current.scheduled_at is not None or node_id in compensation_nodes:
                    continue
                node = self.plan.nodes[node_id]
                readiness = self.readiness(node)
                if readiness == "wait":
                    continue
                if readiness == "skip":
                    self.append("node.skipped", node_id, {"reason": "no inbound edge was taken"})
                    continue
                self._start(node)

    def _start(self, node: NodePlan) -> None:
        # 1 for a node's first run; after a retry of the execution, the attempt after its last.
        attempt = self.state.nodes[node.id].attempt + 1
        ctx = self.node_context(node, attempt)
        try:
            if node.when is not None:
                with config_field("when"):
                    when = node.when if isinstance(node.when, bool) else evaluate(node.when, ctx.expressions)
                if not _truthy(when):
                    self.append("node.skipped", node.id, {"reason": "when is false"})
                    return
            executor = get_executor(node.type)
        except (ExpressionError, UnknownExecutor) as exc:
            error = as_node_error(exc) if isinstance(exc, ExpressionError) else PermanentError(
                str(exc), code="unknown_node_type")
            self.settle(node, attempt, Outcome(error=error), inline_input=None)
            return
        if not self.admit_limit(node, attempt, executor.queue):
            return
        if node.light:
            self._run_inline(node, executor, ctx, attempt)
        else:
            self.schedule(node, executor, ctx, attempt=attempt)

    def _run_inline(self, node: NodePlan, executor: Executor, ctx: NodeContext, attempt: int) -> None:
        config: Any = None
        admission = None
        try:
            # One budget for the node's expressions, ended early by its timeout: a light node
            # runs in the orchestrator's transaction, in the web process for a start with wait.
            with budget(node.policy.timeout):
                config = self._rendered(node, executor, ctx)
                admission = circuits.admit(ctx)
                if admission is not None and not admission.allowed:
                    raise circuits.refusal(ctx, admission)
                result = executor.run(config, ctx)
        except Exception as exc:  # any failure of a light node is the node's failure, not the step's
            error = as_node_error(exc, light=True)
            circuit = circuits.record(ctx, admission, error)
            self.settle(node, attempt, Outcome(error=error, circuit=circuit), inline_input=config)
            return
        if isinstance(result, Suspend) and result.waiting:
            self.append("node.started", node.id, {"attempt": attempt, "input": self.redactor.clean(config)})
            self.wait(node, attempt, result)
            return
        self.settle(node, attempt, Outcome(output=result, circuit=circuits.record(ctx, admission, None)),
                    inline_input=config)

    def wait(self, node: NodePlan, attempt: int, suspend: Suspend) -> None:
        """Marks a started attempt as waiting for a signal, and schedules its timeout."""
        payload: dict[str, Any] = {"attempt": attempt, "reason": suspend.reason, **self.redactor.clean(suspend.details)}
        if suspend.timeout:
            eta = timezone.now() + timedelta(seconds=suspend.timeout)
            payload["timeout_at"] = eta.isoformat()
            self.dispatch(Dispatch("time_out", str(self.journal.execution.pk), node.id, attempt, eta, "light"))
        self.append("node.waiting", node.id, payload)

    def schedule(self, node: NodePlan, executor: Executor, ctx: NodeContext, attempt: int) -> None:
        """Queues an I/O node. Due now, it is marked started in this same step (one transaction
        for the whole wave) and the worker only claims it; due later (delay nodes), it waits
        as scheduled and the worker starts it then."""
        try:
            config = self.render_config(node, executor, ctx)
            delay = executor.defer(config, ctx) if type(executor).defer is not Executor.defer else 0.0
        except Exception as exc:
            self.settle(node, attempt, Outcome(error=as_node_error(exc, light=True)), inline_input=None)
            return
        now = timezone.now()
        execution_id = str(self.journal.execution.pk)
        if delay > 0:
            eta = now + timedelta(seconds=delay)
            self.append("node.scheduled", node.id, {"scheduled_at": eta.isoformat()})
            self.dispatch(Dispatch("node", execution_id, node.id, attempt, eta, executor.queue))
            return
        self.append("node.started", node.id, {
            "attempt": attempt, "input": self.redactor.clean(config), "lease_until": lease_until(node).isoformat(),
            **self.holding(node),
        })
        ctx.attempt = attempt
        self.dispatch(Dispatch("node", execution_id, node.id, attempt, None, executor.queue, (executor, config, ctx),
                               self.portable(node, executor, config, ctx)))

    def portable(self, node: NodePlan, executor: Executor, config: dict[str, Any],
                 ctx: NodeContext) -> dict[str, Any] | None:
        """The started attempt as a worker in another process can run it without re-reading the
        execution, or None: only for a stateless executor, only when the workflow reads no
        secret (a rendered config could hold one, and secrets never travel through the
        broker), and only for a config of at most MESSAGE_CONFIG_LIMIT bytes of JSON."""
        if not executor.stateless or self.secrets:
            return None
        try:
            size = len(json.dumps(config))
        except (TypeError, ValueError):
            return None
        if size > MESSAGE_CONFIG_LIMIT:
            return None
        return {"type": node.type, "config": config, "tenant_id": ctx.tenant_id, "timeout": ctx.timeout,
                "depth": ctx.depth, "breaker": node.breaker.portable() if node.breaker else None}

    def dispatch(self, work: Dispatch) -> None:
        if not self.dispatches:
            self.journal.after_commit.append(self._send)
        self.dispatches.append(work)

    def _send(self) -> None:
        get_dispatcher().dispatch_all(self.dispatches)

    # --- outcomes ---------------------------------------------------------------------------
    def settle(self, node: NodePlan, attempt: int, outcome: Outcome, *, inline_input: Any = "") -> None:
        """Records how an attempt ended and applies the node's policy: retry, ``timeout_action``,
        ``fallback_output``, the ``fallback`` node, failure edges, or the execution's failure.

        ``inline_input`` is the rendered config of a node run inline (no ``node.started``
        event was written for it); the default ``""`` means the node ran on a worker.
        """
        self.release_limit(node.id)
        clean = self.redactor.clean
        extra: dict[str, Any] = {}
        inline = inline_input != ""
        if inline:
            extra = {"attempt": attempt, "input": clean(inline_input)}
        if outcome.circuit:
            extra["circuit"] = outcome.circuit
        if outcome.ok:
            output, size = self.redactor.clean_sized(outcome.output)
            self.append("node.succeeded", node.id, {"output": self.offloaded(node, attempt, output, size), **extra})
            self._stand_in(node)
            return
        error = outcome.error
        assert error is not None
        policy = node.policy
        timed_out = isinstance(error, NodeTimeout)
        action = policy.timeout_action if timed_out else None
        error_data = clean(error.to_dict())
        if action == "ignore":
            self.append("node.succeeded", node.id, {"output": None, "ignored_error": error_data, **extra})
            self._stand_in(node)
            return
        retryable = error.retryable and action not in ("cancel_and_cleanup", "fallback")
        # Counted from the node's first attempt in this run (an execution retry starts it anew).
        tried = attempt - self.state.nodes[node.id].first_attempt + 1
        if not inline and retryable and policy.may_retry(tried):
            eta = timezone.now() + timedelta(seconds=policy.retry_delay(tried + 1))
            self.append("node.retrying", node.id, {"error": error_data, "next_attempt": attempt + 1,
                                                   "scheduled_at": eta.isoformat(), **extra})
            executor = get_executor(node.type)
            self.dispatch(Dispatch("node", str(self.journal.execution.pk), node.id, attempt + 1, eta, executor.queue))
            return
        falls_back = action in (None, "fallback")
        if falls_back and policy.has_fallback_output:
            try:
                with config_field("fallback_output"):
                    output = clean(render_value(policy.fallback_output, self.base_context()))
            except ExpressionError as exc:
                failed = as_node_error(exc)
                self.append("node.failed", node.id, {"error": clean(failed.to_dict()), **extra})
                self._failed(node, failed.message, clean(failed.to_dict()))
                return
            self.append("node.succeeded", node.id, {"output": output, "fallback": "fallback_output",
                                                    "replaced_error": error_data, **extra})
            self._stand_in(node)
            return
        if falls_back and self._fallback_open(node):
            # The branch goes on with what the fallback node makes of it (``_stand_in``).
            self.append("node.falling_back", node.id, {"error": error_data, "fallback": policy.fallback, **extra})
            return
        self.append("node.timed_out" if timed_out else "node.failed", node.id, {"error": error_data, **extra})
        self._failed(node, error.message, error_data)

    def offloaded(self, node: NodePlan, attempt: int, output: Any, size: int | None = None) -> Any:
        """``output``, or its reference once kept in the payload store (over the payload limit);
        ``size``: its JSON's length when known already."""
        if self._payload_limit is None:
            self._payload_limit = payloads.limit_of(self.plan.payload_limit)
        execution = self.journal.execution
        return payloads.offload(output, self._payload_limit, tenant_id=execution.tenant_id,
                                execution_id=execution.pk, node_id=node.id, attempt=attempt, size=size)

    def _fallback_open(self, node: NodePlan) -> bool:
        """Whether the node's fallback node can still stand in for it (it has not ended)."""
        fallback = node.policy.fallback
        return bool(fallback) and fallback in self.state.nodes and not self.state.nodes[fallback].terminal

    def _stand_in(self, fallback: NodePlan) -> int:
        """A node ended: each node falling back on it takes its outcome - its output, or its
        failure (then that node's failure edges, or the execution's failure, apply). Returns
        how many it stood in for."""
        ended = self.state.nodes[fallback.id]
        served = 0
        for node_id in self.plan.fallback_for.get(fallback.id, ()):
            waiting = self.state.nodes[node_id]
            if waiting.status != "falling_back":
                continue
            node = self.plan.nodes[node_id]
            served += 1
            self._revisit = True
            if ended.status == "succeeded":
                self.append("node.succeeded", node_id, {"output": ended.output, "fallback": fallback.id,
                                                        "replaced_error": waiting.error})
                self._stand_in(node)
            else:
                message = (waiting.error or {}).get("message", "failed")
                error = {**(waiting.error or {}), "fallback_error": ended.error}
                self.append("node.failed", node_id, {"error": error})
                self._failed(node, f"{message} (its fallback {fallback.id} {ended.status} too)", error)
        return served

    def _failed(self, node: NodePlan, message: str, error_data: dict[str, Any]) -> None:
        """A node ended failed: the nodes falling back on it fail with it; the execution fails
        unless a failure edge takes it on (or it is compensating already)."""
        if self._stand_in(node) or node.handles_failure:
            return  # as a fallback, the nodes it stood in for carry its failure
        self.fail({"code": "node_failed", "message": f"Node {node.id} failed: {message}",
                   "node_id": node.id, "error": error_data})

    def fail(self, error: dict[str, Any]) -> None:
        """Ends the execution as failed - after its compensation steps, when some are due.
        ``error`` is redacted (its message may quote a rendered value)."""
        if self.state.status != "running" or self.state.compensation is not None:
            return  # failing already
        error = self.redactor.clean(error)
        due = self._compensations_due()
        self._cancel_open_nodes("the execution failed", keep=self.plan.compensation_nodes | set(due))
        if due:
            self.append("execution.compensating", "", {"error": error, "nodes": due, "ending": "failed"})
            self._compensate_next()
            return
        self._skip_compensation_steps("no compensation was due")
        self.append("execution.failed", "", {"error": error})

    def _compensations_due(self) -> list[str]:
        """The compensation steps this failure calls for, in the order they run: those undoing a
        node (``compensates``) latest completed first, then the others in document order."""
        nodes = self.state.nodes
        undoing: list[tuple[Any, int, str]] = []
        others: list[str] = []
        for index, step in enumerate(self.plan.compensation):
            if step.when_failed and nodes[step.when_failed].status not in ("failed", "timed_out", "falling_back"):
                continue
            if step.compensates:
                done = nodes[step.compensates]
                if done.status != "succeeded":
                    continue
                undoing.append((done.finished_at, index, step.node))
            else:
                others.append(step.node)
        ordered = [node for _finished, _index, node in sorted(undoing, key=lambda item: (item[0], -item[1]),
                                                              reverse=True)]
        due: list[str] = []
        for node_id in [*ordered, *others]:
            if node_id not in due and nodes[node_id].status == "pending":
                due.append(node_id)
        return due

    def _compensate_next(self) -> None:
        """Runs the compensation steps one after the other; once all have ended, the execution
        fails with the original error and how the compensation went."""
        compensation = self.state.compensation
        for node_id in compensation["nodes"]:
            current = self.state.nodes[node_id]
            if current.status == "pending" and current.scheduled_at is None:
                self._start(self.plan.nodes[node_id])
                if not self.state.nodes[node_id].terminal:
                    return
            elif not current.terminal:
                return
        results = {node_id: self.state.nodes[node_id].status for node_id in compensation["nodes"]}
        status = "completed" if all(value == "succeeded" for value in results.values()) else "failed"
        self._skip_compensation_steps("no compensation was due")
        self.append("execution.cancelled" if compensation.get("ending") == "cancelled" else "execution.failed", "", {
            "error": {**(compensation["error"] or {}), "compensated": status == "completed", "compensation": results},
            "compensation": status,
        })

    def _skip_compensation_steps(self, reason: str) -> None:
        for node_id in self.plan.compensation_nodes:
            if self.state.nodes[node_id].status == "pending":
                self.append("node.skipped", node_id, {"reason": reason})

    def cancel(self, error: dict[str, Any], *, compensate: bool = False) -> None:
        """Ends the execution as cancelled; with ``compensate``, after the compensation steps
        undoing what succeeded (those with ``compensates``, and those with no condition)."""
        due = self._compensations_due() if compensate and self.state.compensation is None else []
        if due:
            self._cancel_open_nodes("the execution was cancelled", keep=self.plan.compensation_nodes | set(due))
            self.append("execution.compensating", "", {"error": error, "nodes": due, "ending": "cancelled"})
            self._compensate_next()
            return
        self._cancel_open_nodes("the execution was cancelled")
        self.append("execution.cancelled", "", {"error": error})

    def _cancel_open_nodes(self, reason: str, keep: frozenset[str] = frozenset()) -> None:
        for node_id, node in self.state.nodes.items():
            if not node.terminal and node_id not in keep:
                self.release_limit(node_id)
                self.append("node.cancelled", node_id, {"reason": reason})

    # --- limits ------------------------------------------------------------------------------
    def admit_limit(self, node: NodePlan, attempt: int, queue: str) -> bool:
        """Whether the node may start now under its limit (always, without one). If not, it
        waits for its turn (``node.waiting``) or is scheduled for when its rate allows
        (``node.scheduled``), and False."""
        if node.limit is None:
            return True
        current = self.state.nodes[node.id]
        key = node.limit.key(self.journal.execution.tenant_id)
        promised = current.status == "pending" and current.limit_key == key and current.scheduled_at is not None
        book = self._limit_book()
        if key not in book:
            book.lock(self._limit_keys(key))
        decision = book.decide(node.limit, key, running_here=self._limit_delta[key], promised=promised)
        if decision.verdict == "go":
            return True
        if decision.verdict == "wait":
            if not (current.status == "waiting" and current.limit_key == key):
                self.append("node.waiting", node.id, {"reason": "limit", "limit": key,
                                                      "since": timezone.now().isoformat()})
            return False
        assert decision.at is not None
        eta = datetime.fromtimestamp(decision.at, UTC)
        self.append("node.scheduled", node.id, {"scheduled_at": eta.isoformat(), "limit": key})
        self.dispatch(Dispatch("node", str(self.journal.execution.pk), node.id, attempt, eta, queue))
        return False

    def _limit_book(self) -> limits.LimitBook:
        if self._limits is None:
            self._limits = limits.LimitBook()
            self.journal.before_flush.append(self._limits.write)
        return self._limits

    def _limit_keys(self, key: str) -> set[str]:
        """``key`` and the limits of the other nodes this step may start (those not started
        yet, or waiting for their limit): locked together, in one round trip, the first time the
        step decides on a limit."""
        tenant_id = self.journal.execution.tenant_id
        nodes = self.state.nodes
        return {key} | {node.limit.key(tenant_id) for node in self.plan.limited
                        if nodes[node.id].status in ("pending", "waiting")}

    def holding(self, node: NodePlan) -> dict[str, Any]:
        """What a ``node.started`` event says of the limit the attempt now holds."""
        if node.limit is None:
            return {}
        key = node.limit.key(self.journal.execution.tenant_id)
        self._limit_delta[key] += 1
        return {"limit": key}

    def release_limit(self, node_id: str) -> None:
        """The node stops running: the limit it held has room for the oldest waiter."""
        current = self.state.nodes[node_id]
        if current.status != "running" or not current.limit_key:
            return
        key = current.limit_key
        self._limit_delta[key] -= 1
        for execution_id in limits.waiters(key, 1):
            self.dispatch(Dispatch("advance", execution_id, queue="light"))

    def finish_if_done(self) -> None:
        state = self.state
        compensation_nodes = self.plan.compensation_nodes
        if state.status != "running" or state.compensation is not None or any(
                not node.terminal for node_id, node in state.nodes.items() if node_id not in compensation_nodes):
            return
        try:
            with config_field("output"):
                output = self.redactor.clean(render_value(self.plan.output, self.base_context()))
        except ExpressionError as exc:
            self.fail({"code": "output_error", "message": f"The workflow output failed: {as_node_error(exc).message}"})
            return
        schema = self.plan.spec.spec.output_schema
        if schema:
            try:
                jsonschema.validate(output, schema)
            except jsonschema.ValidationError as exc:
                self.fail({"code": "invalid_output", "message": f"The output does not match output_schema: "
                           f"{exc.message}", "path": list(exc.absolute_path)})
                return
        self._skip_compensation_steps("the execution succeeded")
        self.append("execution.succeeded", "", {"output": output})

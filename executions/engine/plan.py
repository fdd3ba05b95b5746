"""A workflow spec compiled once into what the scheduler needs: nodes in topological order,
their inbound and outbound edges, their executor and their resolved policy."""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema

from executions.engine.breakers import breaker_key
from executions.engine.circuits import BreakerPlan
from executions.engine.limits import LimitPlan
from executions.executors import is_light
from mbflow_site.errors import ApiError
from workflows.models import WorkflowVersion
from workflows.public import spec_for
from workflows.spec.models import EdgeSpec, NodeSpec, RetryPolicy, WorkflowSpec

# A node without a timeout may take this long (plus the worker lease) on a worker.
DEFAULT_LEASE_SECONDS = 300.0
LEASE_GRACE_SECONDS = 30.0
NO_RETRY = RetryPolicy(max_attempts=1, jitter=False)
_SENTINEL: Any = object()


@dataclass(frozen=True, slots=True)
class NodePolicy:
    """How one node is run: resolved once from the node and the workflow's defaults."""

    timeout: float | None
    retry: RetryPolicy
    timeout_action: str | None
    fallback: str | None
    fallback_output: Any = _SENTINEL

    @property
    def has_fallback_output(self) -> bool:
        return self.fallback_output is not _SENTINEL

    def retry_delay(self, next_attempt: int) -> float:
        delay = self.retry.delay_before(next_attempt)
        if self.retry.jitter:
            delay *= random.uniform(0.5, 1.0)
        return delay

    def may_retry(self, attempt: int) -> bool:
        return attempt < self.retry.max_attempts

    @property
    def lease_seconds(self) -> float:
        return open_lease_seconds(self.timeout)


def open_lease_seconds(timeout: float | None) -> float:
    """The lease of a started attempt that no worker holds: waiting in the broker's queue (it
    may wait this long), or handed over by its run (``Suspend``)."""
    return (timeout or DEFAULT_LEASE_SECONDS) + LEASE_GRACE_SECONDS


@dataclass(frozen=True, slots=True)
class EdgePlan:
    index: int
    source: str
    target: str
    on: str
    port: str | None
    condition: str | None


@dataclass(frozen=True, slots=True)
class NodePlan:
    id: str
    type: str
    config: dict[str, Any]
    when: str | bool | None
    light: bool
    inbound: tuple[EdgePlan, ...]
    outbound: tuple[EdgePlan, ...]
    policy: NodePolicy
    merge_mode: str  # all | first | any
    breaker: BreakerPlan | None = None
    limit: LimitPlan | None = None

    @property
    def handles_failure(self) -> bool:
        """A failure of this node is routed somewhere instead of failing the execution."""
        return any(edge.on in ("failure", "always") for edge in self.outbound)


@dataclass(frozen=True, slots=True)
class CompensationPlan:
    node: str
    when_failed: str | None
    compensates: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    spec: WorkflowSpec
    nodes: dict[str, NodePlan]  # in topological order
    order: tuple[str, ...]
    uses_secrets: bool
    version: int | None = None
    fallback_for: dict[str, tuple[str, ...]] = field(default_factory=dict)  # fallback node -> the nodes it serves
    compensation: tuple[CompensationPlan, ...] = ()
    # The compensation steps off the main path (no inbound edge): they run only to compensate.
    # One that an edge also reaches runs then as any node, or else to compensate.
    compensation_nodes: frozenset[str] = frozenset()
    limited: tuple[NodePlan, ...] = ()  # the nodes with a concurrency or rate limit
    guarded: tuple[NodePlan, ...] = ()  # the light nodes with a circuit breaker (run inline)

    @property
    def name(self) -> str:
        return self.spec.metadata.name

    def after(self, node_id: str) -> set[str]:
        """``node_id`` and every node its edges lead to, directly or not."""
        found = {node_id}
        pending = [node_id]
        while pending:
            for edge in self.nodes[pending.pop()].outbound:
                if edge.target not in found:
                    found.add(edge.target)
                    pending.append(edge.target)
        return found

    @property
    def output(self) -> Any:
        return self.spec.spec.output

    @property
    def variables(self) -> dict[str, Any]:
        return self.spec.spec.variables

    @property
    def payload_limit(self) -> int | None:
        """``spec.payload_limit`` in bytes (None: the server's default)."""
        return getattr(self.spec.spec, "payload_limit", None)


def _policy(node: NodeSpec, spec: WorkflowSpec) -> NodePolicy:
    defaults = spec.spec.defaults
    fallback_output = node.fallback_output if "fallback_output" in node.model_fields_set else _SENTINEL
    return NodePolicy(
        timeout=node.timeout if node.timeout is not None else defaults.timeout,
        retry=node.retry or defaults.retry or NO_RETRY,
        timeout_action=node.timeout_action,
        fallback=node.fallback,
        fallback_output=fallback_output,
    )


def _edges(spec: WorkflowSpec) -> list[EdgePlan]:
    edges = [
        EdgePlan(index, edge.from_, edge.to, _outcome(edge), edge.port, edge.condition)
        for index, edge in enumerate(spec.edges)
    ]
    # A fallback node runs when its node fails (after its retries), and the node then succeeds
    # or fails as its fallback did: an implicit edge of its own kind.
    for node in spec.nodes:
        if node.fallback and node.fallback in spec.node_map:
            edges.append(EdgePlan(-1, node.id, node.fallback, "fallback", None, None))
    return edges


def _outcome(edge: EdgeSpec) -> str:
    """``port: failure`` (every type's failure port) means ``on: failure`` unless ``on`` says otherwise."""
    return "failure" if edge.port == "failure" and "on" not in edge.model_fields_set else edge.on


def _topological(nodes: list[NodeSpec], edges: list[EdgePlan]) -> list[str]:
    indegree = {node.id: 0 for node in nodes}
    children: dict[str, list[str]] = {node.id: [] for node in nodes}
    for edge in edges:
        if edge.source in indegree and edge.target in indegree:
            indegree[edge.target] += 1
            children[edge.source].append(edge.target)
    queue = deque(node.id for node in nodes if indegree[node.id] == 0)
    order: list[str] = []
    while queue:
        current = queue.popleft()
        order.append(current)
        for child in children[current]:
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    if len(order) != len(nodes):
        raise ValueError("the workflow graph has a cycle")
    return order


def compile_plan(spec: WorkflowSpec, version: int | None = None) -> Plan:

    edges = _edges(spec)
    order = _topological(spec.nodes, edges)
    inbound: dict[str, list[EdgePlan]] = {node_id: [] for node_id in order}
    outbound: dict[str, list[EdgePlan]] = {node_id: [] for node_id in order}
    for edge in edges:
        if edge.source in inbound and edge.target in inbound:
            inbound[edge.target].append(edge)
            outbound[edge.source].append(edge)
    node_map = spec.node_map
    nodes = {}
    for node_id in order:
        node = node_map[node_id]
        nodes[node_id] = NodePlan(
            id=node_id,
            type=node.type,
            config=node.config,
            when=node.when,
            light=is_light(node.type),
            inbound=tuple(inbound[node_id]),
            outbound=tuple(outbound[node_id]),
            policy=_policy(node, spec),
            merge_mode=str(node.config.get("mode", "all")) if node.type == "merge" else "all",
            breaker=BreakerPlan(breaker_key(node.circuit_breaker, spec.metadata.name, node_id), node.circuit_breaker)
            if node.circuit_breaker else None,
            limit=LimitPlan(node.limit or f"{spec.metadata.name}:{node_id}", node.concurrency, node.rate_limit)
            if node.concurrency or node.rate_limit else None,
        )
    text = json.dumps(spec.model_dump(mode="json", by_alias=True), default=str)
    fallback_for: dict[str, list[str]] = {}
    for node in spec.nodes:
        if node.fallback and node.fallback in node_map:
            fallback_for.setdefault(node.fallback, []).append(node.id)
    compensation = tuple(CompensationPlan(step.node, step.when_failed, step.compensates)
                         for step in spec.spec.compensation if step.node in node_map)
    return Plan(spec=spec, nodes=nodes, order=tuple(order), uses_secrets="secrets" in text, version=version,
                fallback_for={key: tuple(value) for key, value in fallback_for.items()}, compensation=compensation,
                compensation_nodes=frozenset(step.node for step in compensation if not nodes[step.node].inbound),
                limited=tuple(node for node in nodes.values() if node.limit is not None),
                guarded=tuple(node for node in nodes.values() if node.breaker is not None and node.light))


@lru_cache(maxsize=512)
def plan_for_version(version_id: int) -> Plan:
    """Versions never change, so a plan is compiled once per version and process."""

    version = WorkflowVersion.objects.get(pk=version_id)
    return compile_plan(spec_for(version), version.number)


@lru_cache(maxsize=256)
def _plan_for_adhoc(execution_id: str, document: str) -> Plan:
    return compile_plan(WorkflowSpec.model_validate(json.loads(document)))


def plan_for(version_id: int | None, execution_id: Any, adhoc_spec: dict[str, Any] | None) -> Plan:
    if version_id is not None:
        return plan_for_version(version_id)
    if adhoc_spec is None:
        raise ValueError("an execution without a version must carry its document")
    return _plan_for_adhoc(str(execution_id), json.dumps(adhoc_spec))


class InvalidInput(ApiError):
    default_code = "invalid_input"


def check_input(plan: Plan, data: Any) -> None:
    """Validates an execution's input against the workflow's ``input_schema`` before anything runs."""
    schema = plan.spec.spec.input_schema
    if not schema:
        return
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        listed = [{"path": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message} for e in errors]
        first = listed[0]
        raise InvalidInput(f"The input is not valid at {first['path']}: {first['message']}",
                           details={"path": first["path"], "errors": listed})

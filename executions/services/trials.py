"""Test runs from the designer: a draft run with pinned data, and one step run on its own.

Both are ad hoc executions (the document travels with the request; nothing is stored as a
workflow or a version). Pinned data is never read from storage here: the designer keeps it on the
server (a workflow's pinned data, apart from its document) and sends it with each test run, so a
production run (a version started by the API, a trigger, a schedule) cannot use it.

- ``pinned``: node id → the output that node keeps without running (a ``node.reused`` event
  whose ``from`` is ``pinned``): the HTTP call it would make is not made.
- ``step``: run that node alone. The document is cut down to the node and every node before it
  (by edges and fallbacks); each of those must have its output in ``pinned`` (the designer sends
  the last run's outputs and the pinned data), and the node itself runs as it would in a run.
"""

from __future__ import annotations

from typing import Any

from executions.models import Execution
from executions.services.executions import do_start_adhoc
from mbflow_site.errors import ApiError
from workflows.models import Tenant
from workflows.spec.models import WorkflowSpec


def _field_error(name: str, message: str) -> ApiError:
    return ApiError(message, code="validation_error", details={"fields": {name: [message]}})


def _predecessors(spec: WorkflowSpec) -> dict[str, set[str]]:
    before: dict[str, set[str]] = {node.id: set() for node in spec.nodes}
    for edge in spec.edges:
        if edge.to in before:
            before[edge.to].add(edge.from_)
    for node in spec.nodes:
        if node.fallback and node.fallback in before:
            before[node.fallback].add(node.id)
    return before


def ancestors(spec: WorkflowSpec, node_id: str) -> set[str]:
    """Every node that runs before ``node_id`` on a way to it (edges and fallbacks)."""
    before = _predecessors(spec)
    found: set[str] = set()
    pending = [node_id]
    while pending:
        for source in before.get(pending.pop(), ()):
            if source not in found and source != node_id:
                found.add(source)
                pending.append(source)
    return found


def step_document(spec: WorkflowSpec, node_id: str) -> WorkflowSpec:
    """The document cut down to ``node_id`` and the nodes before it: no output mapping,
    compensation, triggers or metrics, and no fallback that would leave the cut."""
    keep = ancestors(spec, node_id) | {node_id}
    data = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    body = data["spec"]
    nodes = []
    for node in body["nodes"]:
        if node["id"] not in keep:
            continue
        if node.get("fallback") and (node["id"] == node_id or node["fallback"] not in keep):
            node = {key: value for key, value in node.items() if key != "fallback"}
        nodes.append(node)
    body["nodes"] = nodes
    body["edges"] = [edge for edge in body.get("edges", []) if edge["from"] in keep and edge["to"] in keep]
    for key in ("output", "compensation", "triggers", "metrics"):
        body.pop(key, None)
    return WorkflowSpec.model_validate(data)


def check_pinned(spec: WorkflowSpec, pinned: Any) -> dict[str, Any]:
    if pinned is None:
        return {}
    if not isinstance(pinned, dict):
        raise _field_error("pinned", "An object of node ids to the output each keeps without running.")
    for node_id in pinned:
        if node_id not in spec.node_map:
            raise _field_error(f"pinned.{node_id}", f"No node {node_id!r} in the document.")
    return pinned


def do_test_run(tenant: Tenant, spec: WorkflowSpec, *, data: Any = None, pinned: Any = None, step: Any = None,
                metadata: dict[str, Any] | None = None, by: str = "") -> tuple[Execution, bool]:
    """An ad hoc run of ``spec`` using ``pinned`` outputs; with ``step``, that node alone."""
    outputs = check_pinned(spec, pinned)
    trigger: dict[str, Any] = {"type": "adhoc", "by": by, "test": "draft"}
    if step is not None:
        if not isinstance(step, str) or step not in spec.node_map:
            raise _field_error("step", f"No node {step!r} in the document.")
        before = ancestors(spec, step)
        missing = sorted(node for node in before if node not in outputs)
        if missing:
            raise ApiError(
                f"Testing {step!r} alone needs the output of {', '.join(repr(n) for n in missing)}, which "
                f"come{'s' if len(missing) == 1 else ''} before it: run the workflow once, or pin data on "
                f"{'it' if len(missing) == 1 else 'them'}.",
                code="validation_error",
                details={"fields": {f"pinned.{node}": ["Needed to test this step."] for node in missing},
                         "nodes": missing},
            )
        spec = step_document(spec, step)
        outputs = {node: output for node, output in outputs.items() if node in before}
        trigger = {**trigger, "test": "step", "step": step}
    return do_start_adhoc(tenant, spec, data=data, trigger=trigger, metadata=metadata, pinned=outputs)

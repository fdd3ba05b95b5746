"""The expression playground: one expression evaluated on a run's data, or on given data.

``evaluate_expression`` builds the context a node of an execution saw (``input``, ``nodes``,
``execution``, ``vars``, and for a ``node`` its ``upstream`` and ``output``) from the tenant's own
execution, lays the caller's ``context`` over it, and runs the expression in the same sandbox and
under the same CPU and size budget as the engine (workflows.spec.expressions). Secrets are there
by name only: each reads ``[secret]`` and its value is never read from the vault, so no answer can
hold one.
"""

from __future__ import annotations

import json
from typing import Any

from executions.engine.plan import plan_for
from executions.engine.values import NO_SECRETS
from executions.models import Execution, Secret
from executions.services.executions import get_execution
from mbflow_site.errors import ApiError
from workflows.models import Tenant
from workflows.spec.expressions import (
    CONTEXT_NAMES,
    ExpressionError,
    ExpressionTimeout,
    budget,
    evaluate,
    render_value,
)
from workflows.spec.expressions import Secret as SecretValue
from workflows.spec.expressions.limits import current_limits

# Names a caller's context may set (secrets come from the tenant's vault, by name only).
SETTABLE = CONTEXT_NAMES - {"secrets"}
# Wall-clock bound of one evaluation, beside the CPU budget every expression has (limits.py).
WALL_SECONDS = 3.0


def _field_error(name: str, message: str, code: str = "validation_error", **extra: Any) -> ApiError:
    return ApiError(message, code=code, details={"fields": {name: [message]}, **extra})


def secret_names(tenant: Tenant) -> list[str]:
    """The tenant's secret names, sorted (their values are never read here)."""
    return sorted(Secret.objects.filter(tenant=tenant).values_list("name", flat=True))


def _masked_secrets(tenant: Tenant) -> dict[str, SecretValue]:
    return {name: SecretValue(name, "") for name in secret_names(tenant)}


def _execution_context(execution: Execution, node: str | None) -> dict[str, Any]:
    runs = {run.node_id: run for run in execution.node_runs.all()}
    context: dict[str, Any] = {
        "input": execution.input,
        "execution": {
            "id": str(execution.pk),
            "workflow": execution.workflow.name if execution.workflow else (execution.adhoc_spec or {}).get(
                "metadata", {}).get("name"),
            "version": execution.version.number if execution.version else None,
            "started_at": execution.started_at.isoformat() if execution.started_at else None,
        },
        "nodes": {node_id: {"output": run.output, "status": run.status, "error": run.error, "attempt": run.attempt}
                  for node_id, run in runs.items()},
    }
    if node is not None:
        if node not in runs:
            raise _field_error("node", f"Execution {execution.pk} has no node {node!r}.")
        context["upstream"] = _upstream(execution, node, runs)
        context["output"] = runs[node].output
    return context


def _upstream(execution: Execution, node: str, runs: dict[str, Any]) -> Any:
    """What reached ``node`` as ``upstream`` (as step.node_context builds it): the output of the
    one source whose edge was taken, the sources' objects merged when several, else the input.
    An edge counts as taken by its source's outcome against its ``on`` (ports and conditions are
    not recorded by the run, so a source that ran is counted)."""
    try:
        plan = plan_for(execution.version_id, execution.pk, execution.adhoc_spec)
    except Exception:  # a document that no longer compiles: no edges to follow
        return execution.input
    inputs: dict[str, Any] = {}
    for edge in plan.nodes[node].inbound if node in plan.nodes else ():
        source = runs.get(edge.source)
        if source is None or source.status not in ("succeeded", "failed"):
            continue
        if edge.on == "always" or (edge.on == "failure") == (source.status == "failed"):
            inputs[edge.source] = source.output
    if len(inputs) == 1:
        return next(iter(inputs.values()))
    if not inputs:
        return execution.input
    merged: dict[str, Any] = {}
    for value in inputs.values():
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _variables(execution: Execution, context: dict[str, Any]) -> Any:
    try:
        plan = plan_for(execution.version_id, execution.pk, execution.adhoc_spec)
    except Exception:  # a document that no longer compiles: no variables
        return {}
    if not plan.variables:
        return {}
    try:
        return render_value(plan.variables, context)
    except ExpressionError:
        return {}


def evaluate_expression(tenant: Tenant, expression: Any, *, execution_id: Any = None, node: Any = None,
                        context: Any = None) -> dict[str, Any]:
    """``{"value", "type"}``: the expression's value, JSON-safe with secrets masked. A 400 naming
    ``expression``, ``execution``, ``node`` or ``context.<name>`` for bad input; an expression that
    fails or goes over its budget is a 400 naming ``expression``, with its message."""
    if not isinstance(expression, str) or not expression.strip():
        raise _field_error("expression", "An expression (text) is required.")
    if node is not None and not isinstance(node, str):
        raise _field_error("node", "A node id (text).")
    if node is not None and execution_id is None:
        raise _field_error("node", "`node` reads a node of an `execution`: give the execution too.")
    if context is not None and not isinstance(context, dict):
        raise _field_error("context", "An object of names (input, nodes, vars, upstream, ...) to values.")
    scope: dict[str, Any] = {"input": {}, "nodes": {}, "vars": {}, "execution": {}}
    if execution_id is not None:
        execution = get_execution(tenant, execution_id)
        scope.update(_execution_context(execution, node))
        scope["secrets"] = _masked_secrets(tenant)
        scope["vars"] = _variables(execution, scope)
    for name, value in (context or {}).items():
        if name not in SETTABLE:
            raise _field_error(f"context.{name}", f"`{name}` cannot be set here; the names are "
                               f"{', '.join(sorted(SETTABLE))} (secrets come from the tenant's vault).")
        scope[name] = value
    scope["secrets"] = scope.get("secrets") or _masked_secrets(tenant)
    try:
        with budget(WALL_SECONDS):
            value = evaluate(expression, scope)
    except ExpressionTimeout:
        raise _field_error("expression", f"The expression took longer than {WALL_SECONDS:g} s.",
                           code="expression_limit") from None
    except ExpressionError as exc:
        raise _field_error("expression", exc.message, code=exc.code) from None
    cleaned = NO_SECRETS.clean(value)
    size = len(json.dumps(cleaned, ensure_ascii=False, default=str))
    limit = current_limits().max_size
    if size > limit:
        raise _field_error("expression", f"The value is {size:,} characters as JSON; the playground shows at most "
                           f"{limit:,}.", code="expression_limit")
    return {"value": cleaned, "type": _type_name(cleaned)}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"

"""Use cases on executions: start (by workflow, ad hoc), read, cancel, re-run."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTransform

from executions.engine import runner
from executions.engine.plan import Plan, check_input, compile_plan, plan_for_version
from executions.engine.projection import EXECUTION_FIELDS
from executions.engine.store import RowUpdate
from executions.models import Execution
from executions.services.waiting import wait_for_finish
from mbflow_site.errors import UNAVAILABLE, ApiError, Conflict, NotFound
from mbflow_site.queries import Precondition, PreconditionFailed
from workflows.models import Tenant, Workflow
from workflows.public import get_version, get_workflow, recent_workflows
from workflows.spec.models import WorkflowSpec

logger = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 300.0


def check_wait(raw: Any) -> float | None:
    if raw in (None, "", False):
        return None
    if raw is True:
        return 30.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ApiError("`wait` is a number of seconds.", code="validation_error",
                       details={"fields": {"wait": ["A number of seconds."]}}) from None
    if value < 0:
        raise ApiError("`wait` cannot be negative.", code="validation_error",
                       details={"fields": {"wait": ["Not negative."]}})
    return min(value, MAX_WAIT_SECONDS)


def _start(execution: Execution, plan: Plan, reuse: dict[str, Any] | None = None,
           reused_from: str | None = None, updates: Sequence[RowUpdate] = (),
           only_if: Precondition | None = None) -> tuple[Execution, bool]:
    check_input(plan, execution.input)
    try:
        return runner.start(execution, plan, reuse, reused_from, updates, only_if), True
    except IntegrityError:
        if not execution.idempotency_key:
            raise
        # Lost a race with a start carrying the same idempotency key: that one wins.
        existing = Execution.objects.filter(tenant_id=execution.tenant_id,
                                            idempotency_key=execution.idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    except UNAVAILABLE:
        if not _stored(execution):
            raise  # nothing was stored: a 503, and starting again is safe
        # The start committed; what failed ran after the commit (the broker or Redis went away
        # while its first nodes were handed on). Those nodes wait with a lease, which the lease
        # sweep re-dispatches once the broker is back: the execution is started, not half-made,
        # so the caller is told so rather than invited by a 503 to start a second one.
        logger.warning("Execution %s started, but handing its work on failed; the lease sweep will send it",
                       execution.pk, exc_info=True)
        return execution, True


def _stored(execution: Execution) -> bool:
    try:
        return Execution.objects.filter(pk=execution.pk).exists()
    except UNAVAILABLE:
        return False  # cannot tell: the 503 stands (an idempotency key makes a retry safe)


def _existing(tenant: Tenant, idempotency_key: str | None) -> Execution | None:
    if not idempotency_key:
        return None
    return Execution.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()


def do_start_execution(tenant: Tenant, workflow_ref: str | Workflow, *, version: int | None = None,
                       data: Any = None, idempotency_key: str | None = None, trigger: dict[str, Any] | None = None,
                       metadata: dict[str, Any] | None = None,
                       stamp: Callable[[Execution], Sequence[RowUpdate]] | None = None,
                       only_if: Precondition | None = None) -> tuple[Execution, bool]:
    """Starts the workflow (its active version unless ``version``): a reference to one of the
    tenant's, or its row already read (with its active version). Returns (execution, created).
    ``stamp`` gives rows of other tables to write with the start, in its statement (the
    trigger that fired it: the new execution given). ``only_if``, with a row read earlier
    (a trigger its process kept): what the start's statement checks still holds, raising
    ``PreconditionFailed`` (nothing written) when it does not."""
    existing = _existing(tenant, idempotency_key)
    if existing is not None:
        return existing, False
    if isinstance(workflow_ref, Workflow):
        workflow = workflow_ref
    elif version is None:
        # As this process read it before: the start's statement checks it still is so.
        workflow, only_if = recent_workflows.get((tenant.pk, workflow_ref),
                                                 partial(get_workflow, tenant, workflow_ref, documents=False))
    else:
        workflow = get_workflow(tenant, workflow_ref, documents=False)
    pinned = get_version(workflow, version)
    execution = Execution(tenant=tenant, workflow=workflow, version=pinned, input=_input(data),
                          idempotency_key=idempotency_key or None, trigger=trigger or {"type": "api"},
                          metadata=metadata or {})
    try:
        return _start(execution, plan_for_version(pinned.pk), updates=stamp(execution) if stamp else (),
                      only_if=only_if)
    except PreconditionFailed:
        if not isinstance(workflow_ref, str):
            raise  # the caller read the row: it reads it again
        # Saved, renamed or deleted since this process read it: nothing was written; read it again.
        recent_workflows.forget((tenant.pk, workflow_ref))
        return do_start_execution(tenant, workflow_ref, data=data, idempotency_key=idempotency_key,
                                  trigger=trigger, metadata=metadata, stamp=stamp)


def do_start_adhoc(tenant: Tenant, spec: WorkflowSpec, *, data: Any = None, idempotency_key: str | None = None,
                   trigger: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                   pinned: dict[str, Any] | None = None) -> tuple[Execution, bool]:
    """Runs a document not stored as a workflow. ``pinned`` (a test run from the designer):
    node id → the output that node keeps without running (``node.reused`` from ``pinned``)."""
    existing = _existing(tenant, idempotency_key)
    if existing is not None:
        return existing, False
    execution = Execution(tenant=tenant, adhoc_spec=spec.model_dump(mode="json", by_alias=True, exclude_unset=True),
                          input=_input(data), idempotency_key=idempotency_key or None,
                          trigger=trigger or {"type": "adhoc"}, metadata=metadata or {})
    return _start(execution, compile_plan(spec), pinned or None, "pinned" if pinned else None)


def _input(data: Any) -> Any:
    return {} if data is None else data


_NO_INPUT: Any = object()


def do_rerun(execution: Execution, *, data: Any = _NO_INPUT, idempotency_key: str | None = None) -> Execution:
    """A new execution of the same pinned version (or document), with the same input unless
    ``data`` gives another."""
    new_input = execution.input if data is _NO_INPUT else _input(data)
    if execution.version_id is not None:
        assert execution.version is not None
        new = Execution(tenant_id=execution.tenant_id, workflow_id=execution.workflow_id, version=execution.version,
                        input=new_input, idempotency_key=idempotency_key or None,
                        trigger={"type": "rerun", "of": str(execution.pk)})
        return _start(new, plan_for_version(execution.version_id))[0]
    spec = WorkflowSpec.model_validate(execution.adhoc_spec)
    new = Execution(tenant_id=execution.tenant_id, adhoc_spec=execution.adhoc_spec, input=new_input,
                    idempotency_key=idempotency_key or None, trigger={"type": "rerun", "of": str(execution.pk)})
    return _start(new, compile_plan(spec))[0]


def do_replay(execution: Execution, from_node: Any, *, data: Any = _NO_INPUT, version: int | None = None,
              idempotency_key: str | None = None) -> Execution:
    """A new execution linked to ``execution`` (``replay_of``) that runs ``from_node`` and every
    node after it again - on ``version`` when given - while the other nodes that succeeded in
    the original keep their outputs (``node.reused``) instead of running."""
    if execution.version_id is not None:
        assert execution.workflow is not None
        pinned = get_version(execution.workflow, version) if version is not None else execution.version
        assert pinned is not None
        plan = plan_for_version(pinned.pk)
        new = Execution(tenant_id=execution.tenant_id, workflow_id=execution.workflow_id, version=pinned)
    else:
        if version is not None:
            raise _field_error("version", "An ad hoc execution has no versions.")
        plan = compile_plan(WorkflowSpec.model_validate(execution.adhoc_spec))
        new = Execution(tenant_id=execution.tenant_id, adhoc_spec=execution.adhoc_spec)
    if not isinstance(from_node, str) or from_node not in plan.nodes:
        raise _field_error("from", f"No node {from_node!r} in the version to replay on.")
    again = plan.after(from_node)
    reuse = {run.node_id: run.output for run in execution.node_runs.all()
             if run.status == "succeeded" and run.node_id in plan.nodes and run.node_id not in again}
    new.input = execution.input if data is _NO_INPUT else _input(data)
    new.idempotency_key = idempotency_key or None
    new.replay_of = execution
    new.trigger = {"type": "replay", "of": str(execution.pk), "from": from_node}
    return _start(new, plan, reuse)[0]


def _field_error(name: str, message: str) -> ApiError:
    return ApiError(message, code="validation_error", details={"fields": {name: [message]}})


def do_pause(execution: Execution) -> Execution:
    if not runner.pause(execution.pk):
        raise Conflict(f"Only a running execution can be paused; this one is {execution.status}.",
                       code="not_running", details={"status": execution.status})
    execution.refresh_from_db()
    return execution


def do_resume(execution: Execution) -> Execution:
    if not runner.resume(execution.pk):
        raise Conflict(f"Only a paused execution can be resumed; this one is {execution.status}.",
                       code="not_paused", details={"status": execution.status})
    execution.refresh_from_db()
    return execution


def do_retry(execution: Execution) -> Execution:
    if not runner.retry(execution.pk):
        raise Conflict(f"Only a failed execution can be retried; this one is {execution.status}.",
                       code="not_failed", details={"status": execution.status})
    execution.refresh_from_db()
    return execution


def do_cancel(execution: Execution, *, compensate: bool = False) -> Execution:
    if execution.status in ("succeeded", "failed", "cancelled"):
        raise Conflict(f"The execution already {execution.status}.", code="already_finished",
                       details={"status": execution.status})
    runner.cancel(execution.pk, "Cancelled through the API.", compensate=compensate)
    execution.refresh_from_db()
    return execution


def wait_and_reload(execution: Execution, wait: float | None) -> Execution:
    if wait and execution.status not in ("succeeded", "failed", "cancelled"):
        try:
            wait_for_finish(str(execution.pk), wait)
            # Only what the engine changes: the workflow and version already loaded stay cached.
            execution.refresh_from_db(fields=EXECUTION_FIELDS)
        except UNAVAILABLE:
            # The execution is stored and runs on; only watching it failed (Redis or the
            # database went away): it is answered as it started, for the caller to poll.
            logger.warning("Could not wait for execution %s", execution.pk, exc_info=True)
        execution.__dict__.pop("known_runs", None)
    return execution


def executions_of(tenant: Tenant) -> QuerySet[Execution]:
    return Execution.objects.filter(tenant=tenant).select_related("workflow", "version")


def get_execution(tenant: Tenant, ref: Any, fields: Sequence[str] = ()) -> Execution:
    """The tenant's execution ``ref``; with ``fields``, only those are loaded (``only``)."""
    try:
        execution_id = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No execution {ref!r}.") from None
    queryset = executions_of(tenant).filter(pk=execution_id)
    execution = (queryset.only(*fields) if fields else queryset).first()
    if execution is None:
        raise NotFound(f"No execution {ref!r}.")
    return execution


def filter_executions(queryset: QuerySet[Execution], tenant: Tenant, *, workflow: str | None = None,
                      status: str | None = None, created_after: datetime | None = None,
                      created_before: datetime | None = None, trigger: str | None = None,
                      id: str | None = None) -> QuerySet[Execution]:
    if id:
        # An id or the start of one: the ids between the prefix padded with 0s and with fs, a
        # range of the primary key's index (a LIKE on the id as text would read every row).
        digits = id.replace("-", "").lower()
        queryset = queryset.filter(pk__gte=uuid.UUID(digits.ljust(32, "0")), pk__lte=uuid.UUID(digits.ljust(32, "f")))
    if workflow:
        queryset = queryset.filter(workflow=get_workflow(tenant, workflow))
    if status:
        queryset = queryset.filter(status__in=status.split(","))
    if created_after:
        queryset = queryset.filter(created_at__gt=created_after)
    if created_before:
        queryset = queryset.filter(created_at__lt=created_before)
    if trigger:
        # An execution records what started it: {"type": "webhook", "id": <trigger id>, ...}.
        try:
            queryset = queryset.filter(trigger__id=str(uuid.UUID(trigger)))
        except ValueError:
            queryset = queryset.filter(trigger__type__in=trigger.split(","))
    return queryset


def filter_by_metadata(queryset: QuerySet[Execution], filters: dict[tuple[str, ...], str]) -> QuerySet[Execution]:
    """Keeps the executions whose ``metadata`` holds each value at its key path: the text as it
    is, or the JSON number, true, false or null it spells (``?metadata.priority=1`` finds 1 and "1")."""
    for number, (path, text) in enumerate(filters.items()):
        # Key by key, not as a "metadata__a__b" lookup string: a key named like a lookup
        # ("contains", "isnull") would be read as one.
        at: Any = "metadata"
        for key in path:
            at = KeyTransform(key, at)
        name = f"_metadata_{number}"
        match = Q(**{name: text})
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if value is None or isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
            match |= Q(**{name: value})  # None: a JSON null (a missing key is not matched)
        queryset = queryset.alias(**{name: at}).filter(match)
    return queryset

"""Spans made from the engine's committed events (a listener on its port, wired while tracing is on).

- ``execution.created``: a span in the trace of whatever started the run: a child of the
  request's span (``middleware``), or, started by a schedule or a consumer, a span of its own
  (``trigger <type>``). It links to the execution's trace; the execution's span links back
  (``TraceStart`` keeps which span it was until the run ends, maybe in another process).
- A node attempt that ends (succeeded, failed, timed out, retried, falling back, requeued,
  cancelled): its span, from its ``node.started`` to that end, with the waits in between as
  events (``node.waiting``, ``node.scheduled``), its error and the retry's due time. Its id is
  the one the attempt's ``http`` or ``llm`` calls sent as ``traceparent`` (``ids``).
- The execution ending: its span, from its creation to its end, every attempt's parent; a run
  after ``execution.retried`` gets a span of its own under it.

Spans are built here whole (the SDK's ``ReadableSpan``) from times the log holds, and handed to
the batch exporter: nothing is held open across steps or processes. Reading the times costs a
query per step that ends attempts, made only while tracing is on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.fields.json import KT
from opentelemetry import trace
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from executions.engine.projection import Event
from executions.executors.base import NodeContext
from executions.models import Execution, ExecutionEvent, NodeRun
from monitoring.models import TraceStart
from monitoring.tracing import ids, provider
from workflows.models import WorkflowVersion
from workflows.public import spec_for

logger = logging.getLogger(__name__)

EXECUTION_ENDS = {"execution.succeeded": StatusCode.OK, "execution.failed": StatusCode.ERROR,
                  "execution.cancelled": StatusCode.UNSET}
# How an attempt can end, and the span status it ends with.
ATTEMPT_ENDS = {"node.succeeded": StatusCode.OK, "node.failed": StatusCode.ERROR, "node.timed_out": StatusCode.ERROR,
                "node.retrying": StatusCode.ERROR, "node.falling_back": StatusCode.ERROR,
                "node.requeued": StatusCode.UNSET, "node.cancelled": StatusCode.UNSET}
WAITS = ("node.waiting", "node.scheduled")
SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


@dataclass(frozen=True)
class _Facts:
    """What never changes about an execution, kept per process."""

    tenant: str
    workflow: str
    version: int | None
    trigger: str
    created_at: datetime
    node_types: dict[str, str]
    parent_id: str | None
    parent_node_id: str


@lru_cache(maxsize=1024)
def _facts(execution_id: str) -> _Facts | None:
    row = (Execution.objects.filter(pk=execution_id)
           .values("tenant__slug", "workflow__name", "version_id", "version__number", "version__checksum", "trigger",
                   "created_at", "parent_id", "parent_node_id", "adhoc_spec").first())
    if row is None:
        return None
    if row["version_id"] is not None:
        spec = spec_for(WorkflowVersion(pk=row["version_id"], checksum=row["version__checksum"]))
        types = {node.id: node.type for node in spec.nodes}
    else:
        nodes = ((row["adhoc_spec"] or {}).get("spec") or {}).get("nodes") or []
        types = {node.get("id"): str(node.get("type")) for node in nodes if isinstance(node, dict)}
    return _Facts(row["tenant__slug"], row["workflow__name"] or "(ad hoc)", row["version__number"],
                  str((row["trigger"] or {}).get("type") or "api"), row["created_at"], types,
                  str(row["parent_id"]) if row["parent_id"] else None, row["parent_node_id"])


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=SAMPLED)


def _span(name: str, context: SpanContext, parent: SpanContext | None, start: datetime, end: datetime,
          attributes: dict[str, Any], *, status: StatusCode = StatusCode.UNSET, description: str | None = None,
          events: Sequence[SpanEvent] = (), links: Sequence[Link] = (), kind: SpanKind = SpanKind.INTERNAL
          ) -> ReadableSpan:
    return ReadableSpan(
        name, context=context, parent=parent, resource=provider.resource(),
        attributes={key: value for key, value in attributes.items() if value is not None}, events=events,
        links=links, kind=kind, status=Status(status, description if status == StatusCode.ERROR else None),
        start_time=_ns(start), end_time=max(_ns(end), _ns(start)), instrumentation_scope=provider.SCOPE)


def _execution_attributes(execution_id: Any, facts: _Facts) -> dict[str, Any]:
    return {"mbflow.execution.id": str(execution_id), "mbflow.tenant": facts.tenant,
            "mbflow.workflow": facts.workflow, "mbflow.workflow.version": facts.version,
            "mbflow.trigger": facts.trigger}


def _error_message(error: Any) -> str | None:
    if isinstance(error, dict):
        return f"{error.get('code', 'error')}: {error.get('message', '')}"[:1000]
    return str(error)[:1000] if error else None


# --- The listener ------------------------------------------------------------------------------


def on_execution_events(tenant_id: Any, execution_id: Any, events: Sequence[Event], version_id: int | None) -> None:
    if not provider.tracing_on():
        return
    execution_id = str(execution_id)
    facts = _facts(execution_id)
    if facts is None:
        return
    if any(event.type == "execution.created" for event in events):
        _started(execution_id, facts)
    ends = [event for event in events if event.type in ATTEMPT_ENDS and event.node_id]
    if ends:
        _attempts(execution_id, facts, ends)
    for event in events:
        if event.type in EXECUTION_ENDS:
            _execution(execution_id, facts, event)


def _started(execution_id: str, facts: _Facts) -> None:
    """The starter's span (a child of the request's span, if any), linked with the execution's trace."""
    tracer = provider.tracer()
    if tracer is None:
        return
    root = _context(ids.trace_id_of(execution_id), ids.execution_span_id(execution_id))
    in_request = trace.get_current_span().get_span_context().is_valid
    name = f"start {facts.workflow}" if in_request else f"trigger {facts.trigger} {facts.workflow}"
    with tracer.start_as_current_span(name, links=[Link(root, {"mbflow.link": "execution"})],
                                      attributes=_execution_attributes(execution_id, facts)) as span:
        started = span.get_span_context()
    # The same events published again (a step replayed) find the row there.
    with suppress(IntegrityError), transaction.atomic():
        TraceStart.objects.create(execution_id=execution_id, trace_id=f"{started.trace_id:032x}",
                                  span_id=f"{started.span_id:016x}")


def _attempts(execution_id: str, facts: _Facts, ends: list[Event]) -> None:
    """A span for each attempt that ended, from the node's events before it."""
    nodes = {event.node_id for event in ends}
    last = max(event.seq for event in ends)
    rows = list(ExecutionEvent.objects.filter(execution_id=execution_id, node_id__in=nodes, seq__lte=last,
                                              type__in=("node.started", *WAITS, *ATTEMPT_ENDS))
                .order_by("seq").values("seq", "type", "node_id", "time", attempt=KT("payload__attempt"),
                                        reason=KT("payload__reason"), scheduled_at=KT("payload__scheduled_at"),
                                        timeout_at=KT("payload__timeout_at"), limit=KT("payload__limit")))
    parent = _context(ids.trace_id_of(execution_id), ids.execution_span_id(execution_id))
    for end in ends:
        before = [row for row in rows if row["node_id"] == end.node_id and row["seq"] < end.seq]
        span = _attempt_span(execution_id, facts, end, before, parent)
        if span is not None:
            provider.export(span)


def _attempt_span(execution_id: str, facts: _Facts, end: Event, before: list[dict[str, Any]],
                  parent: SpanContext) -> ReadableSpan | None:
    if "attempt" in end.payload and end.type in ("node.succeeded", "node.failed", "node.timed_out"):
        attempt, start, waits = int(end.payload["attempt"]), end.time, []  # run inline: one event
    else:
        waits = []
        start_row = None
        for row in reversed(before):
            if row["type"] == "node.started":
                start_row = row
                break
            if row["type"] in ATTEMPT_ENDS:
                return None  # this end follows another (a fallback's outcome after falling back)
            waits.append(row)
        if start_row is None or start_row["attempt"] is None:
            return None  # ended before it started (cancelled while pending)
        attempt, start = int(start_row["attempt"]), start_row["time"]
    node_id = end.node_id
    error = end.payload.get("error")
    events = [SpanEvent(row["type"], {key: row[key] for key in ("reason", "scheduled_at", "timeout_at", "limit")
                                      if row[key] is not None}, _ns(row["time"])) for row in reversed(waits)]
    if error is not None and ATTEMPT_ENDS[end.type] == StatusCode.ERROR:
        events.append(SpanEvent("exception", {"exception.type": str(error.get("code", "error"))
                                              if isinstance(error, dict) else "error",
                                              "exception.message": _error_message(error) or ""}, _ns(end.time)))
    if end.type == "node.retrying" and end.payload.get("scheduled_at"):
        events.append(SpanEvent("retry scheduled", {"scheduled_at": end.payload["scheduled_at"]}, _ns(end.time)))
    attributes = {**_execution_attributes(execution_id, facts), "mbflow.node.id": node_id,
                  "mbflow.node.type": facts.node_types.get(node_id), "mbflow.node.attempt": attempt,
                  "mbflow.node.outcome": end.type.split(".", 1)[1]}
    context = _context(ids.trace_id_of(execution_id), ids.attempt_span_id(execution_id, node_id, attempt))
    return _span(f"{node_id} #{attempt}", context, parent, start, end.time, attributes,
                 status=ATTEMPT_ENDS[end.type], description=_error_message(error), events=events)


def _execution(execution_id: str, facts: _Facts, end: Event) -> None:
    """The execution's span (or, after a retry, the span of the run that ended)."""
    trace_id = ids.trace_id_of(execution_id)
    root = _context(trace_id, ids.execution_span_id(execution_id))
    marks = list(ExecutionEvent.objects.filter(execution_id=execution_id, node_id="", seq__lt=end.seq)
                 .exclude(type__in=("execution.created", "execution.started")).order_by("seq")
                 .values_list("seq", "type", "time"))
    retried = [(seq, time) for seq, type_, time in marks if type_ == "execution.retried"]
    status = EXECUTION_ENDS[end.type]
    error = _error_message(end.payload.get("error"))
    attributes = {**_execution_attributes(execution_id, facts), "mbflow.execution.status": end.type.split(".", 1)[1]}
    if retried:
        seq, since = retried[-1]
        events = [SpanEvent(type_, {}, _ns(time)) for mark, type_, time in marks if mark > seq]
        provider.export(_span(f"execution {facts.workflow} (retried)", _context(trace_id, ids.run_span_id(
            execution_id, seq)), root, since, end.time, attributes, status=status, description=error, events=events))
        return
    events = [SpanEvent(type_, {}, _ns(time)) for _, type_, time in marks]
    provider.export(_span(f"execution {facts.workflow}", root, None, facts.created_at, end.time, attributes,
                          status=status, description=error, events=events, links=_links(execution_id, facts)))


def _links(execution_id: str, facts: _Facts) -> list[Link]:
    """The span that started the run; for a child execution, its parent node's attempt."""
    links = []
    start = TraceStart.objects.filter(execution_id=execution_id).values_list("trace_id", "span_id").first()
    if start is not None:
        links.append(Link(SpanContext(int(start[0], 16), int(start[1], 16), is_remote=True, trace_flags=SAMPLED),
                          {"mbflow.link": "started by"}))
    if facts.parent_id:
        attempt = (NodeRun.objects.filter(execution_id=facts.parent_id, node_id=facts.parent_node_id)
                   .values_list("attempt", flat=True).first())
        if attempt:
            links.append(Link(_context(ids.trace_id_of(facts.parent_id),
                                       ids.attempt_span_id(facts.parent_id, facts.parent_node_id, attempt)),
                              {"mbflow.link": "parent node"}))
    return links



def outgoing_headers(ctx: NodeContext) -> dict[str, str]:
    """The ``traceparent`` an attempt's outbound calls carry (``http``, ``llm``): its span's."""
    return {"traceparent": ids.attempt_traceparent(ctx.execution_id, ctx.node_id, ctx.attempt)}

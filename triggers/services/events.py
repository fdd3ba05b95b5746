"""Events in: ``POST /api/v1/events`` starts every active workflow of the tenant whose event
trigger takes the event.

A trigger takes an event when its ``event`` is the event's ``type``, its ``source`` (if it has
one) is the event's, and its ``filter`` holds: a mapping of fields to values compares each
field of the event's data (``customer.tier`` reads nested fields) for equality; an expression
is evaluated in the sandbox over ``event`` (``{{ event.data.amount > 100 }}``). An event with an
``id`` is taken once: the same id again starts nothing and answers what the first one started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from django.db import IntegrityError, transaction
from pydantic import BaseModel, ConfigDict, Field

from executions.models import Execution
from mbflow_site.errors import ApiError
from triggers.models import ReceivedEvent, Trigger, TriggerKind
from triggers.services.firing import not_live_reason, start_from, started_by
from triggers.services.specs import parse
from triggers.services.sync import do_sync_stale
from workflows.models import Tenant
from workflows.spec import ExpressionError, evaluate
from workflows.spec.models import EVENT_TYPE_PATTERN

_MISSING = object()


class EventIn(BaseModel):
    """An event as a client sends it."""

    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(pattern=EVENT_TYPE_PATTERN, description="What happened, e.g. `order.created`.")]
    data: Any = Field(default_factory=dict, description="The event's payload (a workflow's input by default).")
    source: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    id: Annotated[str, Field(min_length=1, max_length=200, description="Given: the same id again starts nothing.")] \
        | None = None
    time: datetime | None = Field(default=None, description="When it happened (UTC unless it says); default: "
                                                            "when it was received.")


@dataclass
class Published:
    event: dict[str, Any]
    duplicate: bool = False
    started: list[dict[str, Any]] = field(default_factory=list)  # {execution, trigger, workflow}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {trigger, workflow, error}


def event_view(event: EventIn, received: datetime) -> dict[str, Any]:
    """The event as a filter and a run see it (``input: event``)."""
    moment = event.time or received
    moment = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return {"type": event.type, "data": event.data, "source": event.source, "id": event.id,
            "time": moment.isoformat().replace("+00:00", "Z")}


def _field(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def takes(trigger: Trigger, event: dict[str, Any]) -> bool:
    """Whether the trigger takes the event; raises ExpressionError for a filter that fails."""
    model = parse(trigger.spec)
    if model.event != event["type"] or (model.source is not None and model.source != event["source"]):
        return False
    if isinstance(model.filter, str):
        return bool(evaluate(model.filter, {"event": event}))
    return all(_field(event["data"], path) == value for path, value in model.filter.items())


def _triggers_for(tenant: Tenant, event_type: str) -> list[Trigger]:
    do_sync_stale(tenant)
    return list(started_by(Trigger.objects.filter(tenant=tenant, kind=TriggerKind.EVENT, declared=True,
                                                  spec__event=event_type)).order_by("workflow__name", "created_at"))


def _entry(trigger: Trigger) -> dict[str, Any]:
    return {"trigger": {"id": str(trigger.pk), "name": trigger.label},
            "workflow": {"id": str(trigger.workflow_id), "name": trigger.workflow.name}}


def do_publish_event(tenant: Tenant, event: EventIn, received: datetime) -> Published:
    view = event_view(event, received)
    published = Published(view)
    with transaction.atomic():
        if event.id is not None:
            try:
                with transaction.atomic():
                    seen = ReceivedEvent.objects.create(tenant=tenant, event_id=event.id, type=event.type)
            except IntegrityError:
                # Taken before (or by a call racing this one, now committed): nothing new starts.
                first = ReceivedEvent.objects.get(tenant=tenant, event_id=event.id)
                return Published(view, duplicate=True, started=first.executions)
        for trigger in _triggers_for(tenant, event.type):
            if not_live_reason(trigger) is not None:
                continue
            try:
                if not takes(trigger, view):
                    continue
                model = parse(trigger.spec)
                with transaction.atomic():
                    execution: Execution = start_from(
                        trigger, view["data"] if model.input == "data" else view,
                        {"event": {"type": event.type, "id": event.id, "source": event.source}})
            except (ExpressionError, ApiError) as exc:
                published.failed.append({**_entry(trigger), "error": exc.message})
                continue
            published.started.append({"execution": str(execution.pk), **_entry(trigger)})
        if event.id is not None:
            seen.executions = published.started
            seen.save(update_fields=["executions"])
    return published

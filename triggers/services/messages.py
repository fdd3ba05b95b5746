"""Events from a message broker: what a message on the ``mbflow.events`` exchange asks for, and
doing it (``manage.py mbflow_consume`` reads the queue; ``triggers.consumer``).

Two shapes of JSON body are taken:

- the Magic Flow seed's ``WorkflowInitEvent`` ``{"workflow_name", "initial_data", "source",
  "timestamp"}`` (Go's own field names ``WorkflowName``, ``InitialData``... too) starts the named
  workflow (its active version) with ``initial_data`` as input, as ``POST
  /api/v1/workflows/{name}/execute`` would;
- an event as ``POST /api/v1/events`` takes it, ``{"type"?, "data", "source"?, "id"?, "time"?}``,
  goes through the same matching (``services.events.do_publish_event``): every live event
  trigger of the tenant that takes it starts its workflow.

The tenant is the slug in the ``x-mbflow-tenant`` header; without it, the routing key's first
word (``acme.order.created``: tenant ``acme``, event ``order.created``). An event without
``type`` takes the rest of the routing key as its type. The message's ``message_id`` (an AMQP
property) is the event's ``id`` when the body has none, and the idempotency key of a workflow
start: a message delivered again (its consumer died before acknowledging it) starts nothing new.

A message that can never be taken (not JSON, neither shape, no such tenant or workflow, an
input the workflow refuses, a body past ``MBFLOW_MAX_BODY_BYTES``) raises ``Poison``; the
consumer sends it to the dead-letter queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from django.conf import settings
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from executions.services.executions import do_start_execution
from mbflow_site.errors import ApiError
from triggers.services.events import EventIn, do_publish_event
from workflows.models import Tenant

TENANT_HEADER = "x-mbflow-tenant"


class Poison(Exception):
    """A message that can never be taken: ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WorkflowInit(BaseModel):
    """The Magic Flow seed's ``WorkflowInitEvent``."""

    model_config = ConfigDict(extra="ignore")

    workflow_name: Annotated[str, Field(min_length=1, max_length=200,
                                        validation_alias=AliasChoices("workflow_name", "WorkflowName"))]
    initial_data: Any = Field(default=None, validation_alias=AliasChoices("initial_data", "InitialData"))
    source: Annotated[str, Field(max_length=200)] | None = Field(default=None,
                                                                 validation_alias=AliasChoices("source", "Source"))
    timestamp: datetime | None = Field(default=None, validation_alias=AliasChoices("timestamp", "Timestamp"))


INIT_KEYS = frozenset({"workflow_name", "WorkflowName"})


@dataclass(frozen=True, slots=True)
class Message:
    """What the consumer got from the broker (header names as sent)."""

    body: bytes
    routing_key: str = ""
    headers: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Taken:
    """What a message did: ``kind`` is ``workflow_init`` or ``event``; the executions started
    (none new for a duplicate)."""

    kind: str
    tenant: str
    executions: list[str]
    duplicate: bool = False


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def tenant_and_type(message: Message) -> tuple[str, str]:
    """The tenant's slug, and what the routing key says the event's type is."""
    slug = _header(message.headers, TENANT_HEADER)
    if slug:
        return slug, message.routing_key
    slug, _, rest = message.routing_key.partition(".")
    if not slug:
        raise Poison("tenant_missing", f"No tenant: send the {TENANT_HEADER} header, or a routing key "
                                       "<tenant>.<event type>.")
    return slug, rest


def _tenant(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise Poison("tenant_unknown", f"No tenant {slug!r}.")
    return tenant


def _body(message: Message) -> dict[str, Any]:
    try:
        body = json.loads(message.body)
    except (ValueError, UnicodeDecodeError):
        raise Poison("invalid_json", "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise Poison("invalid_shape", "The body is not a JSON object.")
    return body


def _invalid(exc: ValidationError) -> Poison:
    fields = "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
                       for error in exc.errors(include_url=False))
    return Poison("invalid_message", f"The message is not valid: {fields}")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _start_named(tenant: Tenant, init: WorkflowInit, message: Message) -> Taken:
    record = {"type": "broker", "event": "workflow_init", "source": init.source, "timestamp": _iso(init.timestamp),
              "routing_key": message.routing_key, "message_id": message.message_id}
    try:
        execution, created = do_start_execution(
            tenant, init.workflow_name, data=init.initial_data,
            idempotency_key=f"amqp:{message.message_id}" if message.message_id else None,
            trigger={key: value for key, value in record.items() if value is not None})
    except ApiError as exc:
        if exc.status_code >= 500:
            raise
        raise Poison(exc.code, exc.message) from None
    return Taken("workflow_init", tenant.slug, [str(execution.pk)], duplicate=not created)


def _publish(tenant: Tenant, body: dict[str, Any], routed_type: str, message: Message, received: datetime) -> Taken:
    if "type" not in body and routed_type:
        body = {**body, "type": routed_type}
    if "id" not in body and message.message_id:
        body = {**body, "id": message.message_id[:200]}
    try:
        event = EventIn.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    published = do_publish_event(tenant, event, received)
    return Taken("event", tenant.slug, [entry["execution"] for entry in published.started],
                 duplicate=published.duplicate)


def do_take_message(message: Message, received: datetime) -> Taken:
    """Does what the message asks, in its own transactions: when this returns, what it started
    is committed (the consumer acknowledges the message only then)."""
    if len(message.body) > settings.MBFLOW_MAX_BODY_BYTES:  # the API's limit on a request's body
        raise Poison("payload_too_large", f"The body is {len(message.body)} bytes; the limit is "
                                          f"{settings.MBFLOW_MAX_BODY_BYTES} bytes (MBFLOW_MAX_BODY_BYTES).")
    slug, routed_type = tenant_and_type(message)
    body = _body(message)
    tenant = _tenant(slug)
    if INIT_KEYS & body.keys():
        try:
            init = WorkflowInit.model_validate(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        return _start_named(tenant, init, message)
    return _publish(tenant, body, routed_type, message, received)

"""Outbound webhook deliveries: recording what each subscription is owed, sending it, retrying.

``do_record_deliveries`` runs when a step's events have committed (``triggers.outbound`` hears
of them through the engine's event listener port): for each event a subscription of the tenant
wants, it inserts a pending delivery whose ``body`` is the JSON to send, and returns their ids
for a worker to send. Nothing is sent before the row exists, so a process that dies leaves
pending rows, which ``due_deliveries`` finds for the sweep.

``do_attempt_delivery`` claims a delivery with a conditional UPDATE, POSTs the body signed with
``X-MBFlow-Signature`` (``triggers.signatures``, signed afresh at each attempt) through the
pooled client of the ``http`` node and its SSRF guard, and records the attempt. A 2xx answer
delivers it; anything else is tried again after ``MBFLOW_DELIVERY_RETRY_SECONDS``, doubling up
to ``MBFLOW_DELIVERY_MAX_DELAY_SECONDS`` (with up to 10% jitter), ``MBFLOW_DELIVERY_MAX_ATTEMPTS``
attempts in all. An address the guard refuses fails it at once.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from executions.engine.projection import Event
from executions.executors.base import PermanentError
from executions.executors.http import CLIENT
from executions.executors.ssrf import check_host
from executions.models import Execution
from mbflow_site.errors import ApiError, NotFound
from mbflow_site.formats import iso_time
from triggers.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEvent
from triggers.services.subscriptions import listeners, secret_of
from triggers.signatures import HEADER, signature_header
from workflows.models import Tenant

# The engine's event types a subscription can hear of, by the name it hears them under.
EVENT_NAMES = {
    "execution.started": WebhookEvent.EXECUTION_STARTED,
    "execution.succeeded": WebhookEvent.EXECUTION_SUCCEEDED,
    "execution.failed": WebhookEvent.EXECUTION_FAILED,
    "execution.cancelled": WebhookEvent.EXECUTION_CANCELLED,
    "node.failed": WebhookEvent.NODE_FAILED,
    "node.timed_out": WebhookEvent.NODE_FAILED,
}
RESPONSE_SNIPPET = 1000
# A pending delivery due longer ago than this was lost by its worker (or never reached one).
SWEEP_GRACE_SECONDS = 10.0
USER_AGENT = "MBFlow-Webhooks/1"
JITTER = 0.1


def _execution_view(execution_id: Any) -> dict[str, Any] | None:
    return (Execution.objects.filter(pk=execution_id)
            .values("workflow_id", "workflow__name", "version__number", "trigger", "tenant__slug").first())


def body_of(event: Event, name: str, execution_id: Any, view: dict[str, Any]) -> dict[str, Any]:
    """What a receiver gets for one event (``event_id`` is the same at every redelivery)."""
    execution: dict[str, Any] = {
        "id": str(execution_id),
        "status": event.type.split(".", 1)[1] if event.type.startswith("execution.") else None,
        "workflow": {"id": str(view["workflow_id"]) if view["workflow_id"] else None, "name": view["workflow__name"]},
        "version": view["version__number"], "trigger": view["trigger"],
        "url": f"{settings.MBFLOW_PUBLIC_URL}/executions/{execution_id}",
    }
    body: dict[str, Any] = {"event": name, "event_id": f"{execution_id}:{event.seq}", "time": iso_time(event.time),
                            "tenant": view["tenant__slug"], "execution": execution}
    if event.type == "execution.succeeded":
        body["output"] = event.payload.get("output")
    elif event.type in ("execution.failed", "execution.cancelled"):
        body["error"] = event.payload.get("error")
    elif name == WebhookEvent.NODE_FAILED:
        body["node"] = {"id": event.node_id, "error": event.payload.get("error"),
                        "timed_out": event.type == "node.timed_out"}
    return body


def do_record_deliveries(tenant_id: Any, execution_id: Any, events: Sequence[Event]) -> list[uuid.UUID]:
    """Records a pending delivery per event and subscription that wants it; their ids."""
    wanted = [(event, EVENT_NAMES[event.type]) for event in events if event.type in EVENT_NAMES]
    if not wanted:
        return []
    subscribed = listeners(tenant_id)
    if not any(name in listener.events for listener in subscribed for _, name in wanted):
        return []
    view = _execution_view(execution_id)
    if view is None:
        return []
    now = timezone.now()
    rows = [
        WebhookDelivery(subscription_id=listener.subscription_id, tenant_id=tenant_id, event=name,
                        execution_id=execution_id, seq=event.seq, node_id=event.node_id,
                        body=json.dumps(body_of(event, name, execution_id, view), separators=(",", ":")),
                        next_attempt_at=now)
        for event, name in wanted for listener in subscribed if listener.wants(name, view["workflow_id"])
    ]
    if not rows:
        return []
    # Conflicts: the same event published again (a step replayed after a crash) is owed once.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return [row.pk for row in rows]


def do_record_notice(tenant_id: Any, subscription_id: Any, event: str, subject: str, seq: int,
                     body: dict[str, Any], workflow_id: Any = None) -> uuid.UUID | None:
    """Records a pending delivery of a notice that is no execution's event (an alert firing or
    resolving: ``subject`` names it, ``seq`` numbers its notices) to one subscription of the
    tenant, when that subscription is enabled and wants ``event`` (for ``workflow_id``). Its id,
    for the caller to ``hand_on`` once its transaction commits; None when not wanted, or already
    recorded (the same subject and seq are owed once). Sent, signed and retried as any delivery."""
    wanted = [listener for listener in listeners(tenant_id)
              if str(listener.subscription_id) == str(subscription_id) and listener.wants(event, workflow_id)]
    if not wanted:
        return None
    delivery = WebhookDelivery(subscription_id=wanted[0].subscription_id, tenant_id=tenant_id, event=event,
                               subject=subject, seq=seq, body=json.dumps(body, separators=(",", ":")),
                               next_attempt_at=timezone.now())
    created = WebhookDelivery.objects.bulk_create([delivery], ignore_conflicts=True)
    return delivery.pk if created and _recorded(delivery) else None


def _recorded(delivery: WebhookDelivery) -> bool:
    # With ignore_conflicts the insert says nothing of a conflict: the row is there if it is ours.
    return WebhookDelivery.objects.filter(pk=delivery.pk).exists()


# --- Sending ----------------------------------------------------------------------------------

Send = Callable[[Sequence[Any]], None]
_send: Send | None = None


def wire_sender(send: Send) -> None:
    """Plugs in what attempts recorded deliveries soon (``triggers.apps``: Celery tasks or a pool
    of threads, ``triggers.outbound``)."""
    global _send
    _send = send


def hand_on(ids: Sequence[Any]) -> None:
    """Hands recorded deliveries to the sender (without one, the sweep finds them)."""
    if ids and _send is not None:
        _send(ids)



@dataclass(frozen=True, slots=True)
class Attempted:
    """What an attempt came to: the delivery's status, and when to try again (pending)."""

    status: str
    retry_at: datetime | None = None


def backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th failed attempt."""
    delay = min(float(settings.MBFLOW_DELIVERY_MAX_DELAY_SECONDS),
                float(settings.MBFLOW_DELIVERY_RETRY_SECONDS) * 2 ** (attempt - 1))
    return delay * (1 + random.uniform(0, JITTER))


def _lease() -> timedelta:
    return timedelta(seconds=float(settings.MBFLOW_DELIVERY_TIMEOUT_SECONDS) + 30)


def _claim(delivery_id: Any, now: datetime) -> bool:
    # Whoever moves next_attempt_at from a due time to the end of a lease sends this attempt: a
    # worker and the sweep (or two workers given the same id) never both do. A worker that dies
    # while sending lets the lease run out, and the sweep finds the delivery due again.
    return WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING,
                                          next_attempt_at__lte=now).update(next_attempt_at=now + _lease()) == 1


@dataclass(frozen=True, slots=True)
class _Sent:
    status_code: int | None
    duration_ms: int
    response: str = ""
    error: str = ""
    permanent: bool = False


def _read_start(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_SNIPPET:
            break
    return b"".join(chunks)[:RESPONSE_SNIPPET].decode("utf-8", "replace")


def _post(delivery: WebhookDelivery, secret: str) -> _Sent:
    started = time.monotonic()
    body = delivery.body.encode()
    url = httpx.URL(delivery.subscription.url)

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-MBFlow-Event": delivery.event,
               "X-MBFlow-Delivery": str(delivery.pk), HEADER: signature_header(secret, body, int(time.time()))}
    try:
        # Checked here for the message; the client's connections are checked again, address by
        # address, so a name that resolves elsewhere by now is refused all the same.
        check_host(url.host, url.port or (443 if url.scheme == "https" else 80))
        with CLIENT.stream("POST", url, content=body, headers=headers, follow_redirects=False,
                           timeout=float(settings.MBFLOW_DELIVERY_TIMEOUT_SECONDS)) as response:
            return _Sent(response.status_code, elapsed(), _read_start(response))
    except PermanentError as exc:  # the SSRF guard (or a host that no longer resolves)
        return _Sent(None, elapsed(), error=f"{exc.code}: {exc.message}", permanent=exc.code == "ssrf_blocked")
    except httpx.HTTPError as exc:
        return _Sent(None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:1000])


def _give_up(delivery_id: Any, error: str, now: datetime) -> Attempted:
    WebhookDelivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.FAILED, next_attempt_at=None,
                                                          last_error=error, finished_at=now)
    return Attempted(DeliveryStatus.FAILED)


def do_attempt_delivery(delivery_id: Any) -> Attempted | None:
    """Sends the delivery if it is due and this process wins it (None: not due, taken by another,
    or gone)."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    if not delivery.subscription.enabled:
        return _give_up(delivery_id, "The webhook is disabled.", now)
    sent = _post(delivery, secret_of(delivery.subscription))
    number = delivery.attempts + 1
    succeeded = sent.status_code is not None and 200 <= sent.status_code < 300
    finished = timezone.now()
    if succeeded:
        outcome = Attempted(DeliveryStatus.SUCCEEDED)
    elif sent.permanent or number >= settings.MBFLOW_DELIVERY_MAX_ATTEMPTS:
        outcome = Attempted(DeliveryStatus.FAILED)
    else:
        outcome = Attempted(DeliveryStatus.PENDING, finished + timedelta(seconds=backoff(number)))
    error = sent.error or ("" if succeeded else f"The receiver answered {sent.status_code}.")
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery_id=delivery_id, number=number, started_at=now,
                                       duration_ms=sent.duration_ms, status_code=sent.status_code,
                                       error=sent.error, response=sent.response)
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            attempts=F("attempts") + 1, status=outcome.status, next_attempt_at=outcome.retry_at,
            last_status_code=sent.status_code, last_error=error,
            finished_at=None if outcome.status == DeliveryStatus.PENDING else finished)
    return outcome


def due_deliveries(grace: float = SWEEP_GRACE_SECONDS, limit: int = 500) -> list[uuid.UUID]:
    """Pending deliveries due more than ``grace`` seconds ago (their worker died, or never got them)."""
    until = timezone.now() - timedelta(seconds=grace)
    return list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=until)
                .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


# --- Reading and redelivering -------------------------------------------------------------------


def deliveries_of(tenant: Tenant, *, subscription: Any = None, status: str | None = None,
                  event: str | None = None, execution: Any = None) -> QuerySet[WebhookDelivery]:
    queryset = (WebhookDelivery.objects.filter(tenant=tenant).select_related("subscription")
                .prefetch_related("attempt_records"))
    for name, value, field in (("webhook", subscription, "subscription_id"), ("execution", execution, "execution_id")):
        if value is not None:
            try:
                queryset = queryset.filter(**{field: uuid.UUID(str(value))})
            except ValueError:
                raise ApiError(f"{name} must be an id.", code="validation_error",
                               details={"fields": {name: [f"{value!r} is not an id."]}}) from None
    if status:
        unknown = set(status.split(",")) - set(DeliveryStatus.values)
        if unknown:
            raise ApiError(f"Unknown status {', '.join(sorted(unknown))}.", code="validation_error",
                           details={"fields": {"status": [f"One of {', '.join(DeliveryStatus.values)}."]}})
        queryset = queryset.filter(status__in=status.split(","))
    if event:
        unknown = set(event.split(",")) - set(WebhookEvent.values)
        if unknown:
            raise ApiError(f"Unknown event {', '.join(sorted(unknown))}.", code="validation_error",
                           details={"fields": {"event": [f"One of {', '.join(WebhookEvent.values)}."]}})
        queryset = queryset.filter(event__in=event.split(","))
    return queryset.order_by("-created_at", "-seq")


def get_delivery(tenant: Tenant, ref: Any) -> WebhookDelivery:
    try:
        key = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No delivery {ref!r}.") from None
    delivery = deliveries_of(tenant).filter(pk=key).first()
    if delivery is None:
        raise NotFound(f"No delivery {ref!r}.")
    return delivery


def do_redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same body to the same webhook, handed on once committed."""
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            subscription_id=delivery.subscription_id, tenant_id=delivery.tenant_id, event=delivery.event,
            execution_id=delivery.execution_id, subject=delivery.subject, seq=delivery.seq, node_id=delivery.node_id,
            body=delivery.body,
            redelivery_of=delivery, next_attempt_at=timezone.now())
        transaction.on_commit(lambda: hand_on([again.pk]))
    return again

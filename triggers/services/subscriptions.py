"""Outbound webhook subscriptions: a tenant asks for the events of its runs to be POSTed to a URL.

A URL must be http(s) and pass the SSRF guard of the ``http`` node (``executions.executors.ssrf``:
private, loopback, link-local and metadata addresses are refused unless ``MBFLOW_HTTP_ALLOW_HOSTS``
allows them); it is checked here and again at each delivery. The signing secret is kept
encrypted and shown once, when it is made.

Every process that runs the engine looks a tenant's subscriptions up at each event it could
deliver: ``listeners`` keeps them per tenant for ``MBFLOW_SUBSCRIPTION_CACHE_SECONDS`` (a change is
seen at once by the process that made it, within that time by the others).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from pydantic import BaseModel, ConfigDict, Field

from executions.executors.base import PermanentError
from executions.executors.ssrf import check_host
from executions.vault import fernet
from mbflow_site.errors import ApiError, NotFound
from triggers.models import WebhookEvent, WebhookSubscription
from workflows.models import Tenant
from workflows.public import get_workflow

MIN_SECRET_LENGTH = 16
Secret = Annotated[str, Field(min_length=MIN_SECRET_LENGTH, max_length=200)]


class SubscriptionIn(BaseModel):
    """A subscription as a client creates it."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2000, description="Where to POST (http or https).")]
    events: Annotated[list[WebhookEvent], Field(min_length=1, description="What to hear of.")]
    workflow: str | None = Field(default=None, description="Only this workflow's runs (id or name).")
    secret: Secret | None = Field(default=None, description="The signing secret; omitted, one is made and "
                                                            "answered once.")
    description: Annotated[str, Field(max_length=200)] = ""
    enabled: bool = True


class SubscriptionChange(BaseModel):
    """Fields to replace (``workflow: null``: every workflow)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    events: Annotated[list[WebhookEvent], Field(min_length=1)] | None = None
    workflow: str | None = None
    secret: Secret | None = None
    description: Annotated[str, Field(max_length=200)] | None = None
    enabled: bool | None = None


def _url_error(message: str, code: str = "validation_error") -> ApiError:
    return ApiError(message, code=code, details={"fields": {"url": [message]}})


def check_url(url: str) -> str:
    """An http(s) URL whose host the SSRF guard lets through; 400 naming ``url`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _url_error("A webhook URL is an absolute http:// or https:// URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _url_error("The URL's port is not a number from 0 to 65535.") from None
    try:
        check_host(parts.hostname, port)
    except PermanentError as exc:  # BlockedAddress (ssrf_blocked), or a host that does not resolve
        raise _url_error(exc.message, code=exc.code) from None
    return url


def secret_of(subscription: WebhookSubscription) -> str:
    return fernet().decrypt(bytes(subscription.secret)).decode()


def _events(events: list[WebhookEvent]) -> list[str]:
    return sorted({str(event.value) for event in events})


def subscriptions_of(tenant: Tenant) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(tenant=tenant).select_related("workflow").order_by("created_at")


def get_subscription(tenant: Tenant, ref: Any) -> WebhookSubscription:
    try:
        key = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No webhook {ref!r}.") from None
    subscription = subscriptions_of(tenant).filter(pk=key).first()
    if subscription is None:
        raise NotFound(f"No webhook {ref!r}.")
    return subscription


def do_create_subscription(tenant: Tenant, body: SubscriptionIn) -> tuple[WebhookSubscription, str | None]:
    """The new subscription, and its secret when one was made (shown this once)."""
    workflow = get_workflow(tenant, body.workflow, documents=False) if body.workflow else None
    url = check_url(body.url)
    made = secrets.token_urlsafe(32) if body.secret is None else None
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            tenant=tenant, url=url, events=_events(body.events), workflow=workflow,
            secret=fernet().encrypt((body.secret or made or "").encode()), description=body.description,
            enabled=body.enabled)
        transaction.on_commit(lambda: forget(tenant.pk))
    return subscription, made


def do_change_subscription(subscription: WebhookSubscription, changes: SubscriptionChange,
                           given: set[str]) -> WebhookSubscription:
    """Replaces the fields ``given`` (the keys the client sent)."""
    if "url" in given and changes.url is not None:
        subscription.url = check_url(changes.url)
    if "events" in given and changes.events is not None:
        subscription.events = _events(changes.events)
    if "workflow" in given:
        subscription.workflow = (get_workflow(subscription.tenant, changes.workflow, documents=False)
                                 if changes.workflow else None)
    if "secret" in given and changes.secret is not None:
        subscription.secret = fernet().encrypt(changes.secret.encode())
    if "description" in given and changes.description is not None:
        subscription.description = changes.description
    if "enabled" in given and changes.enabled is not None:
        subscription.enabled = changes.enabled
    with transaction.atomic():
        subscription.save()
        tenant_id = subscription.tenant_id
        transaction.on_commit(lambda: forget(tenant_id))
    return subscription


def do_delete_subscription(subscription: WebhookSubscription) -> None:
    tenant_id = subscription.tenant_id
    with transaction.atomic():
        subscription.delete()
        transaction.on_commit(lambda: forget(tenant_id))


# --- What the engine's processes look up at each event ----------------------------------------


@dataclass(frozen=True, slots=True)
class Listener:
    subscription_id: uuid.UUID
    events: frozenset[str]
    workflow_id: uuid.UUID | None

    def wants(self, event: str, workflow_id: Any) -> bool:
        return event in self.events and (self.workflow_id is None or self.workflow_id == workflow_id)


_cache: dict[Any, tuple[float, tuple[Listener, ...]]] = {}
_cache_lock = threading.Lock()


def listeners(tenant_id: Any) -> tuple[Listener, ...]:
    """The tenant's enabled subscriptions, read at most every MBFLOW_SUBSCRIPTION_CACHE_SECONDS."""
    now = time.monotonic()
    cached = _cache.get(tenant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = tuple(Listener(row["id"], frozenset(row["events"]), row["workflow_id"])
                  for row in WebhookSubscription.objects.filter(tenant_id=tenant_id, enabled=True)
                  .values("id", "events", "workflow_id"))
    with _cache_lock:
        _cache[tenant_id] = (now + settings.MBFLOW_SUBSCRIPTION_CACHE_SECONDS, found)
    return found


def forget(tenant_id: Any) -> None:
    """Drops what this process knows of the tenant's subscriptions (they changed)."""
    with _cache_lock:
        _cache.pop(tenant_id, None)

"""What starts runs: each trigger a workflow's active version declares, and what firing left.

A ``Trigger`` row is derived from the active version's ``triggers:`` (``services.sync``): the
YAML says which triggers exist and how they are configured; the row keeps what the YAML must
not hold (a webhook's token and signing secret) and the schedule's bookkeeping. A trigger the
active version no longer declares keeps its row (``declared`` false), so a rollback gets its URL
and secret back.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from workflows.models import Tenant, Workflow, WorkflowVersion


class TriggerKind(models.TextChoices):
    CRON = "cron"
    INTERVAL = "interval"
    WEBHOOK = "webhook"
    EVENT = "event"
    MANUAL = "manual"


SCHEDULED_KINDS = (TriggerKind.CRON, TriggerKind.INTERVAL)


class Trigger(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="triggers")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="triggers")
    # Which trigger of the document this is, across versions: ``name:<name>`` when it has a
    # name, else ``<type>:<n>`` (the n-th unnamed trigger of that type).
    key = models.CharField(max_length=250)
    kind = models.CharField(max_length=16, choices=TriggerKind.choices)
    name = models.CharField(max_length=200, blank=True)
    spec = models.JSONField(help_text="The trigger as the workflow's active version declares it.")
    enabled = models.BooleanField(default=True)
    declared = models.BooleanField(default=True, help_text="Whether the active version declares it.")
    version = models.ForeignKey(WorkflowVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Webhooks: the secret part of /hooks/<token>, and the HMAC signing secret (Fernet-encrypted).
    token = models.CharField(max_length=64, unique=True, null=True, blank=True)  # NULL for other kinds (not unique)
    secret = models.BinaryField(null=True, blank=True)
    # Schedules: the next due time the tick looks for (advanced even while the workflow is
    # inactive, so that turning it on does not count the time it was off as missed).
    next_fire_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_execution_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow", "created_at"]
        constraints = [models.UniqueConstraint(fields=["workflow", "key"], name="unique_trigger_key")]
        indexes = [
            models.Index(fields=["next_fire_at"], name="trigger_due",
                         condition=models.Q(declared=True, next_fire_at__isnull=False)),
            models.Index(fields=["tenant", "kind"], name="trigger_tenant_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.key}"

    @property
    def label(self) -> str:
        return self.name or self.kind


class TriggerSync(models.Model):
    """The version of a workflow its trigger rows were last derived from."""

    workflow = models.OneToOneField(Workflow, primary_key=True, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(WorkflowVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    synced_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.workflow_id} at version {self.version_id}"


class FireStatus(models.TextChoices):
    STARTED = "started"
    SKIPPED = "skipped"  # missed while nothing ran the tick (``missed: skip``)
    FAILED = "failed"  # the execution could not start (its input, a deleted version...)


class TriggerFire(models.Model):
    """One due time of a schedule. The process whose INSERT of this row succeeds fires it: the
    unique (trigger, due_at) constraint lets exactly one of several ticks do so."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="fires")
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=FireStatus.choices, default=FireStatus.STARTED)
    execution_id = models.UUIDField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-due_at"]
        constraints = [models.UniqueConstraint(fields=["trigger", "due_at"], name="unique_trigger_fire")]

    def __str__(self) -> str:
        return f"{self.trigger_id} at {self.due_at.isoformat()}: {self.status}"


class SeenSignature(models.Model):
    """A webhook signature already accepted: the same one again within the window is a replay."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger", "signature"], name="unique_seen_signature")]

    def __str__(self) -> str:
        return f"{self.trigger_id} {self.signature[:12]}"


class ReceivedEvent(models.Model):
    """An event given with an ``id``: the same id again starts nothing new."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    executions = models.JSONField(default=list, help_text="Ids of the executions it started.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "event_id"], name="unique_received_event")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# --- What runs notify: outbound webhooks --------------------------------------------------------


class WebhookEvent(models.TextChoices):
    """What a subscription may ask to hear of (``node.failed``: a node failed or timed out for good;
    ``alert.*``: an alert rule naming the subscription among its channels fired or resolved)."""

    EXECUTION_STARTED = "execution.started"
    EXECUTION_SUCCEEDED = "execution.succeeded"
    EXECUTION_FAILED = "execution.failed"
    EXECUTION_CANCELLED = "execution.cancelled"
    NODE_FAILED = "node.failed"
    ALERT_FIRING = "alert.firing"
    ALERT_RESOLVED = "alert.resolved"


class WebhookSubscription(models.Model):
    """A tenant's outbound webhook: each event it names, of any workflow or of ``workflow``, is
    POSTed to ``url``, signed with ``secret`` (Fernet-encrypted) in ``X-MBFlow-Signature``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Among the WebhookEvent values.")
    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 help_text="Only this workflow's runs (all when empty).")
    secret = models.BinaryField()
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # to be sent (again) at next_attempt_at
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # given up: attempts used up, a refused address, or the subscription disabled


class WebhookDelivery(models.Model):
    """One event for one subscription, recorded before it is sent: a process that dies before
    or while sending leaves it pending, and the sweep sends it. ``body`` is the JSON sent, the
    same at every attempt. While an attempt is under way ``next_attempt_at`` is its lease."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    # An execution's event, or else what ``subject`` names (an alert firing: ``alert:<id>``).
    execution_id = models.UUIDField(null=True, blank=True)
    subject = models.CharField(max_length=100, blank=True)
    seq = models.PositiveIntegerField(help_text="The execution event's seq (the subject's notice number).")
    node_id = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="redeliveries")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # An event is recorded once per subscription, however many times it is published.
            models.UniqueConstraint(fields=["subscription", "execution_id", "seq"], name="unique_webhook_delivery",
                                    condition=models.Q(redelivery_of__isnull=True)),
            models.UniqueConstraint(fields=["subscription", "subject", "seq"], name="unique_webhook_notice",
                                    condition=models.Q(redelivery_of__isnull=True, execution_id__isnull=True)),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["tenant", "-created_at"], name="webhook_delivery_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.execution_id or self.subject} #{self.seq}: {self.status}"

    @property
    def event_id(self) -> str:
        """The same at every redelivery: ``<execution id>:<seq>`` (``<subject>:<seq>``)."""
        return f"{self.execution_id or self.subject}:{self.seq}"


class DeliveryAttempt(models.Model):
    """One POST of a delivery and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_records")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response = models.TextField(blank=True, help_text="The start of the response's body.")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="unique_delivery_attempt")]

    def __str__(self) -> str:
        return f"{self.delivery_id} attempt {self.number}: {self.status_code or self.error[:40]}"

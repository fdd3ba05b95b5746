"""Alert rules, the times they fired, and whom each firing was told to."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from workflows.models import Tenant, Workflow


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(models.TextChoices):
    OK = "ok"
    FIRING = "firing"


class AlertRule(models.Model):
    """A condition over a workflow's runs (or the tenant's), evaluated by the schedule tick every
    ``MBFLOW_ALERT_EVALUATION_SECONDS``; when it holds the rule fires, when it no longer holds the
    firing is resolved, and each change is told to the rule's channels."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 help_text="Only this workflow's runs (all the tenant's when empty).")
    condition = models.CharField(max_length=500, help_text="e.g. failure_rate > 0.05 over 15m")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    channels = models.JSONField(default=list, blank=True, help_text='[{"type": "webhook"|"slack", "webhook": <id>} '
                                                                    '| {"type": "email", "to": [...]}]')
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OK)
    value = models.FloatField(null=True, blank=True, help_text="The condition's figure at the last evaluation.")
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # Claimed by the evaluator that moves it on (see services.alerts.evaluation).
    next_evaluation_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, help_text="Why the last evaluation could not decide.")
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_alert_rule_name")]
        indexes = [models.Index(fields=["next_evaluation_at"], name="alert_rule_due",
                                condition=models.Q(enabled=True))]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


class FiringStatus(models.TextChoices):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertFiring(models.Model):
    """One stretch of time a rule's condition held: firing until an evaluation finds it no
    longer holds (resolved), or the rule is disabled or changed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="firings")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=FiringStatus.choices, default=FiringStatus.FIRING)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    condition = models.CharField(max_length=500, help_text="The rule's condition when it fired.")
    value = models.FloatField(null=True, blank=True, help_text="The figure that made it fire.")
    last_value = models.FloatField(null=True, blank=True, help_text="The figure at the last evaluation.")
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A rule fires once at a time: the evaluator that would open a second one loses.
            models.UniqueConstraint(fields=["rule"], condition=models.Q(status="firing"), name="one_open_firing"),
        ]
        indexes = [models.Index(fields=["tenant", "-started_at"], name="alert_firing_tenant")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.status} since {self.started_at.isoformat()}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class AlertNotification(models.Model):
    """A firing (or its resolution) told to one channel. A webhook or Slack channel hands it to
    an outbound webhook delivery (``delivery_id``: its status and attempts are the delivery's);
    an email is sent by Django's mail backend."""

    firing = models.ForeignKey(AlertFiring, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=16, choices=FiringStatus.choices)
    channel = models.CharField(max_length=16)
    target = models.CharField(max_length=1000, help_text="The webhook's id, or the email addresses.")
    status = models.CharField(max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    delivery_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # An email's next attempt while pending (claimed by moving it on; see services.alerts.notify).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["firing", "created_at", "id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="alert_email_due",
                                condition=models.Q(status="pending", channel="email"))]

    def __str__(self) -> str:
        return f"{self.firing_id} {self.event} via {self.channel}: {self.status}"

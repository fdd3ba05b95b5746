"""How alert rules and firings look in the API: plain dicts, with DRF serializers declaring the
shapes for the OpenAPI schema (the generated client reads them)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from mbflow_site.formats import iso_time
from monitoring.models import AlertFiring, AlertNotification, AlertRule, AlertState, FiringStatus, Severity
from triggers.models import DeliveryStatus, WebhookDelivery


def rule_data(rule: AlertRule) -> dict[str, Any]:
    workflow = rule.workflow
    return {
        "id": str(rule.pk), "name": rule.name, "description": rule.description,
        "workflow": {"id": str(workflow.pk), "name": workflow.name} if workflow is not None else None,
        "condition": rule.condition, "severity": rule.severity, "channels": rule.channels, "enabled": rule.enabled,
        "state": rule.state, "value": rule.value, "evaluated_at": iso_time(rule.evaluated_at),
        "last_error": rule.last_error or None, "created_by": rule.created_by,
        "created_at": iso_time(rule.created_at), "updated_at": iso_time(rule.updated_at),
    }


def _notification_data(notification: AlertNotification, deliveries: dict[Any, WebhookDelivery]) -> dict[str, Any]:
    delivery = deliveries.get(notification.delivery_id)
    status = notification.status
    if delivery is not None:  # a webhook's notice is as sent as its delivery
        status = {DeliveryStatus.SUCCEEDED: "sent", DeliveryStatus.FAILED: "failed"}.get(delivery.status, "pending")
    return {"event": notification.event, "channel": notification.channel, "target": notification.target,
            "status": status, "delivery_id": str(notification.delivery_id) if notification.delivery_id else None,
            "attempts": delivery.attempts if delivery is not None else notification.attempts,
            "error": (delivery.last_error if delivery is not None else notification.error) or None,
            "created_at": iso_time(notification.created_at), "sent_at": iso_time(
                delivery.finished_at if delivery is not None else notification.sent_at)}


def firing_data(firing: AlertFiring, deliveries: dict[Any, WebhookDelivery] | None = None) -> dict[str, Any]:
    rule = firing.rule
    workflow = rule.workflow
    if deliveries is None:
        deliveries = deliveries_of([firing])
    return {
        "id": str(firing.pk), "rule": {"id": str(rule.pk), "name": rule.name},
        "workflow": {"id": str(workflow.pk), "name": workflow.name} if workflow is not None else None,
        "status": firing.status, "severity": firing.severity, "condition": firing.condition,
        "value": firing.value, "last_value": firing.last_value, "message": firing.message, "details": firing.details,
        "started_at": iso_time(firing.started_at), "resolved_at": iso_time(firing.resolved_at),
        "notifications": [_notification_data(n, deliveries) for n in firing.notifications.all()],
    }


def deliveries_of(firings: list[AlertFiring]) -> dict[Any, WebhookDelivery]:
    ids = [n.delivery_id for firing in firings for n in firing.notifications.all() if n.delivery_id]
    return {delivery.pk: delivery for delivery in WebhookDelivery.objects.filter(pk__in=ids)} if ids else {}


def firings_page(firings: list[AlertFiring]) -> list[dict[str, Any]]:
    deliveries = deliveries_of(firings)
    return [firing_data(firing, deliveries) for firing in firings]


class RefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ChannelSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["webhook", "slack", "email"])
    webhook = serializers.UUIDField(required=False, help_text="webhook and slack: the outbound webhook's id.")
    to = serializers.ListField(child=serializers.EmailField(), required=False, help_text="email: the addresses.")


class AlertRuleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    workflow = RefSerializer(allow_null=True, help_text="Only this workflow's runs (null: all the tenant's).")
    condition = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    channels = ChannelSerializer(many=True)
    enabled = serializers.BooleanField()
    state = serializers.ChoiceField(choices=AlertState.choices)
    value = serializers.FloatField(allow_null=True, help_text="The condition's figure at the last evaluation.")
    evaluated_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True, help_text="Why the last evaluation could not decide.")
    created_by = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class NotificationSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=FiringStatus.choices)
    channel = serializers.ChoiceField(choices=["webhook", "slack", "email"])
    target = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "sent", "failed"])
    delivery_id = serializers.UUIDField(allow_null=True, help_text="The outbound webhook delivery carrying it.")
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class AlertFiringSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    rule = RefSerializer()
    workflow = RefSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=FiringStatus.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    condition = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="The figure that made it fire.")
    last_value = serializers.FloatField(allow_null=True, help_text="The figure at the last evaluation.")
    message = serializers.CharField()
    details = serializers.JSONField(help_text="What was found: the figures read, or the executions concerned.")
    started_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    notifications = NotificationSerializer(many=True)


class RuleCheckSerializer(serializers.Serializer):
    holds = serializers.BooleanField(allow_null=True, help_text="Whether the condition holds now (null: it could not "
                                                                "be decided).")
    value = serializers.FloatField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    details = serializers.JSONField()
    error = serializers.CharField(allow_null=True)

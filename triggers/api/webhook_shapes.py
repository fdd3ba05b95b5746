"""How outbound webhooks and their deliveries look in the API: plain dicts, with DRF serializers
declaring the shapes for the OpenAPI schema (the generated client reads them)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from mbflow_site.formats import iso_time
from triggers.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from triggers.signatures import HEADER


def subscription_data(subscription: WebhookSubscription) -> dict[str, Any]:
    workflow = subscription.workflow
    return {
        "id": str(subscription.pk),
        "url": subscription.url,
        "events": subscription.events,
        "workflow": {"id": str(workflow.pk), "name": workflow.name} if workflow is not None else None,
        "description": subscription.description,
        "enabled": subscription.enabled,
        "signature_header": HEADER,
        "created_at": iso_time(subscription.created_at),
        "updated_at": iso_time(subscription.updated_at),
    }


def attempt_data(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {"number": attempt.number, "started_at": iso_time(attempt.started_at), "duration_ms": attempt.duration_ms,
            "status_code": attempt.status_code, "error": attempt.error or None, "response": attempt.response}


def delivery_data(delivery: WebhookDelivery, *, body: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(delivery.pk),
        "webhook": {"id": str(delivery.subscription_id), "url": delivery.subscription.url},
        "event": delivery.event,
        "event_id": delivery.event_id,
        "execution_id": str(delivery.execution_id) if delivery.execution_id else None,
        "node_id": delivery.node_id or None,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": iso_time(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error or None,
        "redelivery_of": str(delivery.redelivery_of_id) if delivery.redelivery_of_id else None,
        "created_at": iso_time(delivery.created_at),
        "finished_at": iso_time(delivery.finished_at),
        "attempt_log": [attempt_data(attempt) for attempt in delivery.attempt_records.all()],
    }
    if body:
        data["body"] = json.loads(delivery.body)
    return data


class WorkflowNameSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    workflow = WorkflowNameSerializer(allow_null=True, help_text="Only this workflow's runs (null: all).")
    description = serializers.CharField(allow_blank=True)
    enabled = serializers.BooleanField()
    signature_header = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(allow_null=True, help_text="The signing secret made for it, shown this once "
                                                              "(null when the request gave one).")


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    response = serializers.CharField(allow_blank=True, help_text="The start of the response's body (1,000 characters).")


class WebhookRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    webhook = WebhookRefSerializer()
    event = serializers.ChoiceField(choices=WebhookEvent.choices)
    event_id = serializers.CharField(help_text="<execution id>:<seq> (an alert's: alert:<firing id>:<n>), the same "
                                               "at every redelivery.")
    execution_id = serializers.UUIDField(allow_null=True, help_text="null for an alert's notice.")
    node_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    redelivery_of = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    attempt_log = AttemptSerializer(many=True)


class DeliveryDetailSerializer(DeliverySerializer):
    body = serializers.JSONField(help_text="The JSON sent.")

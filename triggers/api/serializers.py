"""How triggers look in the API: plain dicts, with DRF serializers declaring the shapes for
the OpenAPI schema (the generated client reads them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rest_framework import serializers

from mbflow_site.formats import iso_time
from triggers.models import SCHEDULED_KINDS, Trigger, TriggerKind
from triggers.services.firing import not_live_reason
from triggers.services.schedules import next_fire_times
from triggers.services.specs import parse
from triggers.signatures import HEADER

UPCOMING = 5


def _utc(moment: datetime) -> str | None:
    return iso_time(moment.astimezone(UTC))


def trigger_data(trigger: Trigger, base_url: str, *, reveal: bool = True) -> dict[str, Any]:
    """The trigger as the API shows it; without ``reveal`` (a viewer) a webhook's URL is null: its
    token starts runs, which only editors may."""
    workflow = trigger.workflow
    data: dict[str, Any] = {
        "id": str(trigger.pk),
        "workflow": {"id": str(workflow.pk), "name": workflow.name, "active": workflow.active},
        "type": trigger.kind,
        "name": trigger.name or None,
        "key": trigger.key,
        "enabled": trigger.enabled,
        "live": not_live_reason(trigger) is None,
        "spec": trigger.spec,
        "version": trigger.version.number if trigger.version is not None else None,
        "last_fired_at": iso_time(trigger.last_fired_at),
        "last_execution_id": str(trigger.last_execution_id) if trigger.last_execution_id else None,
        "webhook": None,
        "schedule": None,
        "created_at": iso_time(trigger.created_at),
        "updated_at": iso_time(trigger.updated_at),
    }
    model = parse(trigger.spec)
    if trigger.kind == TriggerKind.WEBHOOK:
        data["webhook"] = {"url": f"{base_url}/hooks/{trigger.token}" if reveal else None,
                           "mode": model.mode, "input": model.input,
                           "signed": bool(trigger.secret), "signature_header": HEADER}
    elif trigger.kind in SCHEDULED_KINDS:
        data["schedule"] = {
            "next_fire_times": [_utc(moment) for moment in next_fire_times(trigger, UPCOMING)],
            "timezone": getattr(model, "timezone", "UTC"),
            "missed": model.missed,
        }
    return data


class WorkflowRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    active = serializers.BooleanField()


class WebhookSerializer(serializers.Serializer):
    url = serializers.URLField(allow_null=True, help_text="POST here to start a run; the token in it is the "
                                                           "credential (null for viewers: only editors start runs).")
    mode = serializers.ChoiceField(choices=["async", "sync"])
    input = serializers.ChoiceField(choices=["body", "request"])
    signed = serializers.BooleanField(help_text=f"Calls must carry {HEADER}.")
    signature_header = serializers.CharField()


class ScheduleSerializer(serializers.Serializer):
    next_fire_times = serializers.ListField(child=serializers.DateTimeField())
    timezone = serializers.CharField()
    missed = serializers.ChoiceField(choices=["skip", "run_once"])


class TriggerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workflow = WorkflowRefSerializer()
    type = serializers.ChoiceField(choices=TriggerKind.choices)
    name = serializers.CharField(allow_null=True)
    key = serializers.CharField(help_text="name:<name>, or <type>:<n> for the n-th unnamed trigger of a type.")
    enabled = serializers.BooleanField()
    live = serializers.BooleanField(help_text="Whether it starts runs now: enabled, its workflow active and "
                                              "not archived.")
    spec = serializers.JSONField(help_text="The trigger as the workflow's active version declares it.")
    version = serializers.IntegerField(allow_null=True)
    last_fired_at = serializers.DateTimeField(allow_null=True)
    last_execution_id = serializers.UUIDField(allow_null=True)
    webhook = WebhookSerializer(allow_null=True)
    schedule = ScheduleSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, trigger: Trigger) -> dict[str, Any]:
        return trigger_data(trigger, self.context["base_url"], reveal=self.context.get("reveal", True))


class TriggerCreate(BaseModel):
    """A trigger as in the workflow's ``triggers:`` (``type`` and that type's keys), plus a
    webhook's signing ``secret``."""

    model_config = ConfigDict(extra="allow")

    type: Literal["cron", "interval", "webhook", "event", "manual"]
    name: str | None = None
    enabled: bool | None = None
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = None


class TriggerChange(BaseModel):
    """Keys of the trigger's declaration to replace (``null`` removes one)."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    enabled: bool | None = None


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = Field(
        default=None, description="The secret to sign with; omitted, one is generated and answered once.")


class SecretOut(serializers.Serializer):
    secret = serializers.CharField(allow_null=True, help_text="The generated secret, shown this once.")
    trigger = TriggerSerializer()


class EventStartedSerializer(serializers.Serializer):
    execution = serializers.UUIDField()
    trigger = serializers.DictField()
    workflow = serializers.DictField()


class EventFailedSerializer(serializers.Serializer):
    trigger = serializers.DictField()
    workflow = serializers.DictField()
    error = serializers.CharField()


class EventAnswerSerializer(serializers.Serializer):
    event = serializers.DictField()
    duplicate = serializers.BooleanField(help_text="The event's id was seen before: nothing new started.")
    executions = EventStartedSerializer(many=True)
    failed = EventFailedSerializer(many=True)


class HookAcceptedSerializer(serializers.Serializer):
    execution_id = serializers.UUIDField()
    status_url = serializers.URLField()

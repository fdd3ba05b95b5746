"""Alert rules as the tenant writes them, and their firings as it reads them.

A rule is checked when written: its condition is read (``conditions``; a business metric it
names must be declared by the rule's workflow, or by some workflow of the tenant for a rule over
all of them), each webhook or Slack channel must be an outbound webhook of the tenant that asks
for ``alert.firing`` or ``alert.resolved`` (and, if it is kept to one workflow, the rule's), each
email address must be one. A rule changed or disabled while firing resolves that firing (its
channels are told); a changed rule is evaluated at the next tick.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from mbflow_site.errors import ApiError, Conflict, NotFound
from monitoring.models import AlertFiring, AlertRule, FiringStatus, MetricSeries, Severity
from monitoring.services.alerts.conditions import ConditionError, parse_condition
from monitoring.services.alerts.evaluation import resolve
from monitoring.services.business import declared_metrics
from triggers.models import WebhookEvent, WebhookSubscription
from workflows.models import Tenant, Workflow
from workflows.public import get_workflow

ALERT_EVENTS = {WebhookEvent.ALERT_FIRING.value, WebhookEvent.ALERT_RESOLVED.value}
MAX_CHANNELS = 10


class WebhookChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook", "slack"] = Field(description="webhook: the firing as JSON, signed; slack: a "
                                                          "Slack-compatible message.")
    webhook: uuid.UUID = Field(description="An outbound webhook of the tenant (/api/v1/webhooks) that asks for "
                                           "alert.firing and/or alert.resolved.")


class EmailChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["email"]
    to: Annotated[list[Annotated[str, Field(max_length=254)]], Field(min_length=1, max_length=20)]


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ConditionText = Annotated[str, Field(min_length=1, max_length=500, description=(
    "`<expression> over <window>` (e.g. `failure_rate > 0.05 over 15m`, `p95_duration > 60s`, "
    "`sum(order_value) < 100 over 1h`), `execution failed`, or `running longer than 10m`."))]


class RuleIn(BaseModel):
    """An alert rule as a client writes it."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Annotated[str, Field(max_length=500)] = ""
    workflow: str | None = Field(default=None, description="Only this workflow's runs (an id or a name); "
                                                           "all the tenant's when absent.")
    condition: ConditionText
    severity: Severity = Severity.WARNING
    channels: Annotated[list[Channel], Field(max_length=MAX_CHANNELS)] = []
    enabled: bool = True


class RuleChange(BaseModel):
    """Fields to replace (``workflow: null``: every workflow)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    workflow: str | None = None
    condition: ConditionText | None = None
    severity: Severity | None = None
    channels: Annotated[list[Channel], Field(max_length=MAX_CHANNELS)] | None = None
    enabled: bool | None = None


def _field_error(field: str, message: str) -> ApiError:
    return ApiError(message, code="validation_error", details={"fields": {field: [message]}})


def _known_metrics(tenant: Tenant, workflow: Workflow | None) -> frozenset[str]:
    workflows = [workflow] if workflow is not None else list(
        Workflow.objects.filter(tenant=tenant, active_version__isnull=False).select_related("active_version"))
    names = {metric.name for each in workflows if each.active_version is not None
             for metric in declared_metrics(each.active_version.pk, each.active_version.checksum)}
    # Metrics observed before (a version since changed) can still be read over past windows.
    observed = MetricSeries.objects.filter(tenant=tenant)
    if workflow is not None:
        observed = observed.filter(workflow=workflow)
    return frozenset(names | set(observed.values_list("metric", flat=True)))


def check_condition(tenant: Tenant, workflow: Workflow | None, text: str) -> str:
    try:
        return parse_condition(text, _known_metrics(tenant, workflow)).text
    except ConditionError as exc:
        raise _field_error("condition", str(exc)) from None


def check_channels(tenant: Tenant, workflow: Workflow | None, channels: list[Any]) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    for index, channel in enumerate(channels):
        if isinstance(channel, EmailChannel):
            for address in channel.to:
                try:
                    validate_email(address)
                except ValidationError:
                    raise _field_error("channels", f"channels[{index}]: {address!r} is not an email address.") from None
            checked.append({"type": "email", "to": [address.strip() for address in channel.to]})
            continue
        subscription = WebhookSubscription.objects.filter(tenant=tenant, pk=channel.webhook).first()
        if subscription is None:
            raise _field_error("channels", f"channels[{index}]: no webhook {channel.webhook} in this tenant "
                                           "(see /api/v1/webhooks).")
        if not ALERT_EVENTS & set(subscription.events):
            raise _field_error("channels", f"channels[{index}]: webhook {channel.webhook} does not ask for "
                                           "alert.firing or alert.resolved; add them to its events.")
        if subscription.workflow_id is not None and (workflow is None or subscription.workflow_id != workflow.pk):
            raise _field_error("channels", f"channels[{index}]: webhook {channel.webhook} hears only of one "
                                           "workflow's runs; the rule must be about that workflow.")
        checked.append({"type": channel.type, "webhook": str(channel.webhook)})
    return checked


def rules_of(tenant: Tenant) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(tenant=tenant).select_related("workflow").order_by("name")


def get_rule(tenant: Tenant, ref: Any) -> AlertRule:
    try:
        key = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No alert rule {ref!r}.") from None
    rule = rules_of(tenant).filter(pk=key).first()
    if rule is None:
        raise NotFound(f"No alert rule {ref!r}.")
    return rule


def _unique_name(tenant: Tenant, name: str, rule: AlertRule | None = None) -> None:
    clash = AlertRule.objects.filter(tenant=tenant, name=name)
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise Conflict(f"An alert rule is already named {name!r}.", code="name_taken", details={"name": name})


def do_create_rule(tenant: Tenant, body: RuleIn, author: str) -> AlertRule:
    workflow = get_workflow(tenant, body.workflow, documents=False) if body.workflow else None
    condition = check_condition(tenant, workflow, body.condition)
    channels = check_channels(tenant, workflow, body.channels)
    _unique_name(tenant, body.name)
    try:
        with transaction.atomic():
            return AlertRule.objects.create(tenant=tenant, name=body.name, description=body.description,
                                            workflow=workflow, condition=condition, severity=body.severity,
                                            channels=channels, enabled=body.enabled, created_by=author,
                                            next_evaluation_at=timezone.now())
    except IntegrityError:
        _unique_name(tenant, body.name)
        raise


def do_change_rule(rule: AlertRule, changes: RuleChange, given: set[str]) -> AlertRule:
    """Replaces the fields ``given``; a change of what the rule watches resolves its firing."""
    tenant = rule.tenant
    if "workflow" in given:
        rule.workflow = get_workflow(tenant, changes.workflow, documents=False) if changes.workflow else None
    if "condition" in given and changes.condition is not None:
        rule.condition = changes.condition
    if given & {"workflow", "condition"}:
        rule.condition = check_condition(tenant, rule.workflow, rule.condition)
    if "channels" in given and changes.channels is not None:
        rule.channels = check_channels(tenant, rule.workflow, changes.channels)
    elif "workflow" in given:
        rule.channels = check_channels(tenant, rule.workflow, [_channel_model(c) for c in rule.channels])
    for name in ("name", "description", "severity", "enabled"):
        value = getattr(changes, name)
        if name in given and value is not None:
            setattr(rule, name, value)
    _unique_name(tenant, rule.name, rule)
    watched_changed = bool(given & {"workflow", "condition"}) or ("enabled" in given and not rule.enabled)
    now = timezone.now()
    with transaction.atomic():
        if watched_changed:
            firing = AlertFiring.objects.select_for_update().filter(rule=rule, status=FiringStatus.FIRING).first()
            if firing is not None:
                resolve(firing, rule, now, firing.last_value, "the rule changed" if rule.enabled else "the rule was "
                        "disabled")
        rule.next_evaluation_at = now
        rule.save()
    return rule


def _channel_model(channel: dict[str, Any]) -> WebhookChannel | EmailChannel:
    return EmailChannel(**channel) if channel.get("type") == "email" else WebhookChannel(**channel)


def do_delete_rule(rule: AlertRule) -> None:
    rule.delete()


def firings_of(tenant: Tenant, *, rule: Any = None, status: str | None = None,
               severity: str | None = None) -> QuerySet[AlertFiring]:
    firings = (AlertFiring.objects.filter(tenant=tenant).select_related("rule", "rule__workflow")
               .prefetch_related("notifications"))
    if rule is not None:
        try:
            firings = firings.filter(rule_id=uuid.UUID(str(rule)))
        except ValueError:
            raise _field_error("rule", f"{rule!r} is not an id.") from None
    for name, value, choices in (("status", status, FiringStatus.values), ("severity", severity, Severity.values)):
        if value:
            unknown = set(value.split(",")) - set(choices)
            if unknown:
                raise _field_error(name, f"Unknown {name} {', '.join(sorted(unknown))}; one of {', '.join(choices)}.")
            firings = firings.filter(**{f"{name}__in": value.split(",")})
    return firings.order_by("-started_at")


def get_firing(tenant: Tenant, ref: Any) -> AlertFiring:
    try:
        key = uuid.UUID(str(ref))
    except ValueError:
        raise NotFound(f"No alert firing {ref!r}.") from None
    firing = firings_of(tenant).filter(pk=key).first()
    if firing is None:
        raise NotFound(f"No alert firing {ref!r}.")
    return firing

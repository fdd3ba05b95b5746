"""Django admin for triggers: read-mostly. What a trigger is lives in its workflow's active
version (edit the workflow); here one sees its state and what it fired, and may give a webhook a
new URL (the old one stops working at once). Outbound webhooks are made through the API (their
URL is checked and their secret shown once); here one sees them and their deliveries, turns one
off, and redelivers by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from triggers.models import (
    DeliveryAttempt,
    ReceivedEvent,
    Trigger,
    TriggerFire,
    WebhookDelivery,
    WebhookSubscription,
)
from triggers.services.deliveries import do_redeliver
from triggers.services.subscriptions import forget
from triggers.services.triggers import do_regenerate_token


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FireInline(admin.TabularInline):
    model = TriggerFire
    fields = ["due_at", "fired_at", "status", "execution_id", "error"]
    readonly_fields = fields
    ordering = ["-due_at"]
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Trigger)
class TriggerAdmin(ReadOnly):
    list_display = ["workflow", "key", "kind", "enabled", "declared", "signed", "next_fire_at", "last_fired_at"]
    list_filter = ["kind", "enabled", "declared", "tenant"]
    search_fields = ["workflow__name", "name", "key"]
    fields = ["tenant", "workflow", "key", "kind", "name", "spec", "enabled", "declared", "version",
              "next_fire_at", "last_fired_at", "last_execution_id", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [FireInline]
    actions = ["regenerate_tokens"]

    @admin.display(boolean=True)
    def signed(self, trigger: Trigger) -> bool:
        return bool(trigger.secret)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("triggers.change_trigger") if obj is None else False

    @admin.action(description="Give the selected webhooks a new URL")
    def regenerate_tokens(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        webhooks = [trigger for trigger in queryset if trigger.kind == "webhook"]
        for trigger in webhooks:
            do_regenerate_token(trigger)
        self.message_user(request, f"{len(webhooks)} webhook(s) have a new URL.", messages.SUCCESS)


@admin.register(ReceivedEvent)
class ReceivedEventAdmin(ReadOnly):
    list_display = ["type", "event_id", "tenant", "received_at"]
    list_filter = ["tenant"]
    search_fields = ["type", "event_id"]
    fields = ["tenant", "type", "event_id", "received_at", "executions"]
    readonly_fields = fields


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnly):
    list_display = ["url", "tenant", "events", "workflow", "enabled", "created_at"]
    list_filter = ["enabled", "tenant"]
    search_fields = ["url", "description"]
    fields = ["tenant", "url", "events", "workflow", "description", "enabled", "created_at", "updated_at"]
    readonly_fields = fields
    actions = ["enable", "disable"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("triggers.change_webhooksubscription") if obj is None else False

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription], enabled: bool) -> None:
        tenants = set(queryset.values_list("tenant_id", flat=True))
        count = queryset.update(enabled=enabled)
        for tenant_id in tenants:
            forget(tenant_id)
        self.message_user(request, f"{count} webhook(s) {'enabled' if enabled else 'disabled'}.", messages.SUCCESS)

    @admin.action(description="Enable the selected webhooks")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable the selected webhooks")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        self._set_enabled(request, queryset, False)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ["event", "subscription", "execution_id", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event", "tenant"]
    search_fields = ["execution_id", "subject", "subscription__url"]
    fields = ["tenant", "subscription", "event", "execution_id", "subject", "seq", "node_id", "status", "attempts",
              "next_attempt_at", "last_status_code", "last_error", "redelivery_of", "created_at", "finished_at", "body"]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("triggers.change_webhookdelivery") if obj is None else False

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            do_redeliver(delivery)
        self.message_user(request, f"{queryset.count()} delivery(ies) sent again.", messages.SUCCESS)

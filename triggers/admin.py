"""Django admin for triggers: read-mostly. What a trigger is lives in its workflow's active
version (edit the workflow); here one sees its state and what it fired, and may give a webhook a
new URL (the old one stops working at once)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from triggers.models import ReceivedEvent, Trigger, TriggerFire
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

"""Django admin for alerts: rules (made through the API or here; the condition and channels are
checked as the API checks them), their firings and whom each was told to (read only), and the
business metric series with their totals."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from pydantic import TypeAdapter, ValidationError

from mbflow_site.errors import ApiError
from monitoring.models import AlertFiring, AlertNotification, AlertRule, MetricSeries
from monitoring.services.alerts.rules import Channel, check_channels, check_condition

CHANNELS = TypeAdapter(list[Channel])


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["tenant", "name", "description", "workflow", "condition", "severity", "channels", "enabled"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        tenant, workflow = data.get("tenant"), data.get("workflow")
        if tenant is None:
            return data
        if workflow is not None and workflow.tenant_id != tenant.pk:
            self.add_error("workflow", "This workflow belongs to another tenant.")
            return data
        try:
            if data.get("condition"):
                data["condition"] = check_condition(tenant, workflow, data["condition"])
            data["channels"] = check_channels(tenant, workflow, CHANNELS.validate_python(data.get("channels") or []))
        except ValidationError as exc:
            self.add_error("channels", "; ".join(error["msg"] for error in exc.errors()))
        except ApiError as exc:
            for field, problems in (exc.details or {}).get("fields", {}).items():
                self.add_error(field if field in self.fields else None, problems)
        return data


class FiringInline(admin.TabularInline):
    model = AlertFiring
    fields = ["status", "severity", "value", "last_value", "message", "started_at", "resolved_at"]
    readonly_fields = fields
    ordering = ["-started_at"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "tenant", "workflow", "condition", "severity", "state", "value", "enabled", "evaluated_at"]
    list_filter = ["state", "severity", "enabled", "tenant"]
    search_fields = ["name", "condition", "workflow__name"]
    readonly_fields = ["state", "value", "evaluated_at", "last_error", "created_by", "created_at", "updated_at"]
    inlines = [FiringInline]
    actions = ["evaluate_now"]

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        obj.next_evaluation_at = timezone.now()  # evaluated at the next tick
        super().save_model(request, obj, form, change)

    @admin.action(description="Evaluate the selected rules at the next tick")
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        count = queryset.update(next_evaluation_at=timezone.now())
        self.message_user(request, f"{count} rule(s) will be evaluated at the next tick.", messages.SUCCESS)


class NotificationInline(admin.TabularInline):
    model = AlertNotification
    fields = ["event", "channel", "target", "status", "delivery_id", "attempts", "error", "created_at", "sent_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(AlertFiring)
class AlertFiringAdmin(admin.ModelAdmin):
    list_display = ["rule", "tenant", "status", "severity", "value", "started_at", "resolved_at"]
    list_filter = ["status", "severity", "tenant"]
    search_fields = ["rule__name", "message"]
    fields = ["rule", "tenant", "status", "severity", "condition", "value", "last_value", "message", "details",
              "started_at", "resolved_at"]
    readonly_fields = fields
    inlines = [NotificationInline]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MetricSeries)
class MetricSeriesAdmin(admin.ModelAdmin):
    list_display = ["metric", "workflow", "type", "labels", "count", "total", "last", "last_at"]
    list_filter = ["type", "tenant"]
    search_fields = ["metric", "workflow__name", "labels"]
    readonly_fields = ["tenant", "workflow", "metric", "type", "labels", "count", "total", "last", "last_at", "bounds",
                       "buckets"]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

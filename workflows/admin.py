from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from workflows.auth import forget_cached_keys
from workflows.models import ApiKey, Membership, PendingContext, Template, Tenant, Workflow, WorkflowVersion
from workflows.models.keys import generate_raw_key


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "role", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__slug"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["tenant", "name", "role", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            raw = generate_raw_key()
            obj.set_secret(raw)
            obj.created_by = obj.created_by or request.user
            super().save_model(request, obj, form, change)
            # Shown once: only its hash is stored.
            messages.warning(request, f"The new API key is {raw} — copy it now, it will not be shown again.")
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        forget_cached_keys()
        messages.info(request, f"Revoked {count} key(s).")


class VersionInline(admin.TabularInline):
    model = WorkflowVersion
    extra = 0
    can_delete = False
    fields = ["number", "message", "author", "checksum", "created_at"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "tenant", "active_version", "active", "archived", "updated_at"]
    list_filter = ["active", "archived", "tenant"]
    search_fields = ["name", "title", "description"]
    readonly_fields = ["active_version", "created_at", "updated_at"]
    inlines = [VersionInline]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ["workflow", "number", "message", "author", "source_dialect", "created_at"]
    list_filter = ["source_dialect", "workflow__tenant"]
    search_fields = ["workflow__name", "message", "author"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # versions are immutable; the admin shows them read-only

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "title", "description"]


@admin.register(PendingContext)
class PendingContextAdmin(admin.ModelAdmin):
    """WorkflowContexts imported before their workflow; applied (and removed) when it is created."""

    list_display = ["name", "workflow_name", "tenant", "author", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "workflow_name"]
    readonly_fields = ["created_at", "updated_at"]

"""Django admin for runs: read-mostly, since executions change only through the engine.

Executions, node runs and events are shown, never edited: the rows are a projection of the
event log, so an edit here would make them disagree with a replay. Secrets show their names
only; a value can be set (encrypted by ``do_set_secret``) but is never read back. A tenant's
circuit breakers, kept in the breaker store rather than a table, are a page of the Tenant admin
(extended here, since ``workflows`` knows nothing of the runtime), where they can be reset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from executions.engine.breakers import CLOSED, BreakerState
from executions.models import Execution, ExecutionEvent, NodeRun, Secret
from executions.services.breakers import breaker_states, breaker_time, do_reset_breaker
from executions.services.secrets import check_secret, do_set_secret
from executions.services.verification import Tally, Verification, verify_executions
from mbflow_site.errors import ApiError, NotFound
from workflows.admin import TenantAdmin
from workflows.models import Tenant


def pretty_json(value: Any) -> SafeString | str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def format_duration(duration: timedelta | None) -> str:
    if duration is None:
        return "-"
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.3f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}"


# Events shown on an execution's page; a longer log links to the event list filtered to it.
EVENT_LOG_SHOWN = 200
# Differences listed in the message of a verification; the command lists them all.
VERIFY_MESSAGE_LINES = 20


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    extra = 0
    can_delete = False
    fields = ["node_id", "status", "attempt", "started_at", "finished_at", "error_json"]
    readonly_fields = fields
    ordering = ["order"]

    @admin.display(description="error")
    def error_json(self, node_run: NodeRun) -> SafeString | str:
        return pretty_json(node_run.error)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow_name", "version_number", "tenant", "status", "created_at", "started_at",
                    "finished_at", "duration"]
    list_filter = ["status", "tenant", "workflow"]
    # "^id" is a case-insensitive prefix match, so a whole id finds exactly its execution.
    search_fields = ["^id", "workflow__name", "=idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["workflow", "version", "tenant"]
    inlines = [NodeRunInline]
    fields = ["id", "tenant", "workflow", "version", "status", "events_link", "parent", "parent_node_id", "depth",
              "idempotency_key", "created_at", "started_at", "finished_at", "duration", "total_steps", "last_seq",
              "input_json", "output_json", "error_json", "trigger_json", "adhoc_spec_json", "event_log"]
    readonly_fields = fields
    actions = ["verify_events"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Execution]:
        return super().get_queryset(request).select_related("workflow", "version", "tenant")

    @admin.display(description="workflow", ordering="workflow__name")
    def workflow_name(self, execution: Execution) -> str:
        return execution.workflow.name if execution.workflow else "(ad hoc)"

    @admin.display(description="version", ordering="version__number")
    def version_number(self, execution: Execution) -> int | None:
        return execution.version.number if execution.version else None

    @admin.display(description="duration")
    def duration(self, execution: Execution) -> str:
        if execution.started_at is None or execution.finished_at is None:
            return "-"
        return format_duration(execution.finished_at - execution.started_at)

    @admin.display(description="events")
    def events_link(self, execution: Execution) -> SafeString:
        url = reverse("admin:executions_executionevent_changelist")
        return format_html('<a href="{}?execution__id__exact={}">{} event(s)</a>', url, execution.pk,
                           execution.last_seq)

    @admin.display(description="event log")
    def event_log(self, execution: Execution) -> SafeString:
        events = list(execution.events.order_by("seq")[:EVENT_LOG_SHOWN + 1])
        verify = format_html('<p><a class="button" href="{}">Verify against the event log</a></p>',
                             reverse("admin:executions_execution_verify", args=[execution.pk]))
        more = ""
        if len(events) > EVENT_LOG_SHOWN:
            url = reverse("admin:executions_executionevent_changelist")
            more = format_html('<p>The first {} of {} events: <a href="{}?execution__id__exact={}">all of them</a>'
                               ".</p>", EVENT_LOG_SHOWN, execution.events.count(), url, execution.pk)
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (event.seq, timezone.localtime(event.time).isoformat(timespec="milliseconds"), event.type,
             event.node_id or "-", pretty_json(event.payload))
            for event in events[:EVENT_LOG_SHOWN]))
        return format_html('{}<table class="event-log"><thead><tr><th>seq</th><th>time</th><th>type</th><th>node</th>'
                           "<th>payload</th></tr></thead><tbody>{}</tbody></table>{}", verify, rows, more)

    @admin.action(description="Verify against the event log", permissions=["view"])
    def verify_events(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        self.report_verification(request, verify_executions(queryset))

    def verify_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        execution = self.get_object(request, object_id)
        if execution is None:
            raise Http404("No such execution.")
        if not self.has_view_permission(request, execution):
            raise PermissionDenied
        self.report_verification(request, verify_executions(Execution.objects.filter(pk=execution.pk)))
        return HttpResponseRedirect(reverse("admin:executions_execution_change", args=[execution.pk]))

    def report_verification(self, request: HttpRequest, verifications: Iterable[Verification]) -> None:
        tally, lines, more = Tally(), [], 0
        for verification in verifications:
            tally.add(verification)
            found = verification.lines()
            room = VERIFY_MESSAGE_LINES - len(lines)
            lines += found[:room]
            more += max(0, len(found) - room)
        if more:
            lines.append(f"and {more} more (`manage.py mbflow verify_events` lists them all)")
        if tally.differing:
            level = messages.ERROR
        elif tally.unsettled:
            level = messages.WARNING
        else:
            level = messages.SUCCESS
        self.message_user(request, "; ".join([f"Event log: {tally}", *lines]), level)

    def get_urls(self) -> list[URLPattern]:
        verify = path("<path:object_id>/verify/", self.admin_site.admin_view(self.verify_view),
                      name="executions_execution_verify")
        return [verify, *super().get_urls()]

    @admin.display(description="input")
    def input_json(self, execution: Execution) -> SafeString | str:
        return pretty_json(execution.input)

    @admin.display(description="output")
    def output_json(self, execution: Execution) -> SafeString | str:
        return pretty_json(execution.output)

    @admin.display(description="error")
    def error_json(self, execution: Execution) -> SafeString | str:
        return pretty_json(execution.error)

    @admin.display(description="trigger")
    def trigger_json(self, execution: Execution) -> SafeString | str:
        return pretty_json(execution.trigger)

    @admin.display(description="ad hoc document")
    def adhoc_spec_json(self, execution: Execution) -> SafeString | str:
        return pretty_json(execution.adhoc_spec)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # executions start through the API or a trigger, never from a form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Node runs and events cascade with the execution; children keep running (parent is SET_NULL).
        return bool(request.user.is_superuser)


@admin.register(ExecutionEvent)
class ExecutionEventAdmin(admin.ModelAdmin):
    list_display = ["execution_link", "seq", "type", "node_id", "time"]
    list_filter = ["type"]
    search_fields = ["^execution__id"]
    list_select_related = ["execution"]
    fields = ["execution_link", "seq", "type", "node_id", "time", "payload_json"]
    readonly_fields = fields

    @admin.display(description="execution", ordering="execution_id")
    def execution_link(self, event: ExecutionEvent) -> SafeString:
        url = reverse("admin:executions_execution_change", args=[event.execution_id])
        return format_html('<a href="{}">{}</a>', url, event.execution_id)

    @admin.display(description="payload")
    def payload_json(self, event: ExecutionEvent) -> SafeString | str:
        return pretty_json(event.payload)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the log is append-only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An event goes only with its execution (a gap in the log would break replay). Django asks
        # this admin about each event when a superuser deletes an execution, workflow or tenant
        # elsewhere in the admin; saying no there would block those deletes, so only this admin's
        # own pages (list action, change page, delete page) are refused.
        match = request.resolver_match
        own_pages = f"{self.opts.app_label}_{self.opts.model_name}_"
        return (bool(request.user.is_superuser) and obj is not None and match is not None
                and not (match.url_name or "").startswith(own_pages))


class SecretForm(forms.ModelForm):
    value = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Encrypted when saved and never shown again.",
    )

    class Meta:
        model = Secret
        fields = ["tenant", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["value"].required = False
            self.fields["value"].label = "New value"
            self.fields["value"].help_text = "Leave blank to keep the current value; a new one is encrypted when saved."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        value = cleaned.get("value")
        if self.instance.pk is not None and not value:
            return cleaned
        name = cleaned.get("name", self.instance.name)
        if name is None or value is None:
            return cleaned  # a required field is missing; its own error says so
        try:
            check_secret(name, value)
        except ApiError as error:
            fields = error.details.get("fields", {})
            raise ValidationError({field: messages for field, messages in fields.items() if field in self.fields}
                                  or error.message) from error
        return cleaned


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    """Names per tenant. The ciphertext is in no field, column, search or form of this admin."""

    form = SecretForm
    list_display = ["name", "tenant", "created_at", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Secret]:
        return super().get_queryset(request).defer("ciphertext")

    def get_fields(self, request: HttpRequest, obj: Secret | None = None) -> list[str]:
        if obj is None:
            return ["tenant", "name", "value"]
        return ["tenant", "name", "value", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Secret | None = None) -> list[str]:
        # Renaming would orphan the references in workflow documents: set a new secret instead.
        return [] if obj is None else ["tenant", "name", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Secret, form: Any, change: bool) -> None:
        value = form.cleaned_data.get("value")
        if change and not value:
            return
        # The service encrypts; the admin never handles ciphertext itself.
        secret = do_set_secret(obj.tenant, obj.name, value)
        obj.pk = secret.pk
        obj.created_at, obj.updated_at = secret.created_at, secret.updated_at
        obj._state.adding = False


def breaker_row(state: BreakerState) -> dict[str, Any]:
    """A breaker as its admin page shows it: the times as datetimes."""
    row = asdict(state)
    for name in ("opened_at", "retry_at", "updated_at"):
        if row[name] is not None:
            row[name] = breaker_time(row[name])
    return row


class TenantWithBreakersAdmin(TenantAdmin):
    """The Tenant admin, with a page of the tenant's circuit breakers (linked from its change
    page), where a user who may change the tenant resets one."""

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else [*fields, "circuit_breakers"]

    @admin.display(description="circuit breakers")
    def circuit_breakers(self, tenant: Tenant) -> SafeString:
        states = breaker_states(tenant)
        not_closed = sum(state.state != CLOSED for state in states)
        return format_html('<a href="{}">{} breaker(s), {} not closed</a>',
                           reverse("admin:workflows_tenant_breakers", args=[tenant.pk]), len(states), not_closed)

    def breakers_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        tenant = self.get_object(request, object_id)
        if tenant is None:
            raise Http404("No such tenant.")
        if not self.has_view_permission(request, tenant):
            raise PermissionDenied
        can_reset = self.has_change_permission(request, tenant)
        if request.method == "POST":
            if not can_reset:
                raise PermissionDenied
            key = request.POST.get("key", "")
            try:
                do_reset_breaker(tenant, key, by=request.user.get_username())
            except NotFound as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.log_change(request, tenant, f"Reset circuit breaker {key}.")
                self.message_user(request, f"Circuit breaker {key} is closed, its counts forgotten.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "object": tenant,
                   "title": f"Circuit breakers of {tenant}", "can_reset": can_reset,
                   "breakers": [breaker_row(state) for state in breaker_states(tenant)]}
        return TemplateResponse(request, "admin/executions/circuit_breakers.html", context)

    def get_urls(self) -> list[URLPattern]:
        breakers = path("<path:object_id>/circuit-breakers/", self.admin_site.admin_view(self.breakers_view),
                        name="workflows_tenant_breakers")
        return [breakers, *super().get_urls()]


admin.site.unregister(Tenant)
admin.site.register(Tenant, TenantWithBreakersAdmin)

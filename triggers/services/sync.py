"""Trigger rows kept in step with each workflow's active version.

The active version's ``triggers:`` is the source of truth. After a version is saved (or rolled
back) its workflow's rows are derived again: new triggers get a row (a webhook its token, a
schedule its first due time), changed ones are updated, and those the version no longer
declares are kept aside (``declared`` false) with their token and secret, for a later version
that declares them again. ``TriggerSync`` says which version a workflow's rows come from: the
schedule tick and the API derive the rows of any workflow whose active version moved on (a
save in another process, an edit in the admin) before reading them.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from pydantic import ValidationError

from mbflow_site.errors import UNAVAILABLE
from triggers.models import SCHEDULED_KINDS, Trigger, TriggerSync
from triggers.schedules import next_after
from triggers.services.specs import declared_triggers, parse
from workflows.models import Tenant, Workflow

logger = logging.getLogger(__name__)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _schedule_changed(row: Trigger, raw: dict[str, Any]) -> bool:
    fields = ("type", "schedule", "timezone", "every")
    return row.next_fire_at is None or any(row.spec.get(key) != raw.get(key) for key in fields)


def do_sync_workflow(workflow_id: uuid.UUID | str) -> None:
    """Derives the workflow's trigger rows from its active version, unless they already are."""
    with transaction.atomic():
        # The workflow's row is locked as a save locks it: two syncs of one workflow take turns.
        workflow = (Workflow.objects.select_for_update(of=("self",)).select_related("active_version")
                    .filter(pk=workflow_id).first())
        if workflow is None:
            return
        state, _ = TriggerSync.objects.get_or_create(workflow=workflow)
        version = workflow.active_version
        if version is None or state.version_id == version.pk:
            return
        now = timezone.now()
        rows = {row.key: row for row in Trigger.objects.filter(workflow=workflow)}
        declared = []
        for key, raw in declared_triggers(version.spec):
            try:
                declared.append((key, raw, parse(raw)))
            except ValidationError as exc:  # a version saved before its keys were checked as they are now
                logger.warning("Workflow %s v%s: trigger %s is not valid and starts nothing: %s",
                               workflow.pk, version.number, key, exc.errors(include_url=False)[0]["msg"])
        for key, raw, model in declared:
            row = rows.get(key) or Trigger(tenant_id=workflow.tenant_id, workflow=workflow, key=key)
            schedule_changed = _schedule_changed(row, raw) or not row.declared
            row.kind, row.name, row.enabled, row.declared, row.version = (
                model.type, model.name or "", model.enabled, True, version)
            row.spec = raw
            if model.type == "webhook" and not row.token:
                row.token = new_token()
            if model.type in SCHEDULED_KINDS:
                if schedule_changed:
                    row.next_fire_at = next_after(model, now)
            else:
                row.next_fire_at = None
            row.save()
        keys = {key for key, _, _ in declared}
        Trigger.objects.filter(workflow=workflow).exclude(key__in=keys).update(
            declared=False, next_fire_at=None, version=version, updated_at=now)
        state.version, state.synced_at = version, now
        state.save(update_fields=["version", "synced_at"])


def stale_workflows(tenant: Tenant | None = None) -> list[uuid.UUID]:
    """Workflows whose rows are not derived from their active version."""
    synced = TriggerSync.objects.filter(workflow=OuterRef("pk")).values("version_id")[:1]
    queryset = Workflow.objects.exclude(active_version=None)
    if tenant is not None:
        queryset = queryset.filter(tenant=tenant)
    queryset = queryset.annotate(synced=Subquery(synced)).filter(
        Q(synced__isnull=True) | ~Q(synced=F("active_version_id")))
    return list(queryset.values_list("pk", flat=True))


def do_sync_stale(tenant: Tenant | None = None) -> int:
    """Derives the rows of every stale workflow (of ``tenant``); how many were stale."""
    stale = stale_workflows(tenant)
    for workflow_id in stale:
        try:
            do_sync_workflow(workflow_id)
        except UNAVAILABLE:
            raise
        except Exception:  # one workflow's trouble does not keep the others' triggers from firing
            logger.exception("Could not derive the triggers of workflow %s", workflow_id)
    return len(stale)


def sync_after_save(sender: Any, instance: Workflow, **_: Any) -> None:
    """post_save of a workflow: its rows follow its active version once the save committed."""
    if instance.active_version_id is None:
        return

    def sync() -> None:
        try:
            do_sync_workflow(instance.pk)
        except Exception:  # the tick and the API derive them again; a save never fails for this
            logger.exception("Could not derive the triggers of workflow %s", instance.pk)

    transaction.on_commit(sync)

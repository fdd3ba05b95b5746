"""Use cases on workflows and their immutable versions."""

from __future__ import annotations

import json
import uuid
from functools import lru_cache, partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q, QuerySet

from mbflow_site.errors import Conflict, NotFound
from mbflow_site.listing import Listing
from mbflow_site.queries import Precondition, PreparedQuery, RecentRows
from workflows.models import Tenant, Workflow, WorkflowVersion
from workflows.services.documents import CheckedDocument, content_checksum


def workflows_of(tenant: Tenant) -> QuerySet[Workflow]:
    return Workflow.objects.filter(tenant=tenant).select_related("active_version")


DOCUMENT_FIELDS = ("active_version__yaml_text", "active_version__spec")


def workflow_listing(tenant: Tenant, *, archived: bool = False, search: str = "", tag: str = "") -> Listing:
    """The tenant's workflows by name, without their documents; ``search`` looks in name, title and
    description, ``tag`` is one of the tags. The first page of a list without either runs SQL
    compiled once (``_first_by_name``): it is what the designer and most clients ask for."""

    def build() -> QuerySet[Workflow]:
        queryset = workflows_of(tenant).filter(archived=archived)
        if search:
            queryset = queryset.filter(
                Q(name__icontains=search) | Q(title__icontains=search) | Q(description__icontains=search)
            )
        if tag:
            queryset = queryset.filter(tags__icontains=json.dumps(tag))
        return queryset.defer(*DOCUMENT_FIELDS).order_by("name")

    if search or tag:
        return Listing(build)
    return Listing(build, partial(_first_rows, tenant.pk, archived))


def _first_rows(tenant_id: uuid.UUID, archived: bool, limit: int) -> list[Workflow]:
    return _first_by_name(archived, limit)(tenant_id=tenant_id)


@lru_cache(maxsize=16)  # Django writes the LIMIT into the SQL: one query per page size asked for
def _first_by_name(archived: bool, limit: int) -> PreparedQuery[Workflow]:
    def build(tenant_id: uuid.UUID) -> QuerySet[Workflow]:
        queryset = Workflow.objects.filter(tenant_id=tenant_id, archived=archived).select_related("active_version")
        return queryset.defer(*DOCUMENT_FIELDS).order_by("name")[:limit]

    return PreparedQuery(build, tenant_id=uuid.UUID(int=1))


def _lookup(key: str, documents: bool) -> PreparedQuery[Workflow]:
    def build(tenant_id: uuid.UUID, ref: Any) -> QuerySet[Workflow]:
        queryset = Workflow.objects.filter(tenant_id=tenant_id, **{key: ref}).select_related("active_version")
        return queryset if documents else queryset.defer(*DOCUMENT_FIELDS)

    return PreparedQuery(build, tenant_id=uuid.UUID(int=1), ref=uuid.UUID(int=2) if key == "pk" else "\0ref")


# Nearly every request looks a workflow up: by id or name, with or without its documents.
_LOOKUPS = {(key, documents): _lookup(key, documents) for key in ("pk", "name") for documents in (True, False)}


def get_workflow(tenant: Tenant, ref: str, *, documents: bool = True) -> Workflow:
    """A workflow of this tenant by id or by name; NotFound for anything else.

    ``documents=False`` leaves the active version's YAML and spec unread (starting a run needs
    only the version's id: its plan is cached).
    """
    try:
        key, value = "pk", uuid.UUID(str(ref))
    except ValueError:
        key, value = "name", ref
    found = _LOOKUPS[key, documents](tenant_id=tenant.pk, ref=value)  # name and id are unique in a tenant
    if not found:
        raise NotFound(f"No workflow {ref!r}.", details={"workflow": ref})
    return found[0]


def _unchanged(workflow: Workflow) -> Precondition | None:
    """The workflow's row still has the id, tenant, name and active version read (None for a
    workflow without a version: nothing to start, nothing to keep)."""
    if workflow.active_version_id is None:
        return None
    meta, quote = Workflow._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in ("id", "tenant", "name", "active_version")]
    conditions = " AND ".join(f"{quote(field.column)} = %s" for field in fields)  # type: ignore[union-attr]
    params = tuple(field.get_db_prep_value(getattr(workflow, field.attname), connection)  # type: ignore[union-attr]
                   for field in fields)
    return Precondition(f"EXISTS (SELECT 1 FROM {quote(meta.db_table)} WHERE {conditions})", params)


# Workflows as this process last read them to start runs, by (tenant id, reference). A start of
# the active version needs the workflow's row (its id, name and active version), whose read was
# 0.4-0.65 ms of the 7 ms of starting a 40-node chain. A row kept may be stale - another process
# saved a version, renamed or deleted the workflow - so the execution's insert checks it in the
# start's own statement (``_unchanged``); a start that finds it changed writes nothing, forgets
# the row and reads again (``executions.services.executions.do_start_execution``). No other
# process has to reach this one for it to be right.
recent_workflows: RecentRows[Workflow] = RecentRows(_unchanged)


def get_version(workflow: Workflow, number: int | None = None) -> WorkflowVersion:
    if number is None:
        if workflow.active_version is None:
            raise NotFound(f"Workflow {workflow.name!r} has no version.")
        return workflow.active_version
    version = workflow.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Workflow {workflow.name!r} has no version {number}.", details={"version": number})
    return version


def _name_taken(tenant: Tenant, name: str, exclude: Workflow | None = None) -> bool:
    queryset = Workflow.objects.filter(tenant=tenant, name=name)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.exists()


def _conflict(name: str) -> Conflict:
    return Conflict(f"A workflow named {name!r} already exists.", code="name_taken", details={"name": name})


def _apply_metadata(workflow: Workflow, document: CheckedDocument) -> None:
    metadata = document.metadata
    workflow.name = document.name
    workflow.title = str(metadata.get("title") or "")
    workflow.description = str(metadata.get("description") or "")
    workflow.tags = list(metadata.get("tags") or [])


def _append_version(workflow: Workflow, document: CheckedDocument, message: str, author: str) -> WorkflowVersion:
    # The workflow row is locked by the caller, so two saves cannot pick the same number.
    last = workflow.versions.aggregate(last=Max("number"))["last"] or 0
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        number=last + 1,
        yaml_text=document.yaml_text,
        spec=document.loaded.data,
        checksum=content_checksum(document.loaded.data),
        message=message[:500],
        author=author[:200],
        source_dialect=document.loaded.dialect,
    )
    workflow.active_version = version
    return version


def do_create_workflow(tenant: Tenant, document: CheckedDocument, *, message: str, author: str) -> Workflow:
    if _name_taken(tenant, document.name):
        raise _conflict(document.name)
    try:
        with transaction.atomic():
            workflow = Workflow(tenant=tenant)
            _apply_metadata(workflow, document)
            workflow.save()
            _append_version(workflow, document, message or "Created", author)
            workflow.save(update_fields=["active_version", "updated_at"])
    except IntegrityError:
        # Lost a race with another create of the same name.
        raise _conflict(document.name) from None
    return workflow


def do_save_version(workflow: Workflow, document: CheckedDocument, *, message: str, author: str) -> Workflow:
    if _name_taken(workflow.tenant, document.name, exclude=workflow):
        raise _conflict(document.name)
    try:
        with transaction.atomic():
            locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
            _apply_metadata(locked, document)
            _append_version(locked, document, message, author)
            locked.save()
    except IntegrityError:
        raise _conflict(document.name) from None
    return locked


def do_rollback_version(workflow: Workflow, number: int, *, message: str, author: str) -> Workflow:
    """A new version equal to an old one; history is never rewritten."""
    old = get_version(workflow, number)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        name = str(old.spec.get("metadata", {}).get("name") or locked.name)
        if _name_taken(locked.tenant, name, exclude=locked):
            raise _conflict(name)
        last = locked.versions.aggregate(last=Max("number"))["last"] or 0
        version = WorkflowVersion.objects.create(
            workflow=locked,
            number=last + 1,
            yaml_text=old.yaml_text,
            spec=old.spec,
            checksum=old.checksum,
            message=(message or f"Rollback to version {old.number}")[:500],
            author=author[:200],
            source_dialect=old.source_dialect,
        )
        metadata = old.spec.get("metadata", {})
        locked.name = name
        locked.title = str(metadata.get("title") or "")
        locked.description = str(metadata.get("description") or "")
        locked.tags = list(metadata.get("tags") or [])
        locked.active_version = version
        locked.save()
    return locked


def do_set_flags(workflow: Workflow, *, archived: bool | None = None, active: bool | None = None) -> Workflow:
    """Archives or restores the workflow, turns its triggers on or off (``active``)."""
    flags = {name: value for name, value in (("archived", archived), ("active", active)) if value is not None}
    if flags:
        Workflow.objects.filter(pk=workflow.pk).update(**flags)
        workflow.refresh_from_db()
    return workflow


def do_delete_workflow(workflow: Workflow) -> None:
    with transaction.atomic():
        Workflow.objects.filter(pk=workflow.pk).update(active_version=None)
        workflow.delete()


def do_duplicate_workflow(workflow: Workflow, new_name: str, *, author: str) -> Workflow:
    from workflows.services.documents import check_document
    from workflows.spec import dump_yaml

    source = get_version(workflow)
    data: dict[str, Any] = dict(source.spec)
    data["metadata"] = {**data.get("metadata", {}), "name": new_name}
    document = check_document({"yaml": dump_yaml(data)})
    return do_create_workflow(
        workflow.tenant, document, message=f"Duplicated from {workflow.name} v{source.number}", author=author
    )

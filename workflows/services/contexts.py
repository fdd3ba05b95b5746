"""Importing documents that may be WorkflowContexts: a workflow's input and output schemas,
written apart from it (Magic Flow's ``context.yaml``).

A context sets the schemas of the workflow it names by saving a new version of it. When that
workflow does not exist yet the context is kept (``PendingContext``) and applied as soon as a
workflow of that name is created, in a version of its own after the first.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction

from mbflow_site.errors import ApiError
from workflows.models import PendingContext, Tenant, Workflow
from workflows.services.documents import CheckedContext, CheckedDocument, check_document
from workflows.services.workflows import do_create_workflow, do_save_version, get_version
from workflows.spec import context_schemas, dump_yaml

Action = Literal["applied", "unchanged", "kept"]


@dataclass(frozen=True, slots=True)
class ContextOutcome:
    """What importing a context did."""

    action: Action
    name: str  # the context's own name
    workflow_name: str
    message: str
    workflow: Workflow | None = None  # the workflow, unless the context was kept

    def to_dict(self) -> dict[str, Any]:
        version = self.workflow.active_version if self.workflow is not None else None
        return {
            "action": self.action,
            "name": self.name,
            "workflow": self.workflow_name,
            "version": version.number if version is not None else None,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Imported:
    """A document taken in: a workflow created, or a context applied or kept."""

    workflow: Workflow | None
    context: ContextOutcome | None = None
    created: bool = False


def _schema_names(schemas: dict[str, Any]) -> str:
    return " and ".join(key.replace("_", " ") for key in schemas) or "schemas"


def _apply(workflow: Workflow, data: dict[str, Any], name: str, *, author: str) -> ContextOutcome:
    """A new version of the workflow with the context's schemas, unless it already has them."""
    schemas = context_schemas(data)
    what = _schema_names(schemas)
    current = get_version(workflow)
    document = copy.deepcopy(current.spec)
    if all(document["spec"].get(key) == schema for key, schema in schemas.items()):
        return ContextOutcome("unchanged", name, workflow.name,
                              f"Workflow {workflow.name!r} already has the {what} of WorkflowContext {name!r} "
                              f"(version {current.number}).", workflow)
    document["spec"].update(schemas)
    checked = check_document({"yaml": dump_yaml(document)})
    updated = do_save_version(workflow, checked, message=f"The {what} of WorkflowContext {name}", author=author)
    number = updated.active_version.number if updated.active_version is not None else None
    return ContextOutcome("applied", name, workflow.name,
                          f"Set the {what} of workflow {workflow.name!r} from WorkflowContext {name!r} "
                          f"(version {number}).", updated)


def do_apply_kept_context(workflow: Workflow, *, author: str) -> ContextOutcome | None:
    """Applies the context kept for this workflow's name, if there is one."""
    with transaction.atomic():
        kept = PendingContext.objects.filter(tenant_id=workflow.tenant_id, workflow_name=workflow.name).first()
        if kept is None:
            return None
        # Whoever deletes the row applies it: a create and a context import that both find it
        # (see do_import_context) apply it once. A failure below rolls the delete back.
        deleted, _ = PendingContext.objects.filter(pk=kept.pk).delete()
        if not deleted:
            return None
        return _apply(workflow, kept.document, kept.name, author=author)


def do_import_context(tenant: Tenant, context: CheckedContext, *, author: str,
                      target: Workflow | None = None) -> ContextOutcome:
    """Sets the schemas of ``target`` (a save to that workflow) or of the workflow the context
    names; keeps the context when no workflow has that name yet."""
    if target is not None:
        if target.name != context.workflow_name:
            message = (f"This WorkflowContext is for workflow {context.workflow_name!r}, not {target.name!r}.")
            raise ApiError(message, code="validation_error",
                           details={"fields": {"spec.workflow": [message]}, "workflow": context.workflow_name})
        return _apply(target, context.loaded.data, context.name, author=author)
    workflow = Workflow.objects.filter(tenant=tenant, name=context.workflow_name).first()
    if workflow is not None:
        return _apply(workflow, context.loaded.data, context.name, author=author)
    PendingContext.objects.update_or_create(
        tenant=tenant, workflow_name=context.workflow_name,
        defaults={"name": context.name, "document": context.loaded.data, "author": author[:200],
                  "source_dialect": context.loaded.dialect},
    )
    # A workflow of that name created meanwhile looked for a kept context before this one was
    # committed; now that it is, look for the workflow again so the context is not left behind.
    workflow = Workflow.objects.filter(tenant=tenant, name=context.workflow_name).first()
    if workflow is not None:
        applied = do_apply_kept_context(workflow, author=author)
        if applied is not None:
            return applied
    return ContextOutcome(
        "kept", context.name, context.workflow_name,
        f"No workflow {context.workflow_name!r} yet: WorkflowContext {context.name!r} is kept and sets its "
        f"{_schema_names(context.schemas)} when a workflow of that name is imported or created.",
    )


def do_import_document(tenant: Tenant, document: CheckedDocument | CheckedContext, *, message: str,
                       author: str) -> Imported:
    """A new workflow (given the schemas of a context kept for its name), or a context imported."""
    if isinstance(document, CheckedContext):
        outcome = do_import_context(tenant, document, author=author)
        return Imported(workflow=outcome.workflow, context=outcome)
    workflow = do_create_workflow(tenant, document, message=message, author=author)
    applied = do_apply_kept_context(workflow, author=author)
    return Imported(workflow=applied.workflow if applied else workflow, context=applied, created=True)


def do_save_document(workflow: Workflow, document: CheckedDocument | CheckedContext, *, message: str,
                     author: str) -> Imported:
    """A new version of the workflow: the document, or its schemas set from a context."""
    if isinstance(document, CheckedContext):
        outcome = do_import_context(workflow.tenant, document, author=author, target=workflow)
        return Imported(workflow=outcome.workflow, context=outcome)
    return Imported(workflow=do_save_version(workflow, document, message=message, author=author))


def describe_context(tenant: Tenant, context: CheckedContext) -> str:
    """What importing this context would do now."""
    what = _schema_names(context.schemas)
    exists = Workflow.objects.filter(tenant=tenant, name=context.workflow_name).exists()
    then = ("importing it sets them in a new version" if exists
            else "that workflow does not exist yet: importing it keeps them until it is imported or created")
    return (f"A WorkflowContext, not a workflow: the {what} of workflow {context.workflow_name!r}; {then}.")

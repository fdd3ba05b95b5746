"""A workflow's draft: the designer's work in progress, saved whatever its state (it may not parse
or validate), never run. Executions and triggers use the active version; saving a version from
the draft is the usual save (PUT /workflows/{id}), after which the designer discards the draft."""

from __future__ import annotations

from mbflow_site.errors import ApiError, NotFound
from workflows.models import Workflow, WorkflowDraft
from workflows.spec.loader import MAX_DOCUMENT_BYTES


def get_draft(workflow: Workflow) -> WorkflowDraft:
    """The workflow's draft; NotFound when it has none."""
    draft = WorkflowDraft.objects.filter(workflow=workflow).first()
    if draft is None:
        raise NotFound(f"Workflow {workflow.name!r} has no draft.", details={"workflow": str(workflow.pk)})
    return draft


def do_save_draft(workflow: Workflow, text: object, *, base_version: object = None, author: str) -> WorkflowDraft:
    """Creates or replaces the draft with ``text`` as it is (any YAML, valid or not)."""
    fields: dict[str, list[str]] = {}
    if not isinstance(text, str):
        fields["yaml"] = ["Must be the draft's text (a string)."]
    elif len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        fields["yaml"] = [f"The draft is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."]
    if base_version is not None and (isinstance(base_version, bool) or not isinstance(base_version, int)
                                     or base_version < 1):
        fields["base_version"] = ["Must be a version number (1 or more) or null."]
    if fields:
        raise ApiError("The draft was not saved: " + "; ".join(f"{k}: {v[0]}" for k, v in fields.items()),
                       code="validation_error", details={"fields": fields})
    assert isinstance(text, str)
    draft, _ = WorkflowDraft.objects.update_or_create(
        workflow=workflow,
        defaults={"yaml_text": text, "base_version": base_version, "author": author},
    )
    return draft


def do_discard_draft(workflow: Workflow) -> bool:
    """Deletes the draft; whether there was one."""
    deleted, _ = WorkflowDraft.objects.filter(workflow=workflow).delete()
    return deleted > 0

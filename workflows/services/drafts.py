"""A workflow's draft: the designer's work in progress, saved whatever its state (it may not parse
or validate), never run. Executions and triggers use the active version; saving a version from
the draft is the usual save (PUT /workflows/{id}), after which the designer discards the draft.

Also the work of the designer kept outside versions: the pinned data of a workflow's nodes (used
by test runs only: the designer sends it with each test run, production runs never read it), and
the draft of a new workflow not created yet (one per user and tenant: a canvas draft)."""

from __future__ import annotations

import json
from typing import Any

from mbflow_site.errors import ApiError, NotFound
from workflows.models import CanvasDraft, PinnedData, Tenant, Workflow, WorkflowDraft
from workflows.spec.loader import MAX_DOCUMENT_BYTES

# Pinned sample outputs of one workflow, all nodes together, as JSON.
MAX_PINNED_BYTES = 1024 * 1024
MAX_PINNED_NODES = 500
MAX_NODE_ID_CHARS = 100
MAX_TEMPLATE_CHARS = 200


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


def _invalid(fields: dict[str, list[str]]) -> ApiError:
    return ApiError("Not saved: " + "; ".join(f"{k}: {v[0]}" for k, v in fields.items()),
                    code="validation_error", details={"fields": fields})


def check_pinned_nodes(nodes: object, field: str = "nodes") -> dict[str, Any]:
    """``nodes`` as pinned data: an object of node ids to JSON values, within the size bounds."""
    if not isinstance(nodes, dict):
        raise _invalid({field: ["Must be an object of node ids to the sample output each keeps in test runs."]})
    if len(nodes) > MAX_PINNED_NODES:
        raise _invalid({field: [f"At most {MAX_PINNED_NODES} pinned nodes."]})
    for node_id in nodes:
        if not isinstance(node_id, str) or not node_id or len(node_id) > MAX_NODE_ID_CHARS:
            raise _invalid({f"{field}.{str(node_id)[:MAX_NODE_ID_CHARS]}": [
                f"A node id is 1 to {MAX_NODE_ID_CHARS} characters."]})
    try:
        size = len(json.dumps(nodes, allow_nan=False, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError):
        raise _invalid({field: ["Must be plain JSON (no NaN or Infinity)."]}) from None
    if size > MAX_PINNED_BYTES:
        raise ApiError(f"The pinned data is larger than {MAX_PINNED_BYTES // 1024} KB ({size // 1024} KB).",
                       code="payload_too_large", status_code=413,
                       details={"fields": {field: [f"At most {MAX_PINNED_BYTES // 1024} KB of JSON."]},
                                "limit_bytes": MAX_PINNED_BYTES})
    return nodes


def get_pinned(workflow: Workflow) -> PinnedData | None:
    return PinnedData.objects.filter(workflow=workflow).first()


def do_save_pinned(workflow: Workflow, nodes: object, *, author: str) -> PinnedData | None:
    """Replaces the workflow's pinned data (none pinned: the row is deleted, None returned)."""
    checked = check_pinned_nodes(nodes)
    if not checked:
        PinnedData.objects.filter(workflow=workflow).delete()
        return None
    pinned, _ = PinnedData.objects.update_or_create(workflow=workflow, defaults={"nodes": checked, "author": author})
    return pinned


def get_canvas_draft(tenant: Tenant, owner: str) -> CanvasDraft:
    draft = CanvasDraft.objects.filter(tenant=tenant, owner=owner).first()
    if draft is None:
        raise NotFound("No new workflow draft.", details={"owner": owner})
    return draft


def do_save_canvas_draft(tenant: Tenant, owner: str, body: object) -> CanvasDraft:
    """Creates or updates the caller's draft of a new workflow with the fields given
    (``yaml``, ``template``, ``pinned``); a field left out keeps its value."""
    if not isinstance(body, dict):
        raise _invalid({"yaml": ["The body must be a JSON object {yaml?, template?, pinned?}."]})
    values: dict[str, Any] = {}
    fields: dict[str, list[str]] = {}
    if "yaml" in body:
        text = body["yaml"]
        if not isinstance(text, str):
            fields["yaml"] = ["Must be the draft's text (a string)."]
        elif len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
            raise ApiError(f"The draft is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.",
                           code="payload_too_large", status_code=413, details={"fields": {"yaml": ["Too large."]}})
        else:
            values["yaml_text"] = text
    if "template" in body:
        template = body["template"]
        if template is None:
            template = ""
        if not isinstance(template, str) or len(template) > MAX_TEMPLATE_CHARS:
            fields["template"] = [f"A template id (up to {MAX_TEMPLATE_CHARS} characters) or null."]
        else:
            values["template"] = template
    if fields:
        raise _invalid(fields)
    if "pinned" in body:
        values["pinned"] = check_pinned_nodes(body["pinned"], "pinned")
    draft, _ = CanvasDraft.objects.update_or_create(tenant=tenant, owner=owner, defaults=values)
    return draft


def do_discard_canvas_draft(tenant: Tenant, owner: str) -> bool:
    deleted, _ = CanvasDraft.objects.filter(tenant=tenant, owner=owner).delete()
    return deleted > 0

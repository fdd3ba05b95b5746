"""Reading, checking and writing workflow documents in process: the definition language's own
package (``workflows.spec``, plain Python), as the server uses it. No Django, no database."""

from __future__ import annotations

from typing import Any

from mbflow.errors import BadRequest, InvalidWorkflow
from workflows.spec import (
    CONTEXT_KIND,
    LoadedDocument,
    SpecSyntaxError,
    context_schemas,
    dump_yaml,
    load_document,
    validate_context,
    validate_document,
)


def read(text: str) -> LoadedDocument:
    try:
        return load_document(text)
    except SpecSyntaxError as exc:
        raise BadRequest(400, exc.code, exc.message, {"line": exc.line, "column": exc.column}) from exc


def native(loaded: LoadedDocument, text: str) -> str:
    """The native YAML: a native file as written (comments kept), a seed file converted."""
    return text if loaded.dialect == "native" else dump_yaml(loaded.data)


def validate(text: str) -> dict[str, Any]:
    """What ``POST /workflows/validate`` answers (without what only a tenant's data can say)."""
    loaded = read(text)
    report = validate_context(loaded) if loaded.kind == CONTEXT_KIND else validate_document(loaded)
    answer: dict[str, Any] = {
        "valid": report.valid, "kind": loaded.kind, "dialect": loaded.dialect,
        "errors": [issue.to_dict() for issue in report.errors],
        "warnings": [issue.to_dict() for issue in report.warnings], "yaml": native(loaded, text),
    }
    if loaded.kind == CONTEXT_KIND:
        answer["message"] = "A WorkflowContext (a workflow's input and output schemas), not a workflow."
    return answer


def convert(text: str) -> str:
    return native(read(text), text)


def canonical(text: str) -> str:
    return dump_yaml(read(text).data)


def _checked(text: str, kind: str) -> LoadedDocument:
    loaded = read(text)
    report = validate_context(loaded) if loaded.kind == CONTEXT_KIND else validate_document(loaded)
    if loaded.kind != kind:
        raise BadRequest(400, "wrong_kind", f"This is a {loaded.kind}, not a {kind}.")
    if not report.valid:
        first = report.errors[0]
        raise InvalidWorkflow(400, "invalid_workflow", f"{len(report.errors)} error(s); first: {first.message} "
                              f"(line {first.line})", {"errors": [issue.to_dict() for issue in report.errors]})
    return loaded


def document(text: str) -> dict[str, Any]:
    """A valid workflow as the native document (JSON-like data)."""
    return dict(_checked(text, "Workflow").data)


def context(text: str) -> dict[str, Any]:
    """The input and output schemas a valid WorkflowContext sets."""
    return dict(context_schemas(_checked(text, CONTEXT_KIND).data))

"""Reading a workflow document out of a request body, in any dialect, and checking it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mbflow_site.bodies import YamlBody
from mbflow_site.errors import ApiError, InvalidDocument
from mbflow_site.storable import problem_in
from workflows.spec import (
    CONTEXT_KIND,
    LoadedDocument,
    SpecSyntaxError,
    ValidationReport,
    context_schemas,
    dump_yaml,
    load_document,
    load_document_object,
    validate_context,
    validate_document,
)


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    loaded: LoadedDocument
    report: ValidationReport
    yaml_text: str  # native YAML: as written for native input, converted for the seed dialects

    @property
    def name(self) -> str:
        return str(self.loaded.data["metadata"]["name"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.loaded.data.get("metadata") or {})


@dataclass(frozen=True, slots=True)
class CheckedContext:
    """A checked WorkflowContext: the input and output schemas of the workflow it names."""

    loaded: LoadedDocument
    report: ValidationReport
    yaml_text: str

    @property
    def name(self) -> str:
        return str(self.loaded.data["metadata"]["name"])

    @property
    def workflow_name(self) -> str:
        return str(self.loaded.data["spec"]["workflow"])

    @property
    def schemas(self) -> dict[str, dict[str, Any]]:
        return context_schemas(self.loaded.data)


def read_document(body: Any) -> LoadedDocument:
    """Accepts raw YAML text, ``{"yaml": "..."}`` or ``{"document": {...}}``."""
    return _storable(_read_document(body))


def _storable(loaded: LoadedDocument) -> LoadedDocument:
    """YAML can write what no database stores (``"\\0"``, ``.inf``, a 30-digit integer): a 400
    naming the field and its line, as for a JSON body."""
    problem = problem_in(loaded.data)
    if problem is None:
        return loaded
    field = problem.dotted() or "document"
    line, column = loaded.mark(problem.path) or (None, None)
    where = f" (line {line})" if line else ""
    raise ApiError(f"{field}: {problem.message}{where}", code="validation_error",
                   details={"fields": {field: [problem.message]}, "line": line, "column": column})


def _read_document(body: Any) -> LoadedDocument:
    try:
        if isinstance(body, str):
            return load_document(body)
        if isinstance(body, dict):
            if "yaml" in body:
                if not isinstance(body["yaml"], str):
                    raise ApiError("`yaml` must be a string.", code="validation_error",
                                   details={"fields": {"yaml": ["Must be a string."]}})
                return load_document(body["yaml"])
            if "document" in body:
                if not isinstance(body["document"], dict):
                    raise ApiError("`document` must be an object.", code="validation_error",
                                   details={"fields": {"document": ["Must be an object."]}})
                return load_document_object(body["document"])
        raise ApiError(
            "Send the workflow as YAML (Content-Type: application/yaml) or as JSON "
            '{"yaml": "..."} or {"document": {...}}.',
            code="missing_document",
        )
    except SpecSyntaxError as exc:
        raise ApiError(exc.message, code=exc.code, details={"line": exc.line, "column": exc.column}) from None


def native_yaml(loaded: LoadedDocument, source: Any) -> str:
    if loaded.dialect == "native" and isinstance(source, str):
        return source
    if loaded.dialect == "native" and isinstance(source, dict) and isinstance(source.get("yaml"), str):
        return source["yaml"]
    return dump_yaml(loaded.data)


def validate_loaded(loaded: LoadedDocument) -> ValidationReport:
    """The report of a workflow, or of a WorkflowContext."""
    return validate_context(loaded) if loaded.kind == CONTEXT_KIND else validate_document(loaded)


def check_any_document(body: Any) -> CheckedDocument | CheckedContext:
    """Reads and validates a workflow or a WorkflowContext; raises InvalidDocument listing every error."""
    loaded = read_document(body)
    report = validate_loaded(loaded)
    if not report.valid:
        errors = [issue.to_dict() for issue in report.errors]
        first = report.errors[0]
        where = f" (line {first.line})" if first.line else ""
        what = "WorkflowContext" if loaded.kind == CONTEXT_KIND else "workflow"
        raise InvalidDocument(
            f"The {what} has {len(errors)} error(s); first: {first.message}{where}",
            details={"errors": errors, "warnings": [w.to_dict() for w in report.warnings]},
        )
    checked = CheckedContext if loaded.kind == CONTEXT_KIND else CheckedDocument
    return checked(loaded=loaded, report=report, yaml_text=native_yaml(loaded, body))


def check_document(body: Any) -> CheckedDocument:
    """Reads and validates a workflow; a WorkflowContext is a 400 saying where it goes instead."""
    checked = check_any_document(body)
    if isinstance(checked, CheckedContext):
        raise ApiError(
            f"This is a WorkflowContext (the input and output schemas of workflow {checked.workflow_name!r}), "
            "not a workflow: import it with POST /api/v1/workflows/import to set them.",
            code="not_a_workflow", details={"kind": CONTEXT_KIND, "workflow": checked.workflow_name},
        )
    return checked


def body_from_request_data(data: Any) -> Any:
    """DRF gives YAML bodies as YamlBody (a str) and JSON bodies as dicts."""
    if isinstance(data, YamlBody):
        return str(data)
    if hasattr(data, "dict") and not isinstance(data, dict):  # QueryDict from a form
        return data.dict()
    return data


def content_checksum(spec: dict[str, Any]) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()

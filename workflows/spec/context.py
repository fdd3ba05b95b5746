"""A `WorkflowContext` document: the input and output schemas of a workflow, written apart from it.

Magic Flow keeps them in a `context.yaml` beside `workflow.yaml`; its converter gives this native
shape, which may also be written as it is:

    apiVersion: mbflow/v1
    kind: WorkflowContext
    metadata: {name: user-onboarding-context}
    spec:
      workflow: user-onboarding        # the workflow whose schemas these are
      input_schema: {type: object, ...}
      output_schema: {type: object, ...}

It is not a workflow: importing one sets the schemas of the workflow it names
(``workflows.services.contexts``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jsonschema
from pydantic import Field, ValidationError

from workflows.spec.issues import Issue, Path
from workflows.spec.loader import LoadedDocument
from workflows.spec.models import WORKFLOW_NAME_PATTERN, Metadata, Strict
from workflows.spec.validation import ValidationReport

SCHEMA_KEYS = ("input_schema", "output_schema")


class ContextBody(Strict):
    workflow: Annotated[str, Field(pattern=WORKFLOW_NAME_PATTERN)]
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None


class WorkflowContextSpec(Strict):
    api_version: Annotated[Literal["mbflow/v1"], Field(alias="apiVersion")]
    kind: Literal["WorkflowContext"]
    metadata: Metadata
    spec: ContextBody


def context_schemas(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schemas a checked context sets, by key (`input_schema`, `output_schema`)."""
    spec = data["spec"]
    return {key: spec[key] for key in SCHEMA_KEYS if spec.get(key) is not None}


def validate_context(document: LoadedDocument) -> ValidationReport:
    """Every problem of a loaded WorkflowContext, at the lines where it was written."""
    report = ValidationReport(warnings=list(document.warnings))

    def add(code: str, message: str, path: Path) -> None:
        line, column = document.mark(path) or (None, None)
        report.errors.append(Issue(code=code, message=message, path=path, line=line, column=column))

    try:
        context = WorkflowContextSpec.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = tuple(error["loc"])
            where = ".".join(str(part) for part in path) or "document"
            if error["type"] == "missing":
                add("missing_field", f"Missing required field `{path[-1]}` at {where}.", path)
            elif error["type"] == "extra_forbidden":
                add("unknown_field", f"Unknown field `{path[-1]}` at {where}.", path)
            else:
                add("invalid_value", f"{where}: {error['msg']}.", path)
        return report
    schemas = {key: getattr(context.spec, key) for key in SCHEMA_KEYS if getattr(context.spec, key) is not None}
    if not schemas:
        add("missing_field", "A WorkflowContext sets `input_schema`, `output_schema` or both.", ("spec",))
    for key, schema in schemas.items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            add("invalid_schema", f"spec.{key} is not a JSON Schema: {exc.message}.",
                ("spec", key, *exc.absolute_path))
    if not report.errors:
        report.data = document.data
    return report

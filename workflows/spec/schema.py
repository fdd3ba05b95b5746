"""The JSON Schema of a native document, with each built-in node type's config schema attached."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from workflows.spec.catalog import node_types
from workflows.spec.models import WorkflowSpec


def _rewrite_refs(schema: Any, prefix: str) -> Any:
    if isinstance(schema, dict):
        return {
            key: (f"#/$defs/{prefix}{value.split('/')[-1]}" if key == "$ref" and isinstance(value, str) else
                  _rewrite_refs(value, prefix))
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rewrite_refs(item, prefix) for item in schema]
    return schema


@cache
def workflow_json_schema() -> dict[str, Any]:
    """Served at /api/v1/schema/workflow.json; editors use it for completion and checks."""
    schema = WorkflowSpec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mbflow.dev/schema/workflow.json"
    schema["title"] = "MBFlow workflow (apiVersion mbflow/v1)"
    definitions = schema.setdefault("$defs", {})
    branches = []
    for node_type in sorted(node_types(), key=lambda t: t.name):
        config = copy.deepcopy(node_type.config_schema)
        prefix = f"{node_type.name}__"
        for name, definition in config.pop("$defs", {}).items():
            definitions[prefix + name] = _rewrite_refs(definition, prefix)
        branches.append({
            "if": {"properties": {"type": {"const": node_type.name}}, "required": ["type"]},
            "then": {"properties": {"config": _rewrite_refs(config, prefix)}},
        })
    node_schema = definitions["NodeSpec"]
    node_schema["properties"]["type"]["examples"] = sorted(t.name for t in node_types())
    node_schema["allOf"] = branches
    return schema

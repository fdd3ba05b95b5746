"""The workflow language: loading, converting, checking and writing workflow documents.

Plain Python (no Django): the API, the engine and the tools use it through these names.
"""

# The built-in node types register themselves (``@node_type``) when imported.
from workflows.spec import builtin_types  # noqa: F401
from workflows.spec.canonical import canonical_data, dump_value, dump_yaml
from workflows.spec.catalog import NodeConfig, NodeType, get_node_type, node_type, node_types
from workflows.spec.context import context_schemas, validate_context
from workflows.spec.dialects import CONTEXT_KIND
from workflows.spec.durations import parse_duration
from workflows.spec.expressions import ExpressionError, evaluate, render_value
from workflows.spec.issues import Issue, Marks, Path, SpecSyntaxError
from workflows.spec.loader import LoadedDocument, load_document, load_document_object, parse_yaml
from workflows.spec.models import (
    CircuitBreaker,
    EdgeSpec,
    NodeSpec,
    RetryPolicy,
    WorkflowBody,
    WorkflowSpec,
)
from workflows.spec.schema import workflow_json_schema
from workflows.spec.validation import ValidationReport, validate_document

__all__ = [
    "CONTEXT_KIND",
    "CircuitBreaker",
    "EdgeSpec",
    "ExpressionError",
    "Issue",
    "LoadedDocument",
    "Marks",
    "NodeConfig",
    "NodeSpec",
    "NodeType",
    "Path",
    "RetryPolicy",
    "SpecSyntaxError",
    "ValidationReport",
    "WorkflowBody",
    "WorkflowSpec",
    "canonical_data",
    "context_schemas",
    "dump_value",
    "dump_yaml",
    "evaluate",
    "get_node_type",
    "load_document",
    "load_document_object",
    "node_type",
    "node_types",
    "parse_duration",
    "parse_yaml",
    "render_value",
    "validate_context",
    "validate_document",
    "workflow_json_schema",
]

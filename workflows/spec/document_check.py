"""Whether a document holds its schema and every node's config, in a few pydantic-core calls.

``validation`` checks the parts of a document one by one (nodes, edges, the rest, then each node
type's configs) so that every problem gets its own message and position. Most documents have no
problem, and for them these checks are much cheaper: each node is read once, its config checked
where it stands, and edges written as just ``from`` and ``to`` are not read at all. The shapes
are built from the same models and config models, so each rule stays in one place.

These checks are never more lenient than the part-by-part ones, only sometimes stricter (an
unknown node type, a config that is not a mapping, an expression deep inside a config where a
number is expected): when they say no, the part-by-part checks run and report what they find.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from workflows.spec.catalog import NodeType, node_types
from workflows.spec.expressions import is_expression
from workflows.spec.models import EdgeSpec, NodeSpec, WorkflowBody, WorkflowSpec, field_annotations, typed_dict_for


def _expression(text: str) -> str:
    if not is_expression(text):
        raise ValueError("not an expression")
    return text


# A config value that is an expression is checked at run time, when it has a value (the rule of
# `validation._check_configs`); here only a config's own fields may be one, deeper values that are
# expressions take the part-by-part way.
_Expression = Annotated[str, AfterValidator(_expression)]


def _or_expression(annotation: Any) -> Any:
    """``annotation``, or else an expression: tried in that order, so a value that fits costs nothing more."""
    if annotation is Any:
        return annotation
    return Annotated[Union[annotation, _Expression], Field(union_mode="left_to_right")]  # noqa: UP007


def _node_shape(node_type: NodeType) -> Any:
    """A node of this type; its config is required when the type has required config fields."""
    config_fields = field_annotations(node_type.config_model)
    config = typed_dict_for(
        node_type.config_model,
        name=f"{node_type.config_model.__name__}Check",
        fields={key: _or_expression(annotation) for key, (annotation, _) in config_fields.items()},
    )
    needs_config = any(required for _, required in config_fields.values())
    return typed_dict_for(
        NodeSpec,
        name=f"Node{node_type.config_model.__name__}",
        fields={"type": Literal[node_type.name], "config": config},
        required=frozenset({"config"}) if needs_config else frozenset(),
    )


@lru_cache(maxsize=4)
def _adapters(registered: tuple[tuple[str, type], ...]) -> tuple[TypeAdapter[Any], TypeAdapter[Any]]:
    """(a list of nodes, the whole document) for the node types registered now."""
    shapes = [_node_shape(node_type) for node_type in node_types()]
    nodes = list[Annotated[Union[tuple(shapes)], Field(discriminator="type")]]  # type: ignore[valid-type]  # noqa: UP007
    body = typed_dict_for(WorkflowBody, name="WorkflowBodyCheck",
                          fields={"nodes": nodes, "edges": list[typed_dict_for(EdgeSpec)]})  # type: ignore[misc]
    return TypeAdapter(nodes), TypeAdapter(typed_dict_for(WorkflowSpec, name="WorkflowCheck", fields={"spec": body}))


def _holds(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _registered() -> tuple[tuple[str, type], ...]:
    return tuple((node_type.name, node_type.config_model) for node_type in node_types())


def nodes_hold(nodes: list[Any]) -> bool:
    """True when every node holds its schema and its type's config schema; False says nothing more."""
    return _holds(_adapters(_registered())[0], nodes)


def outline_holds(data: dict[str, Any], edges: list[Any]) -> bool:
    """True when the rest of the document holds: its nodes aside (``nodes_hold`` checks them), with
    ``edges`` read in place of ``spec.edges``."""
    spec = data.get("spec")
    if isinstance(spec, dict):
        parts: dict[str, list[Any]] = {}
        if isinstance(spec.get("nodes"), list):
            parts["nodes"] = []
        if isinstance(spec.get("edges"), list):
            parts["edges"] = edges
        data = {**data, "spec": {**spec, **parts}}
    return _holds(_adapters(_registered())[1], data)


def _bare(edge: Any, source: Any, target: Any) -> bool:
    return isinstance(edge, dict) and len(edge) == 2 and isinstance(source, str) and isinstance(target, str)


def edges_to_check(edges: list[Any], sources: Sequence[Any], targets: Sequence[Any]) -> list[int]:
    """The indexes of the edges that need a schema check.

    ``sources`` and ``targets`` are each edge's ``from`` and ``to`` (None for an edge that is not
    a mapping). An edge written as just ``from`` and ``to`` strings always holds
    (``_BARE_EDGES_HOLD`` makes sure the model still says so), and most edges are written like
    that. The usual case is decided by passes at C speed.
    """
    if not _BARE_EDGES_HOLD:
        return list(range(len(edges)))
    try:
        all_bare = (  # `from` and `to` are strings only in mappings
            set(map(type, sources)) == {str} and set(map(type, targets)) == {str} and set(map(len, edges)) == {2}
        )
    except TypeError:  # an edge without a length
        all_bare = False
    if all_bare:
        return []
    return [index for index, (edge, source, target) in enumerate(zip(edges, sources, targets, strict=True))
            if not _bare(edge, source, target)]


def _bare_edges_hold() -> bool:
    """The model requires ``from`` and ``to`` and nothing else, both plain strings."""
    required = {key: annotation for key, (annotation, is_required) in field_annotations(EdgeSpec).items()
                if is_required}
    return required == {"from": str, "to": str}


_BARE_EDGES_HOLD = _bare_edges_hold()

"""The node-type catalog: each type's name, title, category, config schema and output ports.

Built-in types are registered in ``workflows.spec.builtin_types`` (imported with the package); a
project registers its own::

    @node_type("slack_message", title="Slack message", category="Integrations")
    class SlackMessageConfig(NodeConfig):
        channel: str
        text: str
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

DEFAULT_PORTS = ("success", "failure")


class NodeConfig(BaseModel):
    """Base for a node type's ``config``: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass(frozen=True, slots=False)
class NodeType:
    name: str
    title: str
    category: str
    description: str
    config_model: type[NodeConfig]
    output_ports: tuple[str, ...] = DEFAULT_PORTS
    dynamic_ports: str | None = None  # the config key whose labels become ports (switch cases)
    light: bool = False  # runs inline in the orchestrator, no queue hop
    icon: str = "box"
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def config_schema(self) -> dict[str, Any]:
        return self.config_model.model_json_schema()

    @cached_property
    def list_adapter(self) -> TypeAdapter[list[Any]]:
        """Checks many configs of this type at once (see ``checker_for``)."""
        from workflows.spec.models import checker_for

        return checker_for(self.config_model)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "title": self.title,
            "category": self.category,
            "description": self.description,
            "config_schema": self.config_schema,
            "output_ports": list(self.output_ports),
            "dynamic_ports": self.dynamic_ports,
            "light": self.light,
            "icon": self.icon,
        }


_REGISTRY: dict[str, NodeType] = {}
C = TypeVar("C", bound=type[NodeConfig])


def node_type(
    name: str,
    *,
    title: str,
    category: str,
    description: str | None = None,
    output_ports: Iterable[str] = DEFAULT_PORTS,
    dynamic_ports: str | None = None,
    light: bool = False,
    icon: str = "box",
) -> Callable[[C], C]:
    """Registers a node type whose config is the decorated NodeConfig class."""

    def register(config_model: C) -> C:
        _REGISTRY[name] = NodeType(
            name=name,
            title=title,
            category=category,
            description=description or (config_model.__doc__ or "").strip(),
            config_model=config_model,
            output_ports=tuple(output_ports),
            dynamic_ports=dynamic_ports,
            light=light,
            icon=icon,
        )
        return config_model

    return register


def get_node_type(name: str) -> NodeType | None:
    return _REGISTRY.get(name)


def node_types() -> list[NodeType]:
    return list(_REGISTRY.values())

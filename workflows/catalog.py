"""Register your own node types from Python: ``from workflows.catalog import NodeConfig, node_type``."""

from workflows.spec.catalog import NodeConfig, NodeType, get_node_type, node_type, node_types

__all__ = ["NodeConfig", "NodeType", "get_node_type", "node_type", "node_types"]

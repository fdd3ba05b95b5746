"""Node executors: the runtime of each node type. See ``base`` for the contract."""

from executions.executors.base import (
    Executor,
    NodeContext,
    NodeError,
    NodeTimeout,
    PermanentError,
    RetryableError,
    Suspend,
    config_field,
)
from executions.executors.registry import UnknownExecutor, executor, get_executor, is_light, registered_types

__all__ = [
    "Executor",
    "NodeContext",
    "NodeError",
    "NodeTimeout",
    "PermanentError",
    "RetryableError",
    "Suspend",
    "UnknownExecutor",
    "config_field",
    "executor",
    "get_executor",
    "is_light",
    "registered_types",
]

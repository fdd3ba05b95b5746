"""Node executors: the runtime of each node type. See ``base`` for the contract."""

# The built-in executors register themselves (``@executor``) when imported.
from executions.executors import approval, delay, flow, foreach, function, http, llm, sub_workflow  # noqa: F401
from executions.executors.base import (
    Children,
    ChildState,
    Executor,
    NodeContext,
    NodeError,
    NodeTimeout,
    PermanentError,
    RetryableError,
    StartChild,
    Suspend,
    config_field,
)
from executions.executors.registry import UnknownExecutor, executor, get_executor, is_light, registered_types

__all__ = [
    "ChildState",
    "Children",
    "Executor",
    "NodeContext",
    "NodeError",
    "NodeTimeout",
    "PermanentError",
    "RetryableError",
    "StartChild",
    "Suspend",
    "UnknownExecutor",
    "config_field",
    "executor",
    "get_executor",
    "is_light",
    "registered_types",
]

"""Imports every built-in executor module so each registers itself."""

from executions.executors import approval, delay, flow, foreach, function, http, llm, sub_workflow  # noqa: F401

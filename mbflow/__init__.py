"""MBFlow's Python SDK: ``Client`` / ``AsyncClient`` (the REST API over HTTP), ``Worker``
(serves ``function`` steps), and ``mbflow.embedded.run`` (a workflow in this process, no server).

Importing ``mbflow`` needs only its own small dependencies (httpx, pydantic); it never imports
the server's code or Django settings. See docs/sdk.md.
"""

from mbflow.aio import AsyncClient
from mbflow.client import Client
from mbflow.config import ConfigError, Settings
from mbflow.errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    Conflict,
    InvalidWorkflow,
    MBFlowError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TransportError,
    ValidationError,
)
from mbflow.models import Event, Execution, ExecutionSummary, FunctionTask, Results, Workflow, WorkflowDetail
from mbflow.transport import RetryPolicy
from mbflow.worker import PermanentError, RetryableError, Worker

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "ConfigError",
    "Conflict",
    "Event",
    "Execution",
    "ExecutionSummary",
    "FunctionTask",
    "InvalidWorkflow",
    "MBFlowError",
    "NotFound",
    "PayloadTooLarge",
    "PermanentError",
    "PermissionDenied",
    "RateLimited",
    "Results",
    "RetryPolicy",
    "RetryableError",
    "ServerError",
    "ServiceUnavailable",
    "Settings",
    "TransportError",
    "ValidationError",
    "Worker",
    "Workflow",
    "WorkflowDetail",
]

"""Typed answers of the MBFlow API (pydantic).

Each model mirrors one shape of docs/api.md; tests/sdk/test_models_match_the_schema.py fails
when a model and the server's OpenAPI schema (or, where the schema only says "object", the
server's real answers) stop agreeing. Unknown fields a newer server sends are kept
(``extra="allow"``), so an older SDK still reads its answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

if TYPE_CHECKING:  # for annotations only: the clients import these models
    from collections.abc import AsyncIterator, Iterator

    from mbflow.aio import AsyncClient
    from mbflow.client import Client

ExecutionStatus = Literal["pending", "running", "paused", "succeeded", "failed", "cancelled"]
StepStatus = Literal["pending", "running", "waiting", "succeeded", "failed", "skipped", "retrying", "timed_out",
                     "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

T = TypeVar("T")


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Page(ApiModel, Generic[T]):
    """One page of a list: ``results`` and the total ``count``."""

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[T]


class Version(ApiModel):
    number: int
    checksum: str
    message: str = ""
    author: str = ""
    source_dialect: str = ""
    created_at: datetime


class VersionDetail(Version):
    yaml: str
    spec: Any


class Workflow(ApiModel):
    id: str
    name: str
    title: str = ""
    description: str = ""
    tags: list[str]
    archived: bool = False
    active: bool = True
    version: Version | None
    created_at: datetime
    updated_at: datetime


class WorkflowDetail(Workflow):
    yaml: str
    spec: dict[str, Any]


class Issue(ApiModel):
    """A validation problem, pointing at a node or edge and a YAML line and column."""

    code: str
    message: str
    severity: Literal["error", "warning"] = "error"
    node_id: str | None = None
    edge: int | None = None
    path: list[str | int] | None = None
    line: int | None = None
    column: int | None = None


class Validation(ApiModel):
    valid: bool
    kind: str
    dialect: str
    errors: list[Issue]
    warnings: list[Issue]
    yaml: str
    workflow: str | None = None
    message: str | None = None


class ContextAction(ApiModel):
    action: Literal["applied", "unchanged", "kept"]
    name: str
    workflow: str
    version: int | None = None
    message: str = ""


class Imported(ApiModel):
    """What an import did: the workflow it created or gave a new version (``workflow``), or,
    for a WorkflowContext kept until its workflow exists, only ``context``."""

    kind: str
    dialect: str | None = None
    warnings: list[Issue] = Field(default_factory=list)
    context: ContextAction | None = None
    workflow: WorkflowDetail | None = None
    created: bool = False


class Changes(ApiModel):
    added: list[Any]
    removed: list[Any]
    changed: list[Any]


class Diff(ApiModel):
    from_: int = Field(alias="from")
    to: int
    unified: str
    nodes: Changes
    edges: Changes


class WorkflowRef(ApiModel):
    id: str
    name: str


class Step(ApiModel):
    node_id: str
    status: StepStatus
    attempt: int
    input: Any = None
    output: Any = None
    error: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    scheduled_at: datetime | None = None
    reused_from: str | None = None


class ExecutionSummary(ApiModel):
    """An execution as lists show it."""

    id: str
    execution_id: str = ""  # the same as id (the Magic Flow seed's name)
    tracking_url: str = ""  # the page that shows the run
    metadata: dict[str, Any] = Field(default_factory=dict)
    workflow: WorkflowRef | None
    version: int | None
    status: ExecutionStatus
    idempotency_key: str | None = None
    parent_id: str | None = None
    depth: int = 0
    trigger: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total_steps: int = 0

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


class Execution(ExecutionSummary):
    """An execution with its input, output, error and steps. Got from a client, it can
    ``stream()`` its live events and ``refresh()`` itself."""

    input: Any = None
    output: Any = None
    error: Any = None
    compensation: Any = None
    replay_of: str | None = None
    completed_steps: int = 0
    steps: list[Step] = Field(default_factory=list)

    _client: Client | AsyncClient | None = PrivateAttr(default=None)

    def bound(self, client: Client | AsyncClient | None) -> Execution:
        self._client = client
        return self

    def step(self, node_id: str) -> Step:
        for step in self.steps:
            if step.node_id == node_id:
                return step
        raise KeyError(node_id)

    def _sync(self) -> Client:
        from_client = self._client
        if from_client is None or getattr(from_client, "is_async", True):
            raise TypeError("This execution did not come from a mbflow.Client (use astream()/arefresh() with "
                            "an AsyncClient).")
        return from_client  # type: ignore[return-value]

    def _async(self) -> AsyncClient:
        from_client = self._client
        if from_client is None or not getattr(from_client, "is_async", False):
            raise TypeError("This execution did not come from a mbflow.AsyncClient.")
        return from_client  # type: ignore[return-value]

    def stream(self, after_seq: int = 0) -> Iterator[Event]:
        """Its events as they happen (those after ``after_seq`` first), until it ends."""
        return self._sync().executions.stream(self.id, after_seq=after_seq)

    def refresh(self) -> Execution:
        return self._sync().executions.get(self.id)

    def wait(self, timeout: float = 300.0) -> Execution:
        """Follows the stream until the execution ends, then reads it."""
        return self._sync().executions.wait(self.id, timeout=timeout)

    def astream(self, after_seq: int = 0) -> AsyncIterator[Event]:
        return self._async().executions.stream(self.id, after_seq=after_seq)

    async def arefresh(self) -> Execution:
        return await self._async().executions.get(self.id)


class NodeResult(ApiModel):
    status: StepStatus
    output: Any = None
    error: Any = None


class Results(ApiModel):
    id: str
    status: ExecutionStatus
    output: Any = None
    error: Any = None
    nodes: dict[str, NodeResult]


class Event(ApiModel):
    """One entry of an execution's event log, in ``seq`` order."""

    seq: int
    type: str
    node_id: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)
    time: datetime


class FunctionTask(ApiModel):
    """A ``function`` node's call, taken by one worker."""

    id: str
    execution_id: str
    node_id: str
    attempt: int
    executor: str
    function: str | None
    input: Any = None


class TriggerWorkflow(ApiModel):
    id: str
    name: str
    active: bool


class Trigger(ApiModel):
    id: str
    workflow: TriggerWorkflow
    type: str
    name: str | None = None
    key: str
    enabled: bool
    live: bool
    spec: Any = None
    version: int | None = None
    last_fired_at: datetime | None = None
    last_execution_id: str | None = None
    webhook: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime


class EventAnswer(ApiModel):
    """What sending an event started (``executions``) or could not start (``failed``)."""

    event: dict[str, Any]
    duplicate: bool
    executions: list[dict[str, Any]]
    failed: list[dict[str, Any]]


class Secret(ApiModel):
    """A secret's name and dates; its value is never sent back."""

    name: str
    created_at: datetime
    updated_at: datetime

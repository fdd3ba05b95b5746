"""The synchronous client: ``mbflow.Client(base_url, api_key)``.

Each method sends one ``Call`` of ``mbflow.api``; answers come back as the models of
``mbflow.models`` and errors as the exceptions of ``mbflow.errors``.
"""

from __future__ import annotations

import builtins
import itertools
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from mbflow import api
from mbflow.api import UNSET, Document
from mbflow.config import Settings
from mbflow.errors import ApiError
from mbflow.models import (
    Diff,
    Event,
    EventAnswer,
    Execution,
    ExecutionSummary,
    FunctionTask,
    Imported,
    Page,
    Results,
    Secret,
    Trigger,
    Validation,
    Version,
    VersionDetail,
    Workflow,
    WorkflowDetail,
)
from mbflow.streaming import stream_events
from mbflow.transport import Call, RetryPolicy, api_base, auth_headers, raise_for_error, unreachable

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0


class Client:
    """A connection to an MBFlow server. ``base_url`` and ``api_key`` default to
    ``MBFLOW_URL`` / ``MBFLOW_API_KEY`` and then to the profile file (see ``mbflow.config``)."""

    is_async = False

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 retry: RetryPolicy | None = None, profile: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        settings = Settings.resolve(url=base_url, api_key=api_key, profile=profile)
        self.base_url = api_base(settings.url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.http = httpx.Client(base_url=self.base_url, headers=auth_headers(settings.api_key), timeout=timeout,
                                 transport=transport)
        self.workflows = Workflows(self)
        self.executions = Executions(self)
        self.functions = FunctionTasks(self)
        self.triggers = Triggers(self)
        self.events = Events(self)
        self.secrets = Secrets(self)

    def send(self, call: Call[T]) -> T:
        """Sends ``call``, trying again on 429/503 and unreachable servers as ``retry`` says."""
        for attempt in itertools.count(1):
            try:
                response = self.http.request(call.method, call.path, **call.request_kwargs(self.timeout))
            except httpx.TransportError as exc:
                delay = self.retry.after_failure(call, attempt, exc)
                if delay is None:
                    raise unreachable(self.base_url, exc) from exc
                time.sleep(delay)
                continue
            try:
                raise_for_error(response)
            except ApiError as error:
                delay = self.retry.after_error(call, attempt, error)
                if delay is None:
                    raise
                time.sleep(delay)
                continue
            return call.parse(response)
        raise AssertionError("unreachable")

    def me(self) -> dict[str, Any]:
        return dict(self.send(api.me()))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client

    def _send(self, call: Call[T]) -> T:
        return self._client.send(call)

    def _execution(self, call: Call[Execution]) -> Execution:
        return self._client.send(call).bound(self._client)


class Workflows(_Resource):
    def list(self, search: str = "", tag: str = "", archived: bool = False, page: int = 1,
             page_size: int = 50) -> Page[Workflow]:
        return self._send(api.list_workflows(search, tag, archived, page, page_size))

    def get(self, ref: str) -> WorkflowDetail:
        return self._send(api.get_workflow(ref))

    def create(self, document: Document, message: str = "") -> WorkflowDetail:
        """Stores a new workflow from YAML text (any dialect), a file path or a mapping."""
        return self._send(api.create_workflow(document, message))

    def update(self, ref: str, document: Document, message: str = "") -> WorkflowDetail:
        """A new version of the workflow."""
        return self._send(api.update_workflow(ref, document, message))

    def set_flags(self, ref: str, *, archived: bool | None = None, active: bool | None = None) -> WorkflowDetail:
        return self._send(api.set_workflow_flags(ref, archived, active))

    def delete(self, ref: str) -> None:
        self._send(api.delete_workflow(ref))

    def duplicate(self, ref: str, name: str) -> WorkflowDetail:
        return self._send(api.duplicate_workflow(ref, name))

    def validate(self, document: Document) -> Validation:
        return self._send(api.validate_workflow(document))

    def import_(self, document: Document, message: str = "") -> Imported:
        """Imports a workflow, or a WorkflowContext, in any dialect."""
        return self._send(api.import_workflow(document, message))

    def export(self, ref: str, version: int | None = None) -> str:
        return self._send(api.export_workflow(ref, version))

    def versions(self, ref: str, page: int = 1, page_size: int = 50) -> Page[Version]:
        return self._send(api.list_versions(ref, page, page_size))

    def version(self, ref: str, number: int) -> VersionDetail:
        return self._send(api.get_version(ref, number))

    def diff(self, ref: str, from_version: int, to_version: int | None = None) -> Diff:
        return self._send(api.diff_versions(ref, from_version, to_version))

    def rollback(self, ref: str, version: int, message: str = "") -> WorkflowDetail:
        return self._send(api.rollback_workflow(ref, version, message))

    def triggers(self, ref: str) -> builtins.list[Trigger]:
        return self._send(api.workflow_triggers(ref))

    def client(self, ref: str, language: str = "python") -> bytes:
        """The workflow's generated typed client, as a zip."""
        return self._send(api.workflow_client(ref, language))


class Executions(_Resource):
    def start(self, workflow: str, input: Any = None, *, wait: float | None = None,
              idempotency_key: str | None = None, version: int | None = None,
              metadata: dict[str, Any] | None = None) -> Execution:
        """Starts a run of ``workflow`` (id or name); with ``wait``, answers once it ended or
        after that many seconds, whichever comes first."""
        return self._execution(api.start_execution(workflow, input, wait=wait, idempotency_key=idempotency_key,
                                                   version=version, metadata=metadata))

    def start_adhoc(self, document: Document, input: Any = None, *, wait: float | None = None,
                    idempotency_key: str | None = None) -> Execution:
        """Runs a document without storing it as a workflow."""
        return self._execution(api.start_adhoc(document, input, wait=wait, idempotency_key=idempotency_key))

    def list(self, workflow: str | None = None, status: str | None = None, *, created_after: str | None = None,
             created_before: str | None = None, trigger: str | None = None, page: int = 1,
             page_size: int = 50) -> Page[ExecutionSummary]:
        return self._send(api.list_executions(workflow, status, created_after, created_before, trigger, page,
                                              page_size))

    def get(self, execution_id: str) -> Execution:
        return self._execution(api.get_execution(execution_id))

    def results(self, execution_id: str) -> Results:
        return self._send(api.execution_results(execution_id))

    def events(self, execution_id: str, after_seq: int = 0) -> builtins.list[Event]:
        """Every event of the log after ``after_seq``, in order (all pages)."""
        found: builtins.list[Event] = []
        for page in itertools.count(1):
            batch = self._send(api.execution_events(execution_id, after_seq, page))
            found.extend(batch.results)
            if not batch.next:
                return found
        raise AssertionError("unreachable")

    def stream(self, execution_id: str, after_seq: int = 0) -> Iterator[Event]:
        """Live events (those after ``after_seq`` first) until the execution ends; a broken
        connection is resumed from the last event received."""
        return stream_events(self._client.http, execution_id, after_seq, self._client.retry)

    def wait(self, execution_id: str, timeout: float = 300.0) -> Execution:
        """Waits for the execution to end (following its stream), then reads it."""
        deadline = time.monotonic() + timeout
        for _event in self.stream(execution_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Execution {execution_id} did not end within {timeout:g}s")
        return self.get(execution_id)

    def cancel(self, execution_id: str, compensate: bool = False) -> Execution:
        return self._execution(api.cancel_execution(execution_id, compensate))

    def pause(self, execution_id: str) -> Execution:
        return self._execution(api.pause_execution(execution_id))

    def resume(self, execution_id: str) -> Execution:
        return self._execution(api.resume_execution(execution_id))

    def retry(self, execution_id: str, wait: float | None = None) -> Execution:
        return self._execution(api.retry_execution(execution_id, wait))

    def replay(self, execution_id: str, from_node: str, input: Any = UNSET, *, version: int | None = None,
               idempotency_key: str | None = None, wait: float | None = None) -> Execution:
        return self._execution(api.replay_execution(execution_id, from_node, input, version=version,
                                                    idempotency_key=idempotency_key, wait=wait))

    def rerun(self, execution_id: str, input: Any = UNSET, *, idempotency_key: str | None = None,
              wait: float | None = None) -> Execution:
        return self._execution(api.rerun_execution(execution_id, input, idempotency_key=idempotency_key, wait=wait))

    def signal(self, execution_id: str, node_id: str, decision: str, *, comment: str | None = None,
               data: dict[str, Any] | None = None) -> Execution:
        return self._execution(api.signal_execution(execution_id, node_id, decision, comment, data))


class FunctionTasks(_Resource):
    """The function-task API a worker speaks (``mbflow.Worker`` uses it)."""

    def poll(self, executor: str, functions: builtins.list[str] | None = None, wait: float = 0) -> FunctionTask | None:
        return self._send(api.poll_task(executor, functions, wait))

    def complete(self, task_id: str, output: Any = None) -> None:
        self._send(api.complete_task(task_id, output=output))

    def fail(self, task_id: str, message: str, *, code: str | None = None, retryable: bool = True,
             details: Any = None) -> None:
        error = {"message": message, "code": code, "retryable": retryable, "details": details}
        self._send(api.complete_task(task_id, error={k: v for k, v in error.items() if v is not None}))


class Triggers(_Resource):
    def list(self) -> builtins.list[Trigger]:
        return self._send(api.list_triggers())

    def get(self, trigger_id: str) -> Trigger:
        return self._send(api.get_trigger(trigger_id))

    def enable(self, trigger_id: str) -> Trigger:
        return self._send(api.set_trigger_enabled(trigger_id, True))

    def disable(self, trigger_id: str) -> Trigger:
        return self._send(api.set_trigger_enabled(trigger_id, False))


class Events(_Resource):
    def send(self, type: str, data: Any = None, *, source: str | None = None, id: str | None = None,
             time: str | None = None) -> EventAnswer:
        """Sends an event; the workflows with an event trigger for it start."""
        return self._send(api.send_event(type, data, source=source, id=id, time=time))


class Secrets(_Resource):
    def list(self) -> builtins.list[Secret]:
        return self._send(api.list_secrets())

    def set(self, name: str, value: str) -> Secret:
        return self._send(api.set_secret(name, value))

    def delete(self, name: str) -> None:
        self._send(api.delete_secret(name))

"""The asynchronous client: ``mbflow.AsyncClient``, the same methods as ``Client``, awaited."""

from __future__ import annotations

import asyncio
import builtins
import itertools
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from mbflow import api
from mbflow.api import UNSET, Document
from mbflow.client import DEFAULT_TIMEOUT
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
from mbflow.streaming import astream_events
from mbflow.transport import Call, RetryPolicy, api_base, auth_headers, raise_for_error, unreachable

T = TypeVar("T")


class AsyncClient:
    is_async = True

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 retry: RetryPolicy | None = None, profile: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        settings = Settings.resolve(url=base_url, api_key=api_key, profile=profile)
        self.base_url = api_base(settings.url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=auth_headers(settings.api_key),
                                      timeout=timeout, transport=transport)
        self.workflows = AsyncWorkflows(self)
        self.executions = AsyncExecutions(self)
        self.functions = AsyncFunctionTasks(self)
        self.triggers = AsyncTriggers(self)
        self.events = AsyncEvents(self)
        self.secrets = AsyncSecrets(self)

    async def send(self, call: Call[T]) -> T:
        for attempt in itertools.count(1):
            try:
                response = await self.http.request(call.method, call.path, **call.request_kwargs(self.timeout))
            except httpx.TransportError as exc:
                delay = self.retry.after_failure(call, attempt, exc)
                if delay is None:
                    raise unreachable(self.base_url, exc) from exc
                await asyncio.sleep(delay)
                continue
            try:
                raise_for_error(response)
            except ApiError as error:
                delay = self.retry.after_error(call, attempt, error)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                continue
            return call.parse(response)
        raise AssertionError("unreachable")

    async def me(self) -> dict[str, Any]:
        return dict(await self.send(api.me()))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()


class _AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _send(self, call: Call[T]) -> T:
        return await self._client.send(call)

    async def _execution(self, call: Call[Execution]) -> Execution:
        return (await self._client.send(call)).bound(self._client)


class AsyncWorkflows(_AsyncResource):
    async def list(self, search: str = "", tag: str = "", archived: bool = False, page: int = 1,
                   page_size: int = 50) -> Page[Workflow]:
        return await self._send(api.list_workflows(search, tag, archived, page, page_size))

    async def get(self, ref: str) -> WorkflowDetail:
        return await self._send(api.get_workflow(ref))

    async def create(self, document: Document, message: str = "") -> WorkflowDetail:
        return await self._send(api.create_workflow(document, message))

    async def update(self, ref: str, document: Document, message: str = "") -> WorkflowDetail:
        return await self._send(api.update_workflow(ref, document, message))

    async def set_flags(self, ref: str, *, archived: bool | None = None, active: bool | None = None
                        ) -> WorkflowDetail:
        return await self._send(api.set_workflow_flags(ref, archived, active))

    async def delete(self, ref: str) -> None:
        await self._send(api.delete_workflow(ref))

    async def duplicate(self, ref: str, name: str) -> WorkflowDetail:
        return await self._send(api.duplicate_workflow(ref, name))

    async def validate(self, document: Document) -> Validation:
        return await self._send(api.validate_workflow(document))

    async def import_(self, document: Document, message: str = "") -> Imported:
        return await self._send(api.import_workflow(document, message))

    async def export(self, ref: str, version: int | None = None) -> str:
        return await self._send(api.export_workflow(ref, version))

    async def versions(self, ref: str, page: int = 1, page_size: int = 50) -> Page[Version]:
        return await self._send(api.list_versions(ref, page, page_size))

    async def version(self, ref: str, number: int) -> VersionDetail:
        return await self._send(api.get_version(ref, number))

    async def diff(self, ref: str, from_version: int, to_version: int | None = None) -> Diff:
        return await self._send(api.diff_versions(ref, from_version, to_version))

    async def rollback(self, ref: str, version: int, message: str = "") -> WorkflowDetail:
        return await self._send(api.rollback_workflow(ref, version, message))

    async def triggers(self, ref: str) -> builtins.list[Trigger]:
        return await self._send(api.workflow_triggers(ref))

    async def client(self, ref: str, language: str = "python") -> bytes:
        return await self._send(api.workflow_client(ref, language))


class AsyncExecutions(_AsyncResource):
    async def start(self, workflow: str, input: Any = None, *, wait: float | None = None,
                    idempotency_key: str | None = None, version: int | None = None,
                    metadata: dict[str, Any] | None = None) -> Execution:
        return await self._execution(api.start_execution(workflow, input, wait=wait, idempotency_key=idempotency_key,
                                                         version=version, metadata=metadata))

    async def start_adhoc(self, document: Document, input: Any = None, *, wait: float | None = None,
                          idempotency_key: str | None = None) -> Execution:
        return await self._execution(api.start_adhoc(document, input, wait=wait, idempotency_key=idempotency_key))

    async def list(self, workflow: str | None = None, status: str | None = None, *, created_after: str | None = None,
                   created_before: str | None = None, trigger: str | None = None, page: int = 1,
                   page_size: int = 50) -> Page[ExecutionSummary]:
        return await self._send(api.list_executions(workflow, status, created_after, created_before, trigger, page,
                                                    page_size))

    async def get(self, execution_id: str) -> Execution:
        return await self._execution(api.get_execution(execution_id))

    async def results(self, execution_id: str) -> Results:
        return await self._send(api.execution_results(execution_id))

    async def events(self, execution_id: str, after_seq: int = 0) -> builtins.list[Event]:
        found: builtins.list[Event] = []
        for page in itertools.count(1):
            batch = await self._send(api.execution_events(execution_id, after_seq, page))
            found.extend(batch.results)
            if not batch.next:
                return found
        raise AssertionError("unreachable")

    def stream(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        return astream_events(self._client.http, execution_id, after_seq, self._client.retry)

    async def wait(self, execution_id: str, timeout: float = 300.0) -> Execution:
        deadline = time.monotonic() + timeout
        async for _event in self.stream(execution_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Execution {execution_id} did not end within {timeout:g}s")
        return await self.get(execution_id)

    async def cancel(self, execution_id: str, compensate: bool = False) -> Execution:
        return await self._execution(api.cancel_execution(execution_id, compensate))

    async def pause(self, execution_id: str) -> Execution:
        return await self._execution(api.pause_execution(execution_id))

    async def resume(self, execution_id: str) -> Execution:
        return await self._execution(api.resume_execution(execution_id))

    async def retry(self, execution_id: str, wait: float | None = None) -> Execution:
        return await self._execution(api.retry_execution(execution_id, wait))

    async def replay(self, execution_id: str, from_node: str, input: Any = UNSET, *, version: int | None = None,
                     idempotency_key: str | None = None, wait: float | None = None) -> Execution:
        return await self._execution(api.replay_execution(execution_id, from_node, input, version=version,
                                                          idempotency_key=idempotency_key, wait=wait))

    async def rerun(self, execution_id: str, input: Any = UNSET, *, idempotency_key: str | None = None,
                    wait: float | None = None) -> Execution:
        return await self._execution(api.rerun_execution(execution_id, input, idempotency_key=idempotency_key,
                                                         wait=wait))

    async def signal(self, execution_id: str, node_id: str, decision: str, *, comment: str | None = None,
                     data: dict[str, Any] | None = None) -> Execution:
        return await self._execution(api.signal_execution(execution_id, node_id, decision, comment, data))


class AsyncFunctionTasks(_AsyncResource):
    async def poll(self, executor: str, functions: builtins.list[str] | None = None, wait: float = 0
                   ) -> FunctionTask | None:
        return await self._send(api.poll_task(executor, functions, wait))

    async def complete(self, task_id: str, output: Any = None) -> None:
        await self._send(api.complete_task(task_id, output=output))

    async def fail(self, task_id: str, message: str, *, code: str | None = None, retryable: bool = True,
                   details: Any = None) -> None:
        error = {"message": message, "code": code, "retryable": retryable, "details": details}
        await self._send(api.complete_task(task_id, error={k: v for k, v in error.items() if v is not None}))


class AsyncTriggers(_AsyncResource):
    async def list(self) -> builtins.list[Trigger]:
        return await self._send(api.list_triggers())

    async def get(self, trigger_id: str) -> Trigger:
        return await self._send(api.get_trigger(trigger_id))

    async def enable(self, trigger_id: str) -> Trigger:
        return await self._send(api.set_trigger_enabled(trigger_id, True))

    async def disable(self, trigger_id: str) -> Trigger:
        return await self._send(api.set_trigger_enabled(trigger_id, False))


class AsyncEvents(_AsyncResource):
    async def send(self, type: str, data: Any = None, *, source: str | None = None, id: str | None = None,
                   time: str | None = None) -> EventAnswer:
        return await self._send(api.send_event(type, data, source=source, id=id, time=time))


class AsyncSecrets(_AsyncResource):
    async def list(self) -> builtins.list[Secret]:
        return await self._send(api.list_secrets())

    async def set(self, name: str, value: str) -> Secret:
        return await self._send(api.set_secret(name, value))

    async def delete(self, name: str) -> None:
        await self._send(api.delete_secret(name))

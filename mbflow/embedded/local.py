"""Embedded runs, once Django is up (``boot.start``): the server's own services called in
process, their errors raised as the SDK's, and a Worker's handlers served without HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from executions.api.serializers import event_data, execution_detail
from executions.engine.projection import EXECUTION_FIELDS
from executions.models import Execution
from executions.services.executions import do_start_adhoc, wait_and_reload
from executions.services.functions import complete_task, poll_task
from mbflow.errors import error_for
from mbflow.models import FunctionTask
from mbflow.worker import Worker
from mbflow_site.errors import ApiError as ServerError
from workflows.models import Role, Tenant
from workflows.public import read_adhoc_document
from workflows.tenancy import Caller

TENANT = "embedded"
TERMINAL = ("succeeded", "failed", "cancelled")
POLL = 0.1  # seconds between two reads of a followed run's event log


@contextmanager
def as_sdk_errors() -> Iterator[None]:
    """The server's domain errors as the SDK's exceptions (what the HTTP API would answer)."""
    try:
        yield
    except ServerError as exc:
        raise error_for(exc.status_code, {"error": {"code": exc.code, "message": exc.message,
                                                    "details": exc.details}}) from exc


def caller() -> Caller:
    tenant, _ = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Embedded"})
    return Caller(tenant=tenant, role=str(Role.OWNER), username="embedded")


class LocalTasks:
    """The function-task API of ``Client.functions``, answered by the engine in process."""

    def __init__(self, who: Caller) -> None:
        self.who = who

    def poll(self, executor: str, functions: list[str] | None = None, wait: float = 0) -> FunctionTask | None:
        with as_sdk_errors():
            task = poll_task(self.who, executor, functions, wait)
        return FunctionTask.model_validate(task.to_dict()) if task is not None else None

    def complete(self, task_id: str, output: Any = None) -> None:
        with as_sdk_errors():
            complete_task(self.who, task_id, output=output)

    def fail(self, task_id: str, message: str, *, code: str | None = None, retryable: bool = True,
             details: Any = None) -> None:
        with as_sdk_errors():
            complete_task(self.who, task_id, error={"message": message, "code": code, "retryable": retryable,
                                                    "details": details})


class LocalClient:
    base_url = "embedded"

    def __init__(self, who: Caller) -> None:
        self.functions = LocalTasks(who)


@contextmanager
def serving(worker: Worker | None, who: Caller) -> Iterator[None]:
    """Runs ``worker``'s handlers against the engine in this process while the block runs."""
    if worker is None:
        yield
        return
    local = Worker(LocalClient(who), worker.executor, concurrency=worker.concurrency, poll_wait=0.5,
                   shutdown_timeout=worker.shutdown_timeout)
    local.functions = worker.functions
    thread = threading.Thread(target=local.run, kwargs={"handle_signals": False}, daemon=True,
                              name="mbflow-embedded-worker")
    thread.start()
    try:
        yield
    finally:
        local.stop()
        thread.join()


def follow(execution: Execution, timeout: float, on_event: Callable[[dict[str, Any]], None]) -> Execution:
    """Hands each event of the run's log to ``on_event`` as it is written (the log read every
    ``POLL`` seconds), until the run ends or ``timeout`` passes; then reads the run again."""
    deadline = time.monotonic() + timeout
    last = 0
    while True:
        ended = Execution.objects.filter(pk=execution.pk, status__in=TERMINAL).exists()
        for event in execution.events.filter(seq__gt=last).order_by("seq"):
            last = event.seq
            on_event(event_data(event))
        if ended or time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    execution.refresh_from_db(fields=EXECUTION_FIELDS)
    return execution


def run(text: str, data: Any, *, timeout: float, worker: Worker | None,
        on_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    who = caller()
    with as_sdk_errors():
        spec = read_adhoc_document({"yaml": text})
        with serving(worker, who):
            execution, _ = do_start_adhoc(who.tenant, spec, data=data, trigger={"type": "embedded"})
            if on_event is None:
                execution = wait_and_reload(execution, timeout)
            else:
                execution = follow(execution, timeout, on_event)
        return execution_detail(execution)

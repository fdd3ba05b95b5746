"""Function workers: your own process serving a workflow's ``function`` steps.

    worker = mbflow.Worker(client, executor="user-service", concurrency=4)

    @worker.function("validateUserData")
    def validate(user: UserData) -> Validation: ...

    worker.run()          # or: mbflow worker myapp.workers:worker

A handler's first parameter's annotation (a pydantic model, a dataclass, a TypedDict, ...)
types the task's input, and its return annotation its output; a second parameter, if any, gets
the ``FunctionTask``. ``async def`` handlers work too. A handler that raises ``PermanentError``
fails its node at once; ``RetryableError`` (and any other exception) lets the node's retry
policy try again, as a new task that any worker may take. Input that does not fit the
handler's type is a permanent ``invalid_input`` failure.

The worker long-polls ``/function-tasks/poll`` (one poll in flight per executor) and runs at
most ``concurrency`` tasks at once. ``run()`` stops on SIGTERM or SIGINT: it takes no new task
once the polls in flight return (at most ``poll_wait`` seconds), finishes the tasks it holds
within ``shutdown_timeout``, and reports any still running as a retryable ``worker_shutdown``
failure, which hands them, by the node's retry policy, to another worker.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any, Protocol, get_type_hints

from pydantic import TypeAdapter
from pydantic import ValidationError as InputError

from mbflow.errors import ApiError, MBFlowError, TransportError
from mbflow.models import FunctionTask

logger = logging.getLogger("mbflow.worker")
Handler = Callable[..., Any]


class TaskApi(Protocol):
    """Where a worker takes tasks and reports them: ``Client.functions`` over HTTP, or the
    engine itself in embedded mode."""

    def poll(self, executor: str, functions: list[str] | None = None, wait: float = 0) -> FunctionTask | None: ...

    def complete(self, task_id: str, output: Any = None) -> None: ...

    def fail(self, task_id: str, message: str, *, code: str | None = None, retryable: bool = True,
             details: Any = None) -> None: ...


class TaskClient(Protocol):
    """What a worker needs of its client (``mbflow.Client`` is one)."""

    base_url: str

    @property
    def functions(self) -> TaskApi: ...


class FunctionError(MBFlowError):
    """A failure a handler reports: ``message``, ``code`` and ``details`` reach the node's error."""

    retryable = True

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message, self.code, self.details = message, code, details


class RetryableError(FunctionError):
    """Try again: the node's retry policy decides whether and when (a new task)."""


class PermanentError(FunctionError):
    """Trying again would not help: the node fails now (its failure edge or fallback follows)."""

    retryable = False


@dataclass(frozen=True)
class Registered:
    name: str
    executor: str
    handler: Handler
    input_type: TypeAdapter[Any] | None
    output_type: TypeAdapter[Any] | None
    wants_task: bool

    @classmethod
    def of(cls, name: str, executor: str, handler: Handler) -> Registered:
        parameters = list(inspect.signature(handler).parameters.values())
        hints = get_type_hints(handler)
        first = hints.get(parameters[0].name) if parameters else None
        returned = hints.get("return")
        return cls(name, executor, handler,
                   TypeAdapter(first) if first not in (None, Any) else None,
                   TypeAdapter(returned) if returned not in (None, Any, type(None)) else None,
                   len(parameters) >= 2)

    def call(self, task: FunctionTask) -> Any:
        try:
            data = self.input_type.validate_python(task.input) if self.input_type is not None else task.input
        except InputError as exc:
            raise PermanentError(f"The input does not fit {self.name}: {exc.errors()[0]['msg']}",
                                 code="invalid_input", details=exc.errors(include_url=False)) from exc
        args = (data, task) if self.wants_task else (data,)
        result = self.handler(*args)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        if self.output_type is not None:
            return self.output_type.dump_python(result, mode="json")
        return TypeAdapter(Any).dump_python(result, mode="json")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class Worker:
    def __init__(self, client: TaskClient | None = None, executor: str = "", *, concurrency: int = 4,
                 poll_wait: float = 10.0, shutdown_timeout: float = 30.0) -> None:
        if not 0 <= poll_wait <= 20:
            raise ValueError("poll_wait is 0 to 20 seconds (the server's longest poll)")
        self.client = client
        self.executor = executor
        self.concurrency = max(1, concurrency)
        self.poll_wait = poll_wait
        self.shutdown_timeout = shutdown_timeout
        self.functions: dict[tuple[str, str], Registered] = {}
        self.stopping = threading.Event()
        self.completed = 0
        self.failed = 0
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def function(self, name: str, *, executor: str | None = None) -> Callable[[Handler], Handler]:
        """Registers the decorated handler for the steps calling function ``name`` of
        ``executor`` (the worker's by default)."""
        chosen = executor or self.executor
        if not chosen:
            raise ValueError("Name an executor: Worker(client, executor=...) or @worker.function(..., executor=...)")

        def register(handler: Handler) -> Handler:
            self.functions[(chosen, name)] = Registered.of(name, chosen, handler)
            return handler

        return register

    def executors(self) -> dict[str, list[str]]:
        by_executor: dict[str, list[str]] = {}
        for executor, name in self.functions:
            by_executor.setdefault(executor, []).append(name)
        return by_executor

    # --- running ----------------------------------------------------------------------------

    def run(self, *, handle_signals: bool = True) -> None:
        """Serves tasks until ``stop()`` (or SIGTERM/SIGINT, when called in the main thread)."""
        if not self.functions:
            raise MBFlowError("The worker has no functions: register some with @worker.function(...)")
        if self.client is None:
            raise MBFlowError("The worker has no client: Worker(mbflow.Client(...), ...) (embedded mode needs none)")
        previous: dict[signal.Signals, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, self._on_signal)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="mbflow-function")
        pollers = [threading.Thread(target=self._poll_loop, args=(executor, names, pool), daemon=True,
                                    name=f"mbflow-poll-{executor}") for executor, names in self.executors().items()]
        logger.info("Worker serving %s", ", ".join(f"{e}: {', '.join(n)}" for e, n in self.executors().items()))
        try:
            for poller in pollers:
                poller.start()
            while not self.stopping.wait(0.5):
                if not any(poller.is_alive() for poller in pollers):
                    break
            for poller in pollers:
                poller.join()
            self._finish(pool)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def stop(self) -> None:
        """Asks the worker to stop (what SIGTERM does)."""
        self.stopping.set()

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        logger.info("Signal %s: finishing the tasks in hand, taking no new one", number)
        self.stop()

    @property
    def tasks(self) -> TaskApi:
        assert self.client is not None, "run() checks it"
        return self.client.functions

    def _poll_loop(self, executor: str, names: list[str], pool: ThreadPoolExecutor) -> None:
        failures = 0
        while not self.stopping.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                task = self.tasks.poll(executor, names, wait=self.poll_wait)
                failures = 0
            except (TransportError, ApiError) as exc:
                self._slots.release()
                failures += 1
                logger.warning("Polling for %s failed (%s); trying again", executor, exc)
                self.stopping.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            if task is None:
                self._slots.release()
                continue
            # Taken: this task is ours now, so it runs even when a stop came meanwhile.
            future = pool.submit(self._serve, task)
            with self._lock:
                self._running[task.id] = future
            future.add_done_callback(partial(self._done, task.id))

    def _done(self, task_id: str, future: Future[None]) -> None:
        with self._lock:
            self._running.pop(task_id, None)
        self._slots.release()

    def _serve(self, task: FunctionTask) -> None:
        registered = self.functions[(task.executor, task.function or "")]
        try:
            output = registered.call(task)
        except FunctionError as exc:
            self._report(task, exc.message, exc.code, exc.retryable, exc.details)
        except Exception as exc:
            logger.exception("Function %s failed on task %s", task.function, task.id)
            self._report(task, f"{type(exc).__name__}: {exc}", type(exc).__name__, True, None)
        else:
            self._complete(task, output)

    def _complete(self, task: FunctionTask, output: Any) -> None:
        try:
            self.tasks.complete(task.id, output)
            self.completed += 1
        except ApiError as exc:
            if exc.code != "not_waiting":
                raise
            logger.warning("Task %s was not waiting any more (timed out or cancelled): %s", task.id, exc.message)

    def _report(self, task: FunctionTask, message: str, code: str | None, retryable: bool, details: Any) -> None:
        self.failed += 1
        try:
            self.tasks.fail(task.id, message, code=code, retryable=retryable, details=details)
        except ApiError as exc:
            if exc.code != "not_waiting":
                raise
            logger.warning("Task %s was not waiting any more: %s", task.id, exc.message)

    def _finish(self, pool: ThreadPoolExecutor) -> None:
        """Waits up to ``shutdown_timeout`` for the tasks in hand, then gives back the rest."""
        with self._lock:
            running = list(self._running.values())
        wait(running, timeout=self.shutdown_timeout)
        with self._lock:
            left = [task_id for task_id, future in self._running.items() if not future.done()]
        for task_id in left:
            logger.warning("Task %s did not finish before shutdown: reported as a retryable failure", task_id)
            try:
                self.tasks.fail(task_id, "The worker shut down before the task finished.",
                                           code="worker_shutdown", retryable=True)
            except ApiError as exc:
                logger.warning("Could not give back task %s: %s", task_id, exc)
        pool.shutdown(wait=False, cancel_futures=True)

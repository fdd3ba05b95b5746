"""What the engine hands outward, and to whom: the ports the app wires at start-up.

The engine decides and records; it does not know where work runs or who listens. After a step
commits it hands its work (``Dispatch``) to the dispatcher and its events to the event sink; it
asks the breaker store whether a call may be made. ``executions.apps`` plugs in the real ones
(the embedded pool or Celery, chosen by ``MBFLOW_DISPATCHER``; the live publisher; breakers in
Redis when ``REDIS_URL`` is set, else in process memory); tests and the benchmark switch the
dispatcher with ``use_dispatcher``. Apps above the runtime hear of events through
``add_event_listener`` (outbound webhooks, ``triggers.apps``) without the engine knowing them,
and may add rows of their own to a step's writes with ``add_journal_writer``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from executions.engine.breakers import BreakerStore, MemoryBreakerStore
from executions.engine.projection import Event


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Work to hand to the dispatcher once the step's transaction has committed."""

    kind: str  # node | expire | advance | time_out
    execution_id: str
    node_id: str = ""
    attempt: int = 0
    eta: datetime | None = None
    queue: str = "io"
    # The rendered config and context, for a dispatcher that runs the work in this process
    # (embedded): it saves the worker re-reading the state. Never serialised to a broker.
    prepared: Any = field(default=None, compare=False, repr=False)
    # What a broker message may carry instead (see ``Step.portable``): JSON, never a secret.
    portable: dict[str, Any] | None = field(default=None, compare=False, repr=False)


class Dispatcher(Protocol):
    name: str

    def dispatch_all(self, works: Sequence[Dispatch]) -> None:
        """Sends the work one step decided, after that step committed."""


EventSink = Callable[[Any, Any, Sequence[Event]], None]  # (tenant id, execution id, events)
# (tenant id, execution id, events, the id of the version the execution runs: None for an ad hoc run)
EventListener = Callable[[Any, Any, Sequence[Event], int | None], None]
# (tenant id, execution id, events) -> rows to insert with the step's writes: (model, [values by
# attribute name]), or None.
Rows = tuple[type[Any], list[dict[str, Any]]]
JournalWriter = Callable[[Any, Any, Sequence[Event]], Rows | None]
logger = logging.getLogger(__name__)


def _no_events(tenant_id: Any, execution_id: Any, events: Sequence[Event]) -> None:
    pass


_dispatcher_factory: Callable[[], Dispatcher] | None = None
_default: Dispatcher | None = None
_override: Dispatcher | None = None
_event_sink: EventSink = _no_events
_listeners: list[EventListener] = []
_writers: list[JournalWriter] = []
_breaker_store: BreakerStore = MemoryBreakerStore()


def wire(*, dispatcher_factory: Callable[[], Dispatcher], event_sink: EventSink,
         breaker_store: BreakerStore | None = None) -> None:
    """Plugs in the process's dispatcher (made on first use), event sink and breaker store
    (``apps.ready``; breakers stay in this process's memory when none is given)."""
    global _dispatcher_factory, _default, _event_sink, _breaker_store
    _dispatcher_factory, _default, _event_sink = dispatcher_factory, None, event_sink
    _breaker_store = breaker_store or MemoryBreakerStore()


def get_dispatcher() -> Dispatcher:
    global _default
    if _override is not None:
        return _override
    if _default is None:
        if _dispatcher_factory is None:
            raise RuntimeError("No dispatcher is wired: executions.apps.ExecutionsConfig.ready did not run.")
        _default = _dispatcher_factory()
    return _default


def use_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Chooses the dispatcher for this process (tests and the benchmark switch it); None goes
    back to the wired one."""
    global _override
    _override = dispatcher


def add_event_listener(listener: EventListener) -> None:
    """Lets another app hear of the events a step committed (from its ``AppConfig.ready``), after
    the event sink, in the thread that published them: a listener must return quickly, handing
    slow work on. One that raises is logged and never fails the engine. It is told the version
    the execution runs, so that it need not read it back to know whether the events concern it."""
    if listener not in _listeners:
        _listeners.append(listener)


def add_journal_writer(writer: JournalWriter) -> None:
    """Lets another app write rows of its own in the transaction of each step that changed an
    execution, sent with the step's writes (no round trip or commit of their own), from its
    ``AppConfig.ready``: a mark that must commit with the change it marks (monitoring's rollups).
    A writer that raises fails the step, as the step's own writes would."""
    if writer not in _writers:
        _writers.append(writer)


def journal_rows(tenant_id: Any, execution_id: Any, events: Sequence[Event]) -> list[Rows]:
    """What the writers add to a step that wrote ``events``."""
    rows = [writer(tenant_id, execution_id, events) for writer in _writers]
    return [(model, values) for model, values in filter(None, rows) if values]


def publish_events(tenant_id: Any, execution_id: Any, events: Sequence[Event], version_id: int | None) -> None:
    _event_sink(tenant_id, execution_id, events)
    for listener in _listeners:
        try:
            listener(tenant_id, execution_id, events, version_id)
        except Exception:
            logger.exception("An event listener failed on the events of execution %s", execution_id)


def breaker_store() -> BreakerStore:
    return _breaker_store

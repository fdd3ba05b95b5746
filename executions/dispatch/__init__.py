"""Where work goes after a step commits: an in-process thread pool (embedded) or Celery.

Both call the same plain functions of ``executions.engine.runner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from django.conf import settings

from executions.engine.step import Dispatch


class Dispatcher(Protocol):
    name: str

    def dispatch_all(self, works: Sequence[Dispatch]) -> None:
        """Sends the work one step decided, after that step committed."""


_override: Dispatcher | None = None
_default: Dispatcher | None = None


def get_dispatcher() -> Dispatcher:
    global _default
    if _override is not None:
        return _override
    if _default is None:
        if settings.MBFLOW_DISPATCHER == "celery":
            from executions.dispatch.celery import CeleryDispatcher

            _default = CeleryDispatcher()
        else:
            from executions.dispatch.embedded import EmbeddedDispatcher

            _default = EmbeddedDispatcher()
    return _default


def use_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Chooses the dispatcher for this process (tests and the benchmark switch it)."""
    global _override
    _override = dispatcher


def perform(work: Dispatch) -> None:
    """Runs one piece of work here and now: what a worker does with a delivered task."""
    from executions.engine import runner

    if work.kind == "node":
        runner.run_node(work.execution_id, work.node_id, work.attempt, work.prepared)
    elif work.kind == "expire":
        runner.expire(work.execution_id)
    elif work.kind == "advance":
        runner.advance(work.execution_id)
    elif work.kind == "time_out":
        runner.time_out(work.execution_id, work.node_id, work.attempt)
    else:
        raise ValueError(f"unknown work kind {work.kind!r}")

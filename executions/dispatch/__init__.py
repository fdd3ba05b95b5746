"""Where work goes after a step commits: an in-process thread pool (embedded) or Celery.

Both call the same plain functions of ``executions.engine.runner``. The engine hands its work
to whichever ``executions.apps`` wired as its dispatcher port (``default_dispatcher``).
"""

from __future__ import annotations

from django.conf import settings

from executions.dispatch.celery import CeleryDispatcher
from executions.dispatch.embedded import EmbeddedDispatcher
from executions.engine.ports import Dispatch, Dispatcher, get_dispatcher, use_dispatcher

__all__ = ["CeleryDispatcher", "Dispatch", "Dispatcher", "EmbeddedDispatcher", "default_dispatcher",
           "get_dispatcher", "use_dispatcher"]


def default_dispatcher() -> Dispatcher:
    """The dispatcher ``MBFLOW_DISPATCHER`` names (Celery when a broker is configured)."""
    if settings.MBFLOW_DISPATCHER == "celery":
        return CeleryDispatcher()
    return EmbeddedDispatcher()

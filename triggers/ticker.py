"""The schedule tick on a timer thread: the embedded server's Celery beat (and its retention pruning).

Each web server process (uvicorn, which tells the app it started through the ASGI lifespan)
runs one when ``MBFLOW_SCHEDULER`` is ``embedded``, the default without a broker. Several
processes ticking at once still start one run per due time (see ``services.schedules``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from executions.services.retention import prune_if_due
from triggers.services.schedules import tick

logger = logging.getLogger(__name__)


class Ticker:
    def __init__(self, every: float) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mbflow-schedule-tick", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                tick()
            except Exception:
                logger.exception("The schedule tick failed")
            try:
                prune_if_due()  # retention, every MBFLOW_RETENTION_SECONDS
            except Exception:
                logger.exception("Pruning old executions failed")
            finally:
                close_old_connections()


_ticker: Ticker | None = None
_lock = threading.Lock()


def start_ticker(**_: Any) -> None:
    """server_started: ticks in this process when the schedule is embedded."""
    global _ticker
    if settings.MBFLOW_SCHEDULER != "embedded":
        return
    with _lock:
        if _ticker is None:
            _ticker = Ticker(float(settings.MBFLOW_SCHEDULE_TICK_SECONDS))
            _ticker.start()
            logger.info("Schedule tick every %s s in this process", settings.MBFLOW_SCHEDULE_TICK_SECONDS)


def stop_ticker(**_: Any) -> None:
    global _ticker
    with _lock:
        if _ticker is not None:
            _ticker.stop()
            _ticker = None

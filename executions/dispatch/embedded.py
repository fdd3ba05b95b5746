"""The in-process dispatcher: a thread pool plus a timer heap for work due later.

Used by ``make run`` and whenever ``MBFLOW_DISPATCHER=embedded``. Work is lost if the process
dies; the lease sweep (run here every ``MBFLOW_LEASE_SWEEP_SECONDS``) re-dispatches running nodes
whose lease ran out once the process is back.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from executions.dispatch.timers import TimerPump, waits_as_row
from executions.engine import runner
from executions.engine.ports import Dispatch

logger = logging.getLogger(__name__)


def perform(work: Dispatch) -> None:
    """Runs one piece of work here and now: what a worker does with a delivered task."""
    if work.kind == "node":
        runner.run_node(work.execution_id, work.node_id, work.attempt, work.prepared)
    elif work.kind == "expire":
        runner.expire(work.execution_id, work.attempt)
    elif work.kind == "advance":
        runner.advance(work.execution_id)
    elif work.kind == "time_out":
        runner.time_out(work.execution_id, work.node_id, work.attempt)
    else:
        raise ValueError(f"unknown work kind {work.kind!r}")


class EmbeddedDispatcher:
    name = "embedded"

    def __init__(self, workers: int | None = None) -> None:
        size = workers or int(getattr(settings, "MBFLOW_EMBEDDED_WORKERS", 16))
        self.pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="mbflow-worker")
        self._timers: list[tuple[datetime, int, Dispatch]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._timer = threading.Thread(target=self._run_timers, name="mbflow-timer", daemon=True)
        self._timer.start()
        # Nodes waiting for their time as rows (a delay, a wait_until) are resumed by the pump.
        self._pump = TimerPump().start() if settings.MBFLOW_TIMERS == "database" else None

    def dispatch_all(self, works: Sequence[Dispatch]) -> None:
        for work in works:
            self.dispatch(work)

    def dispatch(self, work: Dispatch) -> None:
        if self._pump is not None and waits_as_row(work):
            self._pump.wake()  # its row is its timer: the pump resumes it
            return
        if work.eta is not None and work.eta > timezone.now():
            with self._wake:
                heapq.heappush(self._timers, (work.eta, next(self._counter), work))
                self._wake.notify()
            return
        self.pool.submit(self._perform, work)

    @staticmethod
    def _perform(work: Dispatch) -> None:
        try:
            perform(work)
        except Exception:
            logger.exception("Embedded work %s failed", work)
        finally:
            close_old_connections()

    def _run_timers(self) -> None:
        last_sweep = timezone.now()
        while True:
            interval = float(settings.MBFLOW_LEASE_SWEEP_SECONDS)
            with self._wake:
                if self._closed:
                    return
                now = timezone.now()
                due: list[Dispatch] = []
                while self._timers and self._timers[0][0] <= now:
                    due.append(heapq.heappop(self._timers)[2])
                wait = (self._timers[0][0] - now).total_seconds() if self._timers else interval
                if not due:
                    self._wake.wait(timeout=min(max(wait, 0.0), interval))
            for work in due:
                self.pool.submit(self._perform, work)
            if (timezone.now() - last_sweep).total_seconds() >= interval:
                last_sweep = timezone.now()
                self.pool.submit(self._sweep)

    @staticmethod
    def _sweep() -> None:

        try:
            runner.sweep_expired_leases()
        except Exception:
            logger.exception("Lease sweep failed")
        finally:
            close_old_connections()

    def close(self) -> None:
        if self._pump is not None:
            self._pump.stop()
        with self._wake:
            self._closed = True
            self._wake.notify()
        # Each pool thread holds its own database connection: have every thread close its own
        # (the barrier makes each take exactly one of these tasks) before the pool goes away.
        threads = len(self.pool._threads)
        if threads:
            barrier = threading.Barrier(threads)

            def close_connection() -> None:
                connections.close_all()
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=5)

            for _ in range(threads):
                self.pool.submit(close_connection)
        self.pool.shutdown(wait=True)

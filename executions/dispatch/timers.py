"""The timer pump: resumes the nodes that waited for their time, from their rows, in batches.

With ``MBFLOW_TIMERS=database`` (the default) a node waiting for its time (a ``delay``, a
``wait_until``, a retry's backoff, a limit's turn) is not sent anywhere: its row (pending or
retrying, ``scheduled_at``) is its timer. Each Celery worker process, and the embedded
dispatcher, runs one pump: a thread that reads the next due time and sleeps until then (at most
``MBFLOW_TIMER_POLL_SECONDS``); when something is due, up to ``MBFLOW_TIMER_THREADS`` drainers
each claim ``MBFLOW_TIMER_BATCH`` due nodes at a time and resume them in one transaction
(``executions.engine.timers.resume_due``). A drainer that found a full batch calls in another;
the pumps of other processes take other executions (``SKIP LOCKED``).

A step that schedules a node in a process with a pump wakes that pump (``wake``), which reads
the new due time at once. A process without one (the web process, with Celery workers) sends
nothing for a time at least ``MBFLOW_TIMER_MESSAGE_SECONDS`` ahead - some pump reads it within
its poll period, long before it is due - and for a closer one a timed ``wake_timers`` message,
whose worker resumes what is due then (the node itself is still claimed from its row, so the
message and a pump never both run it).

So 10,000 parked runs are 10,000 rows: no broker message, no worker memory, no thread; and
10,000 coming due together cost a few hundred transactions, not 10,000 messages and 20,000
transactions.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from executions.engine import timers
from executions.engine.ports import Dispatch

logger = logging.getLogger(__name__)

# After the first due time, the pump waits this much longer, so rows coming due one by one
# (hundreds a second) are taken several per batch rather than one per claim.
GATHER = 0.02
# An execution whose resumption raised is passed over this long (it stays due; the lease sweep
# also sends it again as a message once a lease late).
FAILED_PAUSE = 30.0


def waits_as_row(work: Dispatch) -> bool:
    """Whether ``work`` is a node waiting for its time that waits as its row only: no timed
    message, no in-memory timer; a pump resumes it."""
    return work.kind == "node" and work.eta is not None and settings.MBFLOW_TIMERS == "database"


def near(work: Dispatch) -> bool:
    """Whether its time is too close for a pump that was not woken to be sure to see it in time."""
    return work.eta is not None and \
        (work.eta - timezone.now()).total_seconds() < settings.MBFLOW_TIMER_MESSAGE_SECONDS


class TimerPump:
    """One process's pump (see the module). ``start`` it once; ``stop`` waits for its drainers."""

    def __init__(self, *, threads: int | None = None, batch: int | None = None, poll: float | None = None) -> None:
        # Each drainer holds a pooled connection while it works: at most half the pool.
        self.threads = threads or max(1, min(settings.MBFLOW_TIMER_THREADS, settings.DB_MAX_CONNECTIONS // 2))
        self.batch = batch or settings.MBFLOW_TIMER_BATCH
        self.poll = poll or settings.MBFLOW_TIMER_POLL_SECONDS
        self.resumed = 0  # nodes this pump claimed and resumed
        # Paused (the worker's ``mbflow_timer_pump`` control command): it looks for nothing.
        self.paused = False
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="mbflow-timer")
        self._lock = threading.Lock()
        self._active = 0
        self._idle = threading.Event()
        self._idle.set()
        self._woken = threading.Event()
        self._stopped = threading.Event()
        self._progress = False
        self._unreachable = False
        # Executions passed over until a monotonic time: their resumption failed, or a worker's
        # delivery of a lost attempt's call is on its way (``Resumed.handed``).
        self._passed: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="mbflow-timer-pump", daemon=True)

    def start(self) -> TimerPump:
        self._thread.start()
        return self

    def wake(self) -> None:
        """A node was scheduled (committed): read the next due time again now."""
        self._woken.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopped.set()
        self._woken.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._idle.wait(timeout)
        self._pool.shutdown(wait=True)

    # --- the pump thread -----------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        self._woken.wait(max(seconds, 0.0))
        self._woken.clear()

    def _run(self) -> None:
        while not self._stopped.is_set():
            if settings.MBFLOW_TIMERS != "database" or self.paused:
                self._sleep(self.poll)
                continue
            try:
                due = self._next_due()
            except Exception:
                # Logged once until it works again (the database is down: every poll fails).
                log = logger.debug if self._unreachable else logger.exception
                log("The timer pump cannot read the next due time")
                self._unreachable = True
                self._sleep(self.poll)
                continue
            self._unreachable = False
            now = timezone.now()
            if due is None or due > now:
                self._sleep(self.poll if due is None else min(self.poll, (due - now).total_seconds() + GATHER))
                continue
            self._progress = False
            self._call_drainer()
            # Until the drainers ran dry; then look again (more may have come due meanwhile).
            while not self._idle.wait(self.poll):
                if self._stopped.is_set():
                    return
            if not self._progress:
                # Due, but nothing could be taken: held by steps in progress, or failing.
                self._stopped.wait(self.poll)

    def _next_due(self) -> datetime | None:
        try:
            return timers.next_due(self._passed_over())
        finally:
            connection.close()  # this thread mostly sleeps: no pooled connection held meanwhile

    # --- drainers ----------------------------------------------------------------------------
    def _call_drainer(self) -> bool:
        with self._lock:
            if self._active >= self.threads or self._stopped.is_set():
                return False
            self._active += 1
            self._idle.clear()
        try:
            self._pool.submit(self._drain)
        except RuntimeError:  # the pool is shut down
            self._drained()
            return False
        return True

    def _drained(self) -> None:
        with self._lock:
            self._active -= 1
            if not self._active:
                self._idle.set()

    def _drain(self) -> None:
        try:
            while not self._stopped.is_set() and not self.paused:
                try:
                    done = timers.resume_due(self.batch, self._passed_over())
                except Exception:
                    logger.exception("Resuming due timers failed")
                    return
                now = time.monotonic()
                with self._lock:
                    self.resumed += done.resumed
                    self._progress = self._progress or done.resumed > 0
                    for execution_id in done.failed:
                        self._passed[execution_id] = now + FAILED_PAUSE
                    for execution_id in done.handed:
                        self._passed[execution_id] = now + settings.MBFLOW_LEASE_SECONDS
                if done.claimed < self.batch:
                    return
                self._call_drainer()  # a full batch: more are due, another drainer joins in
        finally:
            close_old_connections()
            connection.close()
            self._drained()

    def _passed_over(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            for execution_id in [key for key, until in self._passed.items() if until <= now]:
                del self._passed[execution_id]
            return list(self._passed)


_pump: TimerPump | None = None
_pump_lock = threading.Lock()
_paused = False


def pause_pump(paused: bool) -> bool:
    """Pauses or resumes this process's pump (also one started later); whether one runs."""
    global _paused
    with _pump_lock:
        _paused = paused
        if _pump is not None:
            _pump.paused = paused
        return _pump is not None


def start_pump() -> TimerPump | None:
    """Starts this process's pump (a Celery worker's, at start); None when timers are messages."""
    global _pump
    if settings.MBFLOW_TIMERS != "database":
        return None
    with _pump_lock:
        if _pump is None:
            _pump = TimerPump()
            _pump.paused = _paused
            _pump.start()
        return _pump


def process_pump() -> TimerPump | None:
    """The pump this process started, if any."""
    return _pump


def stop_pump() -> None:
    global _pump
    with _pump_lock:
        pump, _pump = _pump, None
    if pump is not None:
        pump.stop()

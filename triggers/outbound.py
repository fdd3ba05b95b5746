"""Outbound webhooks in motion: hears of the engine's committed events (a listener on its port,
added by ``triggers.apps``), records the deliveries they owe, and hands them to a sender.

The listener runs in the thread that ran the step, after its commit: it costs a dictionary
look-up for events no webhook hears of (most of them), and for a wanted one an insert of the
delivery rows; the POST itself happens elsewhere. The sender is Celery (``mbflow.deliver_webhook``
tasks; beat sends ``mbflow.sweep_webhook_deliveries``) when ``MBFLOW_DISPATCHER`` is ``celery``,
else a pool of threads in this process with a timer for retries, whose sweep the web server starts
(``start_sweeping`` on the ASGI lifespan). Either way a delivery left pending by a process that
died is sent by the sweep.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import connections
from django.utils import timezone

from executions.dispatch.celery import configure_broker
from executions.engine.projection import Event
from triggers.services.deliveries import do_attempt_delivery, do_record_deliveries, due_deliveries, hand_on
from triggers.tasks import send_deliveries

logger = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, ids: Sequence[Any]) -> None:
        """Attempts these deliveries soon (retries are the sender's business)."""


class CelerySender:
    def __init__(self) -> None:
        configure_broker()  # the broker the engine's tasks go to (REDIS_URL without CELERY_BROKER_URL)

    def send(self, ids: Sequence[Any]) -> None:
        send_deliveries(ids)


class EmbeddedSender:
    """Threads of this process that send deliveries, a timer that sends retries when due, and
    (once ``sweep_every`` is set) a sweep of deliveries left pending."""

    def __init__(self, workers: int = 4) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mbflow-webhook")
        self._timers: list[tuple[datetime, int, Any]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self.sweep_every: float | None = None
        self._timer = threading.Thread(target=self._run_timers, name="mbflow-webhook-timer", daemon=True)
        self._timer.start()

    def send(self, ids: Sequence[Any]) -> None:
        for delivery_id in ids:
            self.pool.submit(self._attempt, delivery_id)

    def send_at(self, delivery_id: Any, when: datetime) -> None:
        with self._wake:
            heapq.heappush(self._timers, (when, next(self._counter), delivery_id))
            self._wake.notify()

    def start_sweeping(self, every: float) -> None:
        with self._wake:
            self.sweep_every = every
            self._wake.notify()

    def sweep(self) -> int:
        due = due_deliveries()
        self.send(due)
        return len(due)

    def _attempt(self, delivery_id: Any) -> None:
        try:
            outcome = do_attempt_delivery(delivery_id)
            if outcome is not None and outcome.retry_at is not None:
                self.send_at(delivery_id, outcome.retry_at)
        except Exception:
            logger.exception("Delivery %s failed", delivery_id)
        finally:
            connections.close_all()  # this thread's: deliveries are few, and a pool thread may idle long

    def _run_timers(self) -> None:
        last_sweep = timezone.now()
        while True:
            with self._wake:
                if self._closed:
                    return
                now = timezone.now()
                due = []
                while self._timers and self._timers[0][0] <= now:
                    due.append(heapq.heappop(self._timers)[2])
                if not due:
                    waits = [(self._timers[0][0] - now).total_seconds()] if self._timers else []
                    if self.sweep_every is not None:
                        waits.append(self.sweep_every - (now - last_sweep).total_seconds())
                    self._wake.wait(timeout=max(min(waits, default=60.0), 0.0))
            self.send(due)
            if self.sweep_every is not None and (timezone.now() - last_sweep).total_seconds() >= self.sweep_every:
                last_sweep = timezone.now()
                self.pool.submit(self._sweep)

    def _sweep(self) -> None:
        try:
            self.sweep()
        except Exception:
            logger.exception("The webhook delivery sweep failed")
        finally:
            connections.close_all()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self.pool.shutdown(wait=True)


_sender: Sender | None = None
_lock = threading.Lock()


def sender() -> Sender:
    """This process's sender, made on first use."""
    global _sender
    if _sender is None:
        with _lock:
            if _sender is None:
                _sender = CelerySender() if settings.MBFLOW_DISPATCHER == "celery" else EmbeddedSender()
    return _sender


def use_sender(chosen: Sender | None) -> None:
    """Chooses this process's sender (tests); None: the default again, made on next use."""
    global _sender
    with _lock:
        _sender = chosen


def send(ids: Sequence[Any]) -> None:
    """What ``services.deliveries.hand_on`` calls (wired by ``triggers.apps``)."""
    sender().send(ids)


def on_execution_events(tenant_id: Any, execution_id: Any, events: Sequence[Event], version_id: int | None) -> None:
    """The engine's event listener: records what the tenant's webhooks are owed, hands it on."""
    hand_on(do_record_deliveries(tenant_id, execution_id, events))


def start_sweeping(**_: Any) -> None:
    """server_started: an embedded server sweeps deliveries left pending (beat does otherwise)."""
    chosen = sender()
    if isinstance(chosen, EmbeddedSender):
        chosen.start_sweeping(float(settings.MBFLOW_LEASE_SWEEP_SECONDS))

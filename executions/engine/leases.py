"""How a worker holds the nodes it runs: a short lease in each node's row, kept alive by a
heartbeat, so that a worker that died is noticed soon whatever the node's timeout.

An attempt the orchestrator starts for a worker queue gets a long lease (``NodePolicy.
lease_seconds``): it may wait that long in the broker's queue. The worker that claims it cuts
the lease to ``MBFLOW_LEASE_SECONDS``, and one heartbeat thread per process moves the leases of
every node running in the process, in one UPDATE, every third of that. A worker that dies stops
renewing: the lease sweep (every ``MBFLOW_LEASE_SWEEP_SECONDS``) finds its nodes within the
lease plus the sweep period and sends them to another worker.

The node's own timeout is the executor's to keep. A run that overstays it anyway (an executor
that ignores it) is held at most ``hold_limit`` (its timeout, or 300 s without one, plus the
lease): then its worker, alive, fails it with a timeout instead of renewing its lease, and the
node is not sent to another worker to hang the same way.

Like ``NodeRun.worker``, the lease in the row of a running node is not event-sourced: the
``node.started`` event records the lease the attempt started with, the row the current one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from executions.engine.plan import DEFAULT_LEASE_SECONDS
from executions.engine.store import renew_leases

logger = logging.getLogger(__name__)

Held = tuple[str, str, int]  # execution id, node id, attempt


def held_lease() -> datetime:
    """The lease of a node a worker holds, from now."""
    return timezone.now() + timedelta(seconds=settings.MBFLOW_LEASE_SECONDS)


def hold_limit(timeout: float | None) -> float:
    """How long a worker keeps renewing the lease of a node with this timeout."""
    return (timeout or DEFAULT_LEASE_SECONDS) + settings.MBFLOW_LEASE_SECONDS


@dataclass
class _Hold:
    until: float  # monotonic
    limit: float
    overran: Callable[[float], None] | None


class Heartbeat:
    """The nodes running in this process, and the one thread that renews their leases."""

    def __init__(self) -> None:
        self._held: dict[Held, _Hold] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, execution_id: str, node_id: str, attempt: int, timeout: float | None,
                overran: Callable[[float], None] | None = None) -> Iterator[None]:
        """Renews the attempt's lease while the block runs, up to its ``hold_limit``; past that,
        calls ``overran(limit)`` once (on the heartbeat's thread) and renews no more."""
        key = (execution_id, node_id, attempt)
        limit = hold_limit(timeout)
        with self._lock:
            self._held[key] = _Hold(time.monotonic() + limit, limit, overran)
            # Started on first use, and again in a process forked from one that had it.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mbflow-heartbeat", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(key, None)

    def held(self) -> list[Held]:
        now = time.monotonic()
        with self._lock:
            return [key for key, hold in self._held.items() if hold.until > now]

    def beat(self) -> int:
        """Renews the leases of the nodes held here now, and reports those that overran their
        limit; returns how many leases were moved."""
        now = time.monotonic()
        with self._lock:
            held = [key for key, hold in self._held.items() if hold.until > now]
            overran = [(hold.overran, hold.limit) for hold in self._held.values()
                       if hold.until <= now and hold.overran is not None]
            for hold in self._held.values():
                if hold.until <= now:
                    hold.overran = None
        if not held and not overran:
            return 0
        try:
            for report, limit in overran:
                try:
                    report(limit)
                except Exception:
                    logger.exception("Reporting a node that overran its time failed")
            return renew_leases(held, held_lease())
        finally:
            # Not kept between beats: a pooled connection goes back to the pool, and no
            # database is held open by a thread that mostly sleeps.
            connection.close()

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            # Ticks each second, so a changed lease setting takes effect within one.
            time.sleep(1.0)
            if time.monotonic() - last < settings.MBFLOW_LEASE_SECONDS / 3:
                continue
            last = time.monotonic()
            try:
                self.beat()
            except Exception:
                logger.exception("Renewing the leases of the running nodes failed")


heartbeat = Heartbeat()

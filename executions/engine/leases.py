"""How a worker holds the nodes it runs: a short lease in each node's row, kept alive by a
heartbeat, so that a worker that died is noticed soon whatever the node's timeout.

An attempt the orchestrator starts for a worker queue gets a long lease (``NodePolicy.
lease_seconds``): it may wait that long in the broker's queue. The worker that claims it cuts
the lease to ``MBFLOW_LEASE_SECONDS``, and one heartbeat thread per process moves the leases of
every node running in the process, in one UPDATE, every third of that. A worker that dies stops
renewing: the lease sweep (every ``MBFLOW_LEASE_SWEEP_SECONDS``) finds its nodes within the
lease plus the sweep period and sends them to another worker. The heartbeat keeps a node only up
to ``hold_limit_seconds`` of its timeout, as the single long lease did before, so a node that
hangs on a live worker is sent elsewhere too. The node's own timeout is the executor's to keep.

Like ``NodeRun.worker``, the lease in the row of a running node is not event-sourced: the
``node.started`` event records the lease the attempt started with, the row the current one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from executions.engine.plan import hold_limit_seconds
from executions.engine.store import renew_leases

logger = logging.getLogger(__name__)

Held = tuple[str, str, int]  # execution id, node id, attempt


def held_lease() -> datetime:
    """The lease of a node a worker holds, from now."""
    return timezone.now() + timedelta(seconds=settings.MBFLOW_LEASE_SECONDS)


class Heartbeat:
    """The nodes running in this process, and the one thread that renews their leases."""

    def __init__(self) -> None:
        self._held: dict[Held, float] = {}  # -> the monotonic time after which it is not renewed
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, execution_id: str, node_id: str, attempt: int, timeout: float | None) -> Iterator[None]:
        """Renews the attempt's lease while the block runs (up to its hold limit)."""
        key = (execution_id, node_id, attempt)
        with self._lock:
            self._held[key] = time.monotonic() + hold_limit_seconds(timeout)
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
            return [key for key, limit in self._held.items() if limit > now]

    def beat(self) -> int:
        """Renews the leases of the nodes held here now; returns how many were moved."""
        held = self.held()
        if not held:
            return 0
        try:
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

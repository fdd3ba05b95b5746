"""What the processes and services are doing now: Celery queue depths, database pool use and
live subscribers.

Pool use and open SSE streams belong to one process each. Every web server and Celery worker
process (with ``REDIS_URL``) writes a snapshot of its own to Redis every ``REPORT_SECONDS``,
kept ``3 × REPORT_SECONDS``; a scrape of any web process reads them all, so the figures cover
every live process whichever one answers (a process that stopped drops out when its snapshot
expires). Without Redis (the embedded mode's one process) the scrape reads its own process.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterable
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connections

from executions.dispatch.celery import configure_broker
from executions.live.streams import open_streams
from executions.live.watching import watch_key
from executions.services.waiting import redis_client
from mbflow_site.celery import QUEUES, app

logger = logging.getLogger(__name__)
REPORT_SECONDS = 10
_role = "web"
_reporter: threading.Event | None = None
_reporter_lock = threading.Lock()


def _snapshot_key(process: str) -> str:
    # Under the queue prefix, as the circuit breakers: installs sharing one Redis keep apart.
    return f"{settings.MBFLOW_QUEUE_PREFIX}:metrics:process:{process}"


def process_name() -> str:
    """host:pid (asked each time: a process forked after import has a pid of its own)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_snapshot() -> dict[str, Any]:
    """This process: its role, its database pool's figures (PostgreSQL), its open SSE streams."""
    snapshot: dict[str, Any] = {"process": process_name(), "role": _role, "sse_streams": open_streams()}
    pool = getattr(connections["default"], "pool", None) if settings.IS_POSTGRES else None
    if pool is not None:
        stats = pool.get_stats()
        snapshot["pool"] = {"size": stats.get("pool_size", 0), "idle": stats.get("pool_available", 0),
                            "max": stats.get("pool_max", 0), "waiting": stats.get("requests_waiting", 0)}
    return snapshot


def publish_snapshot() -> None:
    if settings.REDIS_URL:
        redis_client().set(_snapshot_key(process_name()), json.dumps(process_snapshot()), ex=3 * REPORT_SECONDS)


def process_snapshots() -> list[dict[str, Any]]:
    """The snapshot of every live process (this one's fresh), by process name."""
    mine = process_snapshot()
    if not settings.REDIS_URL:
        return [mine]
    client = redis_client()
    client.set(_snapshot_key(mine["process"]), json.dumps(mine), ex=3 * REPORT_SECONDS)
    keys = sorted(client.scan_iter(match=_snapshot_key("*"), count=1000))
    snapshots = [json.loads(value) for value in client.mget(keys) if value] if keys else []
    return sorted(snapshots, key=lambda snapshot: snapshot["process"])


def start_reporting(role: str, **kwargs: Any) -> None:
    """Receiver of ``server_started`` (web) and Celery's ``worker_ready``: writes this process's
    snapshot every ``REPORT_SECONDS`` from a daemon thread."""
    global _role, _reporter
    _role = role
    with _reporter_lock:
        if _reporter is not None or not settings.REDIS_URL:
            return
        _reporter = stop = threading.Event()

    def report() -> None:
        while not stop.wait(REPORT_SECONDS):
            try:
                publish_snapshot()
            except Exception:
                logger.warning("Could not write this process's metrics snapshot", exc_info=True)

    threading.Thread(target=report, name="mbflow-metrics-report", daemon=True).start()


def stop_reporting(**kwargs: Any) -> None:
    global _reporter
    with _reporter_lock:
        if _reporter is not None:
            _reporter.set()
            _reporter = None
    if settings.REDIS_URL:
        redis_client().delete(_snapshot_key(process_name()))


def websocket_subscriptions() -> int:
    """Live groups joined by WebSocket consumers: from the watch counts every process keeps in
    Redis (a process that died leaves its counts until they expire), or from the in-memory
    channel layer of this one process."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return sum(len(members) for members in layer.groups.values())
    if not settings.REDIS_URL:
        return 0
    client = redis_client()
    keys = list(client.scan_iter(match=watch_key("*"), count=1000))
    total = 0
    for start in range(0, len(keys), 1000):
        total += sum(max(0, int(value)) for value in client.mget(keys[start:start + 1000]) if value is not None)
    return total


def queue_depths(queues: Iterable[str] = QUEUES.values()) -> dict[str, int]:
    """Messages waiting in each Celery queue of this install (not those a worker holds)."""
    configure_broker()
    depths = {}
    with app.connection_for_read() as broker:
        broker.ensure_connection(max_retries=1)
        for name in queues:
            channel = broker.channel()
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except broker.channel_errors:
                depths[name] = 0  # not declared yet: nothing was sent to it
            finally:
                try:
                    channel.close()
                except broker.connection_errors + broker.channel_errors:
                    pass  # AMQP closed it already, refusing the unknown queue
    return depths

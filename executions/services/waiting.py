"""Waiting for an execution to finish (``wait`` on start): woken by the publisher in this
process, by a Redis notification from a worker process, or by polling as a last resort."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

from executions.engine.store import release_connection
from executions.models import Execution
from mbflow_site.turns import stepped_aside

TERMINAL = ("succeeded", "failed", "cancelled")
# How often a waiter subscribed to finish notices re-reads the status anyway.
PUBSUB_POLL = 1.0
_waiters: dict[str, list[threading.Event]] = {}
_lock = threading.Lock()


def _channel(execution_id: str) -> str:
    return f"mbflow:finished:{execution_id}"


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """This process's client of REDIS_URL (finish notices, live watch counts)."""
    return redis.Redis.from_url(settings.REDIS_URL)


@lru_cache(maxsize=1)
def _publisher() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="mbflow-finished")


def finished_notice(execution_id: str) -> tuple[str, bytes]:
    """The Redis channel and message that wake the waiters of other processes."""
    return _channel(execution_id), b"1"


def _publish(execution_id: str) -> None:
    with contextlib.suppress(Exception):  # a lost notification only costs the waiter a poll
        redis_client().publish(*finished_notice(execution_id))


def notify_finished(execution_id: str, *, remote: bool = True) -> None:
    """Wakes the waiters of this process at once, and those of other processes through Redis
    (sent from a background thread: the step that finished the execution does not wait for it).
    ``remote=False``: the caller sends ``finished_notice`` itself (the live publisher does, in
    the round trip that reads the watch counts)."""
    with _lock:
        for event in _waiters.get(execution_id, []):
            event.set()
    if remote and settings.REDIS_URL:
        _publisher().submit(_publish, execution_id)


def _status(execution_id: str) -> str | None:
    return next(iter(Execution.objects.filter(pk=execution_id).order_by().values_list("status", flat=True)), None)


def wait_for_finish(execution_id: str, timeout: float) -> bool:
    """True when the execution finished within ``timeout`` seconds. A request lets others run
    meanwhile (``stepped_aside``)."""
    with stepped_aside():
        return _wait_for_finish(str(execution_id), timeout)


def _wait_for_finish(execution_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    event = threading.Event()
    with _lock:
        _waiters.setdefault(execution_id, []).append(event)
    pubsub = None
    try:
        if settings.REDIS_URL:
            pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(_channel(execution_id))
        poll = 0.02
        while True:
            # Checked after subscribing, so a finish between the two is not missed.
            if _status(execution_id) in TERMINAL:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            release_connection()  # the workers that finish the execution draw from the same pool
            if pubsub is not None:
                # A notice is sent after the finishing step committed: it needs no re-read. The
                # status is re-read only in case a notice was lost.
                if pubsub.get_message(timeout=min(PUBSUB_POLL, remaining)) is not None:
                    return True
            elif event.wait(min(poll, remaining)):
                continue
            poll = min(poll * 2, 0.25)
    finally:
        with _lock:
            listeners = _waiters.get(execution_id, [])
            if event in listeners:
                listeners.remove(event)
            if not listeners:
                _waiters.pop(execution_id, None)
        if pubsub is not None:
            pubsub.close()

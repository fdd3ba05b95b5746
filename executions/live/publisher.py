"""The one sender of live messages. Called after a step's transaction commits.

Sending must not slow the engine down, so messages are queued and a background thread with
its own event loop hands them to the channel layer in order. The in-memory layer only reaches
consumers of this process, whose loop registered itself with ``bind_loop``; messages go
straight into that loop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from executions.engine.projection import EXECUTION_TERMINAL, Event
from executions.live.messages import EventsMessage, LiveEvent, execution_group, tenant_group
from executions.live.watching import watched_groups
from executions.services import waiting

logger = logging.getLogger(__name__)
_bound_loop: asyncio.AbstractEventLoop | None = None
# (groups, message, the id of the execution the message finishes or "")
_queue: queue.SimpleQueue[tuple[tuple[str, ...], EventsMessage, str]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _bound_loop
    _bound_loop = loop


def live_event(execution_id: Any, event: Event) -> LiveEvent:
    return {"execution_id": str(execution_id), "seq": event.seq, "type": event.type, "node_id": event.node_id,
            "payload": event.payload, "time": event.time.isoformat()}


def publish_events(tenant_id: Any, execution_id: Any, events: Sequence[Event]) -> None:
    if not events:
        return
    message: EventsMessage = {
        "type": "execution.events",
        "execution_id": str(execution_id),
        "events": [live_event(execution_id, event) for event in events],
    }
    layer = get_channel_layer()
    groups = (execution_group(execution_id), tenant_group(tenant_id))
    finished = any(event.type.startswith("execution.") and event.type.split(".", 1)[1] in EXECUTION_TERMINAL
                   for event in events)
    queued = False
    if isinstance(layer, InMemoryChannelLayer):
        for group in groups:
            _send_in_memory(layer, group, message)
    elif layer is not None:
        _ensure_thread()
        _queue.put((groups, message, str(execution_id) if finished else ""))
        queued = True
    if finished:
        # The sender thread sends the notice for other processes with its read of the watch counts.
        waiting.notify_finished(str(execution_id), remote=not queued)


def _send_in_memory(layer: InMemoryChannelLayer, group: str, message: EventsMessage) -> None:
    loop = _bound_loop
    if loop is None or loop.is_closed():
        return  # nobody in this process listens
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.create_task(layer.group_send(group, message))
    else:
        asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)


def _ensure_thread() -> None:
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run_sender, name="mbflow-live-publisher", daemon=True)
            _thread.start()


def _run_sender() -> None:
    # A plain blocking get, not run_in_executor: an executor thread blocked on the queue would
    # keep the interpreter from exiting.
    loop = asyncio.new_event_loop()
    layer = get_channel_layer()
    while True:
        groups, message, finished = _queue.get()
        # One Redis round trip: the watch counts of both groups, and the finish notice.
        notices = [waiting.finished_notice(finished)] if finished else []
        for group in watched_groups(groups, publish=notices):
            try:
                loop.run_until_complete(layer.group_send(group, message))
            except Exception:
                logger.exception("Could not publish a live message to %s", group)

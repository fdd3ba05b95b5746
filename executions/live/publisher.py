"""The one sender of live messages. Called after a step's transaction commits.

Sending must not slow the engine down, so a step's events are queued and a background thread
with its own event loop hands them to the channel layer in order. It takes what is queued in
batches: one Redis round trip reads the watch counts of a batch's groups (``watching``) and
sends its finish notices, and a message is made only for a group someone watches (most
executions are watched by nobody: under 20 clients starting chains of 40, making every
message and a round trip per step was 8% of the web process's CPU). The in-memory layer only
reaches consumers of this process, whose loop registered itself with ``bind_loop``; messages go
straight into that loop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from executions.engine.projection import EXECUTION_TERMINAL, Event
from executions.live.messages import EventsMessage, LiveEvent, execution_group, tenant_group
from executions.live.watching import watched_groups
from executions.services import waiting

logger = logging.getLogger(__name__)
# How many queued steps the sender reads the watch counts of in one Redis round trip.
SENDER_BATCH = 64
_bound_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A committed step's events, for the sender thread to send where they are watched."""

    groups: tuple[str, ...]
    execution_id: str
    events: tuple[Event, ...]
    finished: bool  # the step finished the execution: its waiters elsewhere get a notice


_queue: queue.SimpleQueue[_Outgoing] = queue.SimpleQueue()


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _bound_loop
    _bound_loop = loop


def live_event(execution_id: Any, event: Event) -> LiveEvent:
    return {"execution_id": str(execution_id), "seq": event.seq, "type": event.type, "node_id": event.node_id,
            "payload": event.payload, "time": event.time.isoformat()}


def events_message(execution_id: str, events: Sequence[Event]) -> EventsMessage:
    return {"type": "execution.events", "execution_id": execution_id,
            "events": [live_event(execution_id, event) for event in events]}


def publish_events(tenant_id: Any, execution_id: Any, events: Sequence[Event]) -> None:
    if not events:
        return
    layer = get_channel_layer()
    groups = (execution_group(execution_id), tenant_group(tenant_id))
    finished = any(event.type.startswith("execution.") and event.type.split(".", 1)[1] in EXECUTION_TERMINAL
                   for event in events)
    queued = False
    if isinstance(layer, InMemoryChannelLayer):
        message = events_message(str(execution_id), events)
        for group in groups:
            _send_in_memory(layer, group, message)
    elif layer is not None:
        # The message is made by the sender thread, and only when someone watches (most
        # executions are watched by nobody).
        _ensure_thread()
        _queue.put(_Outgoing(groups, str(execution_id), tuple(events), finished))
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
        batch = [_queue.get()]
        while len(batch) < SENDER_BATCH:
            try:
                batch.append(_queue.get_nowait())
            except queue.Empty:
                break
        _send(loop, layer, batch)


def _send(loop: asyncio.AbstractEventLoop, layer: Any, batch: list[_Outgoing]) -> None:
    """Sends a batch of steps' events, in order, to the groups watched. One Redis round trip for
    the batch: the watch counts of its groups, and the finish notices of its executions."""
    groups = list(dict.fromkeys(group for outgoing in batch for group in outgoing.groups))
    notices = [waiting.finished_notice(outgoing.execution_id) for outgoing in batch if outgoing.finished]
    watched = set(watched_groups(groups, publish=notices))
    for outgoing in batch:
        targets = [group for group in outgoing.groups if group in watched]
        if not targets:
            continue
        message = events_message(outgoing.execution_id, outgoing.events)
        for group in targets:
            try:
                loop.run_until_complete(layer.group_send(group, message))
            except Exception:
                logger.exception("Could not publish a live message to %s", group)

"""Server-sent events of one execution: the same events as the WebSocket, read from the log."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request

from executions.api.serializers import event_data
from executions.live import streams
from executions.models import Execution, ExecutionEvent
from executions.services.executions import get_execution
from workflows.api.base import AnyAcceptNegotiation, TenantView, without_operator_hints
from workflows.models import Role

POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0
ENDED = (None, "succeeded", "failed", "cancelled")  # None: the execution is gone (deleted)

def _events(execution_id: str, after_seq: int) -> list[ExecutionEvent]:
    return list(ExecutionEvent.objects.filter(execution_id=execution_id, seq__gt=after_seq).order_by("seq")[:500])


def _read(execution_id: str, after_seq: int) -> tuple[list[ExecutionEvent], str | None]:
    """The next events after ``after_seq``, and the execution's status when there are none."""
    events = _events(execution_id, after_seq)
    if events:
        return events, None
    status = Execution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
    if status in ENDED:
        # It may have ended between the two reads: its last events were committed with its status
        # (or before), so they are read again rather than the stream ending without them.
        events = _events(execution_id, after_seq)
        if events:
            return events, None
    return [], status


async def event_stream(execution_id: str, after_seq: int, operator: bool = False) -> AsyncIterator[str]:
    """An async iterator: under ASGI, Django sends each part as it comes (it collects a sync
    iterator whole before sending any of it). Each read borrows a pooled connection and gives it
    back, so an open stream holds none while it waits; a client that goes away cancels the wait.
    Operator hints in the events' payloads reach an ``operator`` (an admin) only, as in the API."""
    read = database_sync_to_async(_read)
    streams.opened(+1)
    try:
        yield "retry: 2000\n\n"
        started = last_write = time.monotonic()
        while time.monotonic() - started < MAX_STREAM_SECONDS:
            events, status = await read(execution_id, after_seq)
            for event in events:
                after_seq = event.seq
                data = event_data(event) if operator else without_operator_hints(event_data(event))
                yield f"id: {event.seq}\nevent: {event.type}\ndata: {json.dumps(data)}\n\n"
                last_write = time.monotonic()
            if not events:
                if status in ENDED:
                    yield "event: end\ndata: {}\n\n"
                    return
                if time.monotonic() - last_write > KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    last_write = time.monotonic()
                await asyncio.sleep(POLL_SECONDS)
    finally:
        streams.opened(-1)


class ExecutionStreamView(TenantView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(parameters=[OpenApiParameter("after_seq", int)], responses={(200, "text/event-stream"):
                                                                                 OpenApiTypes.STR})
    def get(self, request: Request, execution_id: str) -> StreamingHttpResponse:
        execution = get_execution(self.caller().tenant, execution_id)
        raw = request.query_params.get("after_seq") or request.headers.get("Last-Event-ID") or "0"
        after_seq = int(raw) if raw.isdigit() else 0
        response = StreamingHttpResponse(event_stream(str(execution.pk), after_seq, self.caller().can(Role.ADMIN)),
                                         content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

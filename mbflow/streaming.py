"""An execution's live events over Server-Sent Events, resumed from the last ``seq`` seen.

The server sends each event of the log once, in ``seq`` order, then ``end`` when the execution
has ended. A connection that breaks (or a 503) is opened again with ``after_seq`` set to the
last event received, so nothing is missed and nothing comes twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

from mbflow.errors import ApiError
from mbflow.models import Event
from mbflow.transport import RetryPolicy, raise_for_error, unreachable

# The server writes a keep-alive every 15 s when nothing happens: a read waits longer than that.
READ_TIMEOUT = 45.0


def _path(execution_id: str) -> str:
    return f"/executions/{execution_id}/stream"


def _request(last_seq: int) -> dict[str, Any]:
    return {"params": {"after_seq": last_seq}, "headers": {"Last-Event-ID": str(last_seq),
                                                           "Accept": "text/event-stream"},
            "timeout": httpx.Timeout(10.0, read=READ_TIMEOUT)}


def _event(sse: ServerSentEvent, last_seq: int) -> Event | None:
    """The log event an SSE message carries, or None for a message that is not one (the
    ``retry`` hint) or one already seen."""
    if not sse.data or sse.event == "end":
        return None
    event = Event.model_validate_json(sse.data)
    return event if event.seq > last_seq else None


class _Resume:
    """Counts the failed tries since the last event and decides how long to wait before the next."""

    def __init__(self, retry: RetryPolicy, url: str) -> None:
        self.retry, self.url, self.failures = retry, url, 0

    def progressed(self) -> None:
        self.failures = 0

    def delay_after(self, exc: Exception) -> float:
        self.failures += 1
        if isinstance(exc, ApiError):
            if exc.status not in self.retry.statuses or self.failures >= self.retry.attempts:
                raise exc
            if exc.retry_after is not None:
                return exc.retry_after
        elif self.failures >= self.retry.attempts:
            assert isinstance(exc, httpx.TransportError)
            raise unreachable(self.url, exc) from exc
        return float(min(self.retry.max_delay, self.retry.backoff * 2 ** (self.failures - 1)))


def stream_events(http: httpx.Client, execution_id: str, after_seq: int, retry: RetryPolicy) -> Iterator[Event]:
    last = after_seq
    resume = _Resume(retry, str(http.base_url))
    while True:
        try:
            with connect_sse(http, "GET", _path(execution_id), **_request(last)) as source:
                if source.response.status_code >= 400:
                    source.response.read()
                    raise_for_error(source.response)
                for sse in source.iter_sse():
                    if sse.event == "end":
                        return
                    event = _event(sse, last)
                    if event is not None:
                        last = event.seq
                        resume.progressed()
                        yield event
        except (httpx.TransportError, ApiError) as exc:
            time.sleep(resume.delay_after(exc))


async def astream_events(http: httpx.AsyncClient, execution_id: str, after_seq: int, retry: RetryPolicy
                         ) -> AsyncIterator[Event]:
    last = after_seq
    resume = _Resume(retry, str(http.base_url))
    while True:
        try:
            async with aconnect_sse(http, "GET", _path(execution_id), **_request(last)) as source:
                if source.response.status_code >= 400:
                    await source.response.aread()
                    raise_for_error(source.response)
                async for sse in source.aiter_sse():
                    if sse.event == "end":
                        return
                    event = _event(sse, last)
                    if event is not None:
                        last = event.seq
                        resume.progressed()
                        yield event
        except (httpx.TransportError, ApiError) as exc:
            await asyncio.sleep(resume.delay_after(exc))

"""WebSocket consumers: one execution (``/ws/executions/{id}/``) or the whole tenant
(``/ws/executions/``). Authenticated by the session (the user and the session's tenant) or
an API key (``?api_key=``, ``X-API-Key`` or ``Authorization: Bearer``); always tenant-scoped.

A client may send ``{"after_seq": n}`` (or connect with ``?after_seq=n``) to first receive
the events it missed, read from the log; live events then follow without duplicates.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from executions.live import watching
from executions.live.messages import EventsMessage, LiveEvent, execution_group, tenant_group
from executions.live.publisher import bind_loop
from executions.models import Execution, ExecutionEvent
from workflows.public import Caller, caller_for_key, caller_for_session_user
from workflows.tenancy import SESSION_TENANT_KEY

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
REPLAY_LIMIT = 5000


def _api_key(scope: dict[str, Any], query: dict[str, list[str]]) -> str | None:
    if query.get("api_key"):
        return query["api_key"][0]
    headers = {name.decode().lower(): value.decode() for name, value in scope.get("headers", [])}
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


@database_sync_to_async
def _caller(scope: dict[str, Any], raw_key: str | None) -> Caller | None:
    if raw_key:
        return caller_for_key(raw_key)
    session = scope.get("session")
    tenant_id = session.get(SESSION_TENANT_KEY) if session is not None else None
    return caller_for_session_user(scope.get("user"), tenant_id)


@database_sync_to_async
def _owned(execution_id: str, tenant_id: Any) -> bool:
    try:
        return Execution.objects.filter(pk=execution_id, tenant_id=tenant_id).exists()
    except Exception:  # not a UUID
        return False


@database_sync_to_async
def _missed(tenant_id: Any, execution_id: str | None, after_seq: int) -> list[LiveEvent]:
    events = ExecutionEvent.objects.filter(execution__tenant_id=tenant_id, seq__gt=after_seq)
    if execution_id:
        events = events.filter(execution_id=execution_id)
    return [
        {"execution_id": str(e.execution_id), "seq": e.seq, "type": e.type, "node_id": e.node_id,
         "payload": e.payload, "time": e.time.isoformat()}
        for e in events.order_by("time", "seq")[:REPLAY_LIMIT]
    ]


class ExecutionEventsConsumer(AsyncJsonWebsocketConsumer):
    groups: list[str] = []

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        caller = await _caller(self.scope, _api_key(self.scope, query))
        if caller is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.tenant_id = caller.tenant.pk
        self.execution_id: str | None = self.scope["url_route"]["kwargs"].get("execution_id")
        self.sent: dict[str, int] = {}
        if self.execution_id and not await _owned(self.execution_id, self.tenant_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        group = execution_group(self.execution_id) if self.execution_id else tenant_group(self.tenant_id)
        bind_loop(asyncio.get_running_loop())
        if watching.counted():
            await sync_to_async(watching.watch)(group)  # counted in before joining: see watching
        self.joined = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        after = query.get("after_seq", [None])[0]
        if after is not None and after.isdigit():
            await self._replay(int(after))

    async def disconnect(self, code: int) -> None:
        joined = getattr(self, "joined", None)
        if joined:
            await self.channel_layer.group_discard(joined, self.channel_name)
            if watching.counted():
                await sync_to_async(watching.unwatch)(joined)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("after_seq"), int):
            await self._replay(content["after_seq"])
        else:
            await self.send_json({"type": "error", "message": 'Send {"after_seq": n} to receive missed events.'})

    async def _replay(self, after_seq: int) -> None:
        for event in await _missed(self.tenant_id, self.execution_id, after_seq):
            await self._send_event(event)

    async def _send_event(self, event: LiveEvent) -> None:
        execution_id = event["execution_id"]
        if event["seq"] <= self.sent.get(execution_id, 0):
            return  # already sent (a replay and a live message overlapped)
        self.sent[execution_id] = event["seq"]
        await self.send_json({"type": "event", "event": event["type"], "execution_id": execution_id,
                              "seq": event["seq"], "node_id": event["node_id"], "payload": event["payload"],
                              "time": event["time"]})

    async def execution_events(self, message: EventsMessage) -> None:
        for event in message["events"]:
            await self._send_event(event)

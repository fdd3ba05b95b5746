"""WebSocket consumers: one execution (``/ws/executions/{id}/``) or the whole tenant
(``/ws/executions/``). Authenticated by the session (the user and the session's tenant) or
an API key (``?api_key=``, ``X-API-Key`` or ``Authorization: Bearer``); always tenant-scoped.

A client catches up on what it missed, read from the log; live events then follow without
duplicates. On an execution's socket it sends ``{"after_seq": n}`` (or connects with
``?after_seq=n``): ``seq`` counts the events of one execution. On the tenant's feed, where each
execution has its own ``seq``, it sends ``{"after": {"<execution id>": seq, ...}}`` for the
executions it has seen and/or ``{"since": "<ISO time>"}`` (or ``?since=``) for the events of
the others since then (the newest ``REPLAY_LIMIT``).

A browser's socket, authenticated by its session cookie, must come from a page of this site:
its ``Origin`` must be one of ``ALLOWED_HOSTS`` (a socket opened with an API key may come from
anywhere).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.request import validate_host
from django.utils.dateparse import parse_datetime

from executions.live import watching
from executions.live.messages import EventsMessage, LiveEvent, execution_group, tenant_group
from executions.live.publisher import bind_loop
from executions.models import Execution, ExecutionEvent
from workflows.api.base import without_operator_hints
from workflows.models import Role
from workflows.public import Caller, caller_for_key, caller_for_session_user
from workflows.tenancy import SESSION_TENANT_KEY

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
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


def _live(e: ExecutionEvent) -> LiveEvent:
    return {"execution_id": str(e.execution_id), "seq": e.seq, "type": e.type, "node_id": e.node_id,
            "payload": e.payload, "time": e.time.isoformat()}


@database_sync_to_async
def _missed(tenant_id: Any, execution_id: str, after_seq: int) -> list[LiveEvent]:
    """One execution's events after ``after_seq``, in order (the first ``REPLAY_LIMIT``: a
    client asks again from the last one it got)."""
    events = ExecutionEvent.objects.filter(execution__tenant_id=tenant_id, execution_id=execution_id,
                                           seq__gt=after_seq)
    return [_live(e) for e in events.order_by("seq")[:REPLAY_LIMIT]]


@database_sync_to_async
def _missed_by_tenant(tenant_id: Any, after: dict[str, int], since: datetime | None) -> list[LiveEvent]:
    """The tenant's events after each ``after[execution id]``, and those of its other executions
    since ``since`` (the newest ``REPLAY_LIMIT``), each execution's in ``seq`` order."""
    missed: list[LiveEvent] = []
    for execution_id, seq in after.items():
        events = ExecutionEvent.objects.filter(execution__tenant_id=tenant_id, execution_id=execution_id,
                                               seq__gt=seq)
        missed.extend(_live(e) for e in events.order_by("seq")[:REPLAY_LIMIT])
    if since is not None:
        recent = (ExecutionEvent.objects.filter(execution__tenant_id=tenant_id, time__gt=since)
                  .exclude(execution_id__in=list(after)).order_by("-time", "-seq")[:REPLAY_LIMIT])
        missed.extend(sorted((_live(e) for e in recent), key=lambda event: (event["time"], event["seq"])))
    return missed


def _read_after(raw: Any) -> dict[str, int] | None:
    """``{"<execution id>": seq}`` with valid ids and counts, or None."""
    if not isinstance(raw, dict):
        return None
    after: dict[str, int] = {}
    for key, seq in raw.items():
        try:
            execution_id = str(uuid.UUID(str(key)))
        except ValueError:
            return None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            return None
        after[execution_id] = seq
    return after


def _read_since(raw: Any) -> datetime | None:
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _origin_allowed(scope: dict[str, Any]) -> bool:
    """A missing ``Origin`` (not a browser) or one whose host is in ``ALLOWED_HOSTS``."""
    for name, value in scope.get("headers", []):
        if name == b"origin":
            host = urlparse(value.decode("latin1")).hostname
            return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)
    return True


class ExecutionEventsConsumer(AsyncJsonWebsocketConsumer):
    groups: list[str] = []

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        raw_key = _api_key(self.scope, query)
        if raw_key is None and not _origin_allowed(self.scope):
            await self.close(code=CLOSE_FORBIDDEN_ORIGIN)
            return
        caller = await _caller(self.scope, raw_key)
        if caller is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.tenant_id = caller.tenant.pk
        self.operator = caller.can(Role.ADMIN)  # operator hints in payloads reach admins only, as in the API
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
        if self.execution_id and after is not None and after.isdigit():
            await self._replay(int(after))
        since = query.get("since", [None])[0]
        if not self.execution_id and since is not None:
            await self.receive_json({"since": since})

    async def disconnect(self, code: int) -> None:
        joined = getattr(self, "joined", None)
        if joined:
            await self.channel_layer.group_discard(joined, self.channel_name)
            if watching.counted():
                await sync_to_async(watching.unwatch)(joined)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        content = content if isinstance(content, dict) else {}
        if self.execution_id:
            after_seq = content.get("after_seq")
            if isinstance(after_seq, int) and not isinstance(after_seq, bool):
                await self._replay(after_seq)
            else:
                await self.send_json({"type": "error", "message": 'Send {"after_seq": n} to receive missed events.'})
            return
        after = _read_after(content.get("after", {}))
        since = _read_since(content["since"]) if "since" in content else None
        if after is None or ("since" in content and since is None) or not ({"after", "since"} & set(content)):
            await self.send_json({"type": "error", "message": (
                'On the tenant feed send {"after": {"<execution id>": seq}} and/or {"since": "<ISO time>"} '
                "to receive missed events: seq counts the events of each execution.")})
            return
        for event in await _missed_by_tenant(self.tenant_id, after, since):
            await self._send_event(event)

    async def _replay(self, after_seq: int) -> None:
        assert self.execution_id is not None
        for event in await _missed(self.tenant_id, self.execution_id, after_seq):
            await self._send_event(event)

    async def _send_event(self, event: LiveEvent) -> None:
        execution_id = event["execution_id"]
        if event["seq"] <= self.sent.get(execution_id, 0):
            return  # already sent (a replay and a live message overlapped)
        self.sent[execution_id] = event["seq"]
        payload = event["payload"] if self.operator else without_operator_hints(event["payload"])
        await self.send_json({"type": "event", "event": event["type"], "execution_id": execution_id,
                              "seq": event["seq"], "node_id": event["node_id"], "payload": payload,
                              "time": event["time"]})

    async def execution_events(self, message: EventsMessage) -> None:
        for event in message["events"]:
            await self._send_event(event)

"""The messages sent to live clients (WebSocket and SSE). One shape, one sender (publisher)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class LiveEvent(TypedDict):
    execution_id: str
    seq: int
    type: str
    node_id: str
    payload: dict[str, Any]
    time: str


class EventsMessage(TypedDict):
    """What the channel layer carries to a consumer: the events of one committed step."""

    type: Literal["execution.events"]
    execution_id: str
    events: list[LiveEvent]


def execution_group(execution_id: Any) -> str:
    return f"mbflow.execution.{execution_id}"


def tenant_group(tenant_id: Any) -> str:
    return f"mbflow.tenant.{tenant_id}"

"""A blocked address tells the person reading the run what happened, not which server setting to
change: that hint is in the error's details.operator_hint, which the API answers to admins only."""

from __future__ import annotations

import json
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import connections
from rest_framework.test import APIClient

from mbflow_site.asgi import application
from tests.executions.conftest import Run, Store, doc, steps
from tests.factories import make_key
from workflows.api.base import without_operator_hints
from workflows.models import Role, Tenant


def test_the_operator_hint_of_a_blocked_address_reaches_admins_only(embedded: object, store: Store, run: Run,
                                                                     editor: APIClient, viewer: APIClient,
                                                                     admin_client: APIClient, tenant: Tenant) -> None:
    store(doc("blocked", """
  nodes:
    - {id: call, type: http, config: {url: "http://10.255.255.1/internal"}, retry: {max_attempts: 1}}
"""))
    execution = run("blocked")
    assert execution["status"] == "failed"
    for client in (editor, viewer):
        seen = client.get(f"/api/v1/executions/{execution['id']}").json()
        error = steps(seen)["call"]["error"]
        assert error["code"] == "ssrf_blocked"
        assert "10.255.255.1" in error["message"] and "Ask an administrator" in error["message"]
        assert "MBFLOW_HTTP_ALLOW_HOSTS" not in json.dumps(seen)
        assert "operator_hint" not in error.get("details", {})
        events = client.get(f"/api/v1/executions/{execution['id']}/events").json()
        assert "MBFLOW_HTTP_ALLOW_HOSTS" not in json.dumps(events)
        stream = b"".join(client.get(f"/api/v1/executions/{execution['id']}/stream")).decode()
        assert "event: node.failed" in stream and "MBFLOW_HTTP_ALLOW_HOSTS" not in stream
    admin_stream = b"".join(admin_client.get(f"/api/v1/executions/{execution['id']}/stream")).decode()
    assert "MBFLOW_HTTP_ALLOW_HOSTS" in admin_stream
    for role, shown in ((Role.VIEWER, False), (Role.EDITOR, False), (Role.ADMIN, True)):
        socket_events = _socket_replay(execution["id"], make_key(tenant, role)[1])
        assert any(event["event"] == "node.failed" for event in socket_events), socket_events
        assert ("MBFLOW_HTTP_ALLOW_HOSTS" in json.dumps(socket_events)) is shown, role
    seen = admin_client.get(f"/api/v1/executions/{execution['id']}").json()
    hint = steps(seen)["call"]["error"]["details"]["operator_hint"]
    assert "MBFLOW_HTTP_ALLOW_HOSTS" in hint
    assert "MBFLOW_HTTP_ALLOW_HOSTS" not in steps(seen)["call"]["error"]["message"]


def _socket_replay(execution_id: str, key: str) -> list[dict[str, Any]]:
    """The execution's events as its WebSocket replays them (after_seq=0) to the key's caller."""

    async def replay() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, f"/ws/executions/{execution_id}/?after_seq=0",
                                             headers=[(b"x-api-key", key.encode())])
        connected, _ = await communicator.connect()
        assert connected
        events = []
        while not events or events[-1]["event"] != "execution.failed":
            message = await communicator.receive_json_from(timeout=10)
            assert message["type"] == "event", message
            events.append(message)
        await communicator.disconnect()
        return events

    try:
        return async_to_sync(replay)()
    finally:
        connections.close_all()


def test_hints_are_removed_at_any_depth_and_an_answer_without_one_is_kept_as_it_is() -> None:
    hint = {"code": "blocked", "details": {"operator_hint": "set MBFLOW_HTTP_ALLOW_HOSTS", "host": "10.0.0.1"}}
    answer = {"steps": [{"id": "a", "output": {"n": 2**70}}, {"id": "b", "error": hint}],
              "copies": ({"operator_hint": "x", "kept": 1},), 7: "a key that is no string"}
    assert without_operator_hints(answer) == {
        "steps": [{"id": "a", "output": {"n": 2**70}},
                  {"id": "b", "error": {"code": "blocked", "details": {"host": "10.0.0.1"}}}],
        "copies": [{"kept": 1}], 7: "a key that is no string"}
    # A string that only mentions the key is no key; an answer without one is not rebuilt.
    plain = {"steps": [{"id": "a", "output": {"text": '"operator_hint": "in a string"', "at": uuid.uuid4()}}]}
    assert without_operator_hints(plain) is plain

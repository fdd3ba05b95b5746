"""HTTP through the ASGI application: one thread hop per request, streams on Django's own path."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.db import connections

from mbflow_site.asgi import application
from tests.factories import make_key
from workflows.models import Role, Tenant

pytestmark = [pytest.mark.django_db(transaction=True)]

FLOW = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: handler-flow}
spec:
  nodes:
    - {id: a, type: transform, config: {mapping: {n: "{{ input.n }}"}}}
"""


def scope(method: str, path: str, key: str, query: str = "", headers: tuple = ()) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"authorization", f"Bearer {key}".encode()), (b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}


async def call(method: str, path: str, key: str, body: bytes = b"", query: str = "",
               headers: tuple = ()) -> tuple[int, dict[bytes, bytes], bytes]:
    if body and not any(name == b"content-length" for name, _ in headers):
        headers = (*headers, (b"content-length", str(len(body)).encode()))
    communicator = ApplicationCommunicator(application, scope(method, path, key, query, headers))
    # The body in two parts, as a server may pass it on.
    await communicator.send_input({"type": "http.request", "body": body[:10], "more_body": True})
    await communicator.send_input({"type": "http.request", "body": body[10:], "more_body": False})
    start = await communicator.receive_output(10)
    chunks = []
    while True:
        message = await communicator.receive_output(10)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(5)
    return start["status"], dict(start["headers"]), b"".join(chunks)


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> Any:
    """The test's own async ORM calls run in asgiref's long-lived thread; close its connection afterwards."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def key() -> str:
    tenant = Tenant.objects.create(slug="handler", name="Handler")
    return make_key(tenant, Role.EDITOR)[1]


async def test_requests_are_answered_from_pooled_threads(key: str) -> None:
    status, headers, body = await call("POST", "/api/v1/workflows", key, FLOW.encode(),
                                       headers=((b"content-type", b"application/yaml"),))
    assert status == 201, body
    assert headers[b"Content-Type"] == b"application/json"
    status, _, body = await call("POST", "/api/v1/executions", key, json.dumps(
        {"workflow": "handler-flow", "input": {"n": 7}, "wait": 10}).encode(),
        headers=((b"content-type", b"application/json"),))
    assert status == 200 and json.loads(body)["steps"][0]["output"] == {"n": 7}, body
    # Requests run on the handler's own pool of named threads, which outlive them and are reused
    # (Django's handler started a new, unnamed thread for each request).
    before = {t.name for t in threading.enumerate() if t.name.startswith("mbflow-http")}
    answers = await asyncio.gather(*(call("GET", "/api/v1/workflows/handler-flow", key) for _ in range(20)))
    assert {status for status, _, _ in answers} == {200}
    assert {json.loads(body)["name"] for _, _, body in answers} == {"handler-flow"}
    after = {t.name for t in threading.enumerate() if t.name.startswith("mbflow-http")}
    assert before and before <= after and len(after) <= 20


async def test_what_the_first_requests_built_is_frozen_out_of_full_collections_once(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from mbflow_site import http_handler

    handler = application.application_mapping["http"]
    handler.served = itertools.count(1)
    monkeypatch.setattr(http_handler, "FREEZE_AFTER", 3)
    frozen: list[int] = []
    monkeypatch.setattr(http_handler.gc, "freeze", lambda: frozen.append(gc.get_freeze_count()))
    for _ in range(6):
        status, _, _ = await call("GET", "/api/v1/workflows", key)
        assert status == 200
    assert len(frozen) == 1  # at the third request, and only then


async def test_an_oversized_body_gets_the_error_envelope(key: str, settings: Any) -> None:
    settings.MBFLOW_MAX_BODY_BYTES = 1024
    status, _, body = await call("POST", "/api/v1/workflows", key, b"x" * 5000,
                                 headers=((b"content-type", b"application/yaml"), (b"content-length", b"5000")))
    assert status == 413
    assert json.loads(body)["error"]["code"]


async def test_an_sse_stream_is_sent_chunk_by_chunk_until_its_end(key: str) -> None:
    await call("POST", "/api/v1/workflows", key, FLOW.encode(), headers=((b"content-type", b"application/yaml"),))
    _, _, body = await call("POST", "/api/v1/executions", key, json.dumps(
        {"workflow": "handler-flow", "input": {"n": 1}, "wait": 10}).encode(),
        headers=((b"content-type", b"application/json"),))
    execution = json.loads(body)["id"]
    status, headers, text = await call("GET", f"/api/v1/executions/{execution}/stream", key)
    assert status == 200 and headers[b"Content-Type"] == b"text/event-stream"
    assert b"event: execution.succeeded" in text
    assert text.rstrip().endswith(b"event: end\ndata: {}")


async def test_a_stream_sends_each_event_as_it_comes_and_stops_when_the_client_goes_away(key: str) -> None:
    from django.utils import timezone

    from executions.models import Execution, ExecutionEvent
    from workflows.models import Workflow

    await call("POST", "/api/v1/workflows", key, FLOW.encode(), headers=((b"content-type", b"application/yaml"),))
    workflow = await Workflow.objects.aget(name="handler-flow")
    running = await Execution.objects.acreate(tenant_id=workflow.tenant_id, workflow=workflow,
                                              version_id=workflow.active_version_id, status="running")
    communicator = ApplicationCommunicator(application, scope("GET", f"/api/v1/executions/{running.pk}/stream", key))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert (await communicator.receive_output(10))["status"] == 200
    assert b"retry:" in (await communicator.receive_output(10))["body"]
    # The execution is still running: an event written now reaches the client now, not at the end.
    await ExecutionEvent.objects.acreate(execution=running, seq=1, type="node.started", node_id="a",
                                         time=timezone.now())
    message = await communicator.receive_output(10)
    assert b"event: node.started" in message["body"] and message["more_body"]
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(5)  # the application returns: the stream was stopped

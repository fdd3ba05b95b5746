"""GET /executions/{id}/stream as EventSource and curl call it: with ``Accept: text/event-stream``."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.executions.conftest import Run, Store
from tests.executions.test_engine_basics import CHAIN

EVENT_STREAM = "text/event-stream"


def test_a_client_accepting_only_event_streams_gets_the_stream(embedded: object, store: Store, run: Run,
                                                               editor: APIClient) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    response = editor.get(f"/api/v1/executions/{execution['id']}/stream", HTTP_ACCEPT=EVENT_STREAM)
    assert response.status_code == 200
    assert response["Content-Type"] == EVENT_STREAM
    text = b"".join(response).decode()  # the test client collects the async stream
    assert "event: execution.started" in text
    assert "event: execution.succeeded" in text
    assert text.rstrip().endswith("event: end\ndata: {}")


def test_a_browser_accept_header_and_none_get_the_stream_too(embedded: object, store: Store, run: Run,
                                                             editor: APIClient) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    for accept in ("text/event-stream, */*;q=0.1", "text/html,application/xhtml+xml", None):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = editor.get(f"/api/v1/executions/{execution['id']}/stream?after_seq=2", **headers)
        assert response.status_code == 200, accept
        assert "event: execution.succeeded" in b"".join(response).decode()


def test_errors_of_the_stream_are_the_json_envelope_whatever_is_accepted(embedded: object, store: Store,
                                                                         run: Run, outsider: APIClient) -> None:
    store(CHAIN)
    execution = run("chain", {"n": 1})
    hidden = outsider.get(f"/api/v1/executions/{execution['id']}/stream", HTTP_ACCEPT=EVENT_STREAM)
    assert hidden.status_code == 404
    assert hidden["Content-Type"] == "application/json"
    assert hidden.json()["error"]["code"] == "not_found"
    anonymous = APIClient().get(f"/api/v1/executions/{execution['id']}/stream", HTTP_ACCEPT=EVENT_STREAM)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"]

"""Tracing: with an OTLP endpoint set, a run's spans reach a real local OTLP/HTTP receiver: the
request's span continuing the caller's ``traceparent``, the execution's trace (its id the
execution's) linked both ways with it, a span per node attempt with its retries, waits and
errors, and the attempt's ``traceparent`` on its outbound HTTP call. Off (the default), none of
it happens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.dispatch.embedded import EmbeddedDispatcher
from monitoring.models import TraceStart
from monitoring.tracing import provider
from monitoring.tracing.ids import attempt_span_id, execution_span_id
from tests.executions.conftest import Store, doc
from tests.executions.servers import LocalServer
from tests.monitoring.otlp import OtlpReceiver

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
OK, ERROR = 1, 2  # OTLP status codes
SERVER = 2  # OTLP span kind

TRACED = """
  nodes:
    - {id: call, type: http, config: {url: "@url/echo?key=traced-call-@tag"}}
    - id: flaky
      type: http
      config: {url: "@url/flaky?fail=1&key=traced-@tag"}
      retry: {max_attempts: 3, backoff: fixed, initial_delay: 0.1s, jitter: false}
    - {id: ask, type: approval}
  edges:
    - {from: call, to: flaky}
    - {from: flaky, to: ask}
"""


@pytest.fixture
def otlp(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """Tracing on, exporting to a local receiver (as OTEL_EXPORTER_OTLP_ENDPOINT says), in batches
    sent every 50 ms."""
    receiver = OtlpReceiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "mbflow-test")
    provider.start_tracing()
    yield receiver
    provider.stop_tracing()
    receiver.close()


def wait_for_status(client: APIClient, execution_id: str, done: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/executions/{execution_id}").json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def named(name: str) -> Any:
    return lambda span: span["name"] == name


def test_a_run_is_one_trace_linked_to_the_request_that_started_it(
        otlp: OtlpReceiver, embedded: EmbeddedDispatcher, store: Store, editor: APIClient,
        http_server: LocalServer) -> None:
    tag = str(time.monotonic_ns())
    store(doc("traced", TRACED.replace("@url", http_server.url).replace("@tag", tag)))
    started = editor.post("/api/v1/executions", {"workflow": "traced", "input": {}}, format="json",
                          HTTP_TRACEPARENT=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")
    assert started.status_code in (200, 201, 202), started.json()
    execution_id = started.json()["id"]
    wait_for_status(editor, execution_id, lambda body: any(
        step["node_id"] == "ask" and step["status"] == "waiting" for step in body["steps"]))
    decided = editor.post(f"/api/v1/executions/{execution_id}/signals", {"node_id": "ask", "decision": "approved"},
                          format="json")
    assert decided.status_code == 200, decided.json()
    wait_for_status(editor, execution_id, lambda body: body["status"] == "succeeded")

    trace_id = execution_id.replace("-", "")
    root_id = f"{execution_span_id(execution_id):016x}"
    [root] = otlp.wait_for(lambda span: span["span_id"] == root_id)
    assert (root["trace_id"], root["parent_span_id"], root["status"]) == (trace_id, "", OK)
    assert root["name"] == "execution traced" and root["service"] == "mbflow-test"
    assert root["attributes"]["mbflow.execution.id"] == execution_id
    assert root["attributes"]["mbflow.execution.status"] == "succeeded"
    assert root["attributes"]["mbflow.trigger"] == "api"

    # The request's span continues the caller's trace; the span that started the run is its child,
    # linked to the run's trace, and the run's span links back to it.
    [request] = otlp.wait_for(lambda span: span["kind"] == SERVER and span["attributes"].get("url.path") ==
                              "/api/v1/executions")
    assert (request["trace_id"], request["parent_span_id"]) == (CALLER_TRACE, CALLER_SPAN)
    assert request["attributes"]["http.response.status_code"] in (200, 201, 202)
    [start] = otlp.wait_for(named("start traced"))
    assert (start["trace_id"], start["parent_span_id"]) == (CALLER_TRACE, request["span_id"])
    assert [(link["trace_id"], link["span_id"]) for link in start["links"]] == [(trace_id, root_id)]
    assert [(link["trace_id"], link["span_id"]) for link in root["links"]] == [(CALLER_TRACE, start["span_id"])]

    # A span per attempt, children of the run's span, with the id the attempt's call carried.
    attempts = {span["name"]: span for span in otlp.wait_for(
        lambda span: span["trace_id"] == trace_id and span["parent_span_id"] == root_id, count=4)}
    assert set(attempts) == {"call #1", "flaky #1", "flaky #2", "ask #1"}
    [call] = [request for request in http_server.requests if request["query"].get("key") == f"traced-call-{tag}"]
    assert call["headers"]["traceparent"] == f"00-{trace_id}-{attempts['call #1']['span_id']}-01"
    assert attempts["call #1"]["span_id"] == f"{attempt_span_id(execution_id, 'call', 1):016x}"
    first, second = attempts["flaky #1"], attempts["flaky #2"]
    assert (first["status"], first["attributes"]["mbflow.node.outcome"]) == (ERROR, "retrying")
    assert "http_status: HTTP 503" in first["status_message"]
    assert [event["name"] for event in first["events"]] == ["exception", "retry scheduled"]
    assert (second["status"], second["attributes"]["mbflow.node.attempt"]) == (OK, 2)
    assert second["start"] >= first["end"]
    flaky_calls = [r for r in http_server.requests if r["query"].get("key") == f"traced-{tag}"]
    assert [r["headers"]["traceparent"].split("-")[2] for r in flaky_calls] == [first["span_id"], second["span_id"]]
    asked = attempts["ask #1"]
    assert [event["name"] for event in asked["events"]] == ["node.waiting"]
    assert asked["attributes"]["mbflow.node.type"] == "approval"
    assert all(span["start"] >= root["start"] and span["end"] <= root["end"] for span in attempts.values())

    shown = editor.get(f"/api/v1/executions/{execution_id}/trace").json()
    assert (shown["enabled"], shown["trace_id"], shown["span_id"]) == (True, trace_id, root_id)


def test_a_webhook_call_continues_the_callers_trace(otlp: OtlpReceiver, embedded: EmbeddedDispatcher, store: Store,
                                                    editor: APIClient) -> None:
    workflow = store(doc("hooked", "  nodes: [{id: only, type: noop}]\n  triggers: [{type: webhook}]\n"))
    url = editor.get(f"/api/v1/workflows/{workflow['id']}/triggers").json()["results"][0]["webhook"]["url"]
    answer = APIClient().post(url.replace("http://testserver", ""), {"n": 1}, format="json",
                              HTTP_TRACEPARENT=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")
    assert answer.status_code == 202, answer.json()
    execution_id = answer.json()["execution_id"]
    [start] = otlp.wait_for(named("start hooked"))
    [hook] = otlp.wait_for(lambda span: span["span_id"] == start["parent_span_id"])
    assert (hook["trace_id"], hook["parent_span_id"], hook["kind"]) == (CALLER_TRACE, CALLER_SPAN, SERVER)
    assert hook["attributes"]["url.path"].startswith("/hooks/")
    [root] = otlp.wait_for(named("execution hooked"))
    assert root["trace_id"] == execution_id.replace("-", "")
    assert root["attributes"]["mbflow.trigger"] == "webhook"
    assert [link["span_id"] for link in root["links"]] == [start["span_id"]]


def test_a_failed_node_and_a_failed_run_carry_their_error(otlp: OtlpReceiver, embedded: EmbeddedDispatcher,
                                                          store: Store, editor: APIClient) -> None:
    store(doc("breaks", "  nodes: [{id: boom, type: fail, config: {message: it broke}}]\n"))
    execution = editor.post("/api/v1/executions", {"workflow": "breaks", "wait": 20}, format="json").json()
    assert execution["status"] == "failed"
    [root] = otlp.wait_for(named("execution breaks"))
    [boom] = otlp.wait_for(named("boom #1"))
    assert (root["status"], boom["status"], boom["parent_span_id"]) == (ERROR, ERROR, root["span_id"])
    assert "it broke" in boom["status_message"] and "it broke" in root["status_message"]
    # Started without a request span around it (no traceparent, but a request): still a start span.
    [start] = otlp.wait_for(named("start breaks"))
    assert start["links"][0]["trace_id"] == root["trace_id"]


def test_off_by_default_nothing_is_traced_or_sent(embedded: EmbeddedDispatcher, store: Store, editor: APIClient,
                                                  http_server: LocalServer) -> None:
    assert not provider.tracing_on() and provider.tracer() is None
    key = f"quiet-{time.monotonic_ns()}"
    store(doc("quiet", f"  nodes: [{{id: call, type: http, config: {{url: \"{http_server.url}/echo?key={key}\"}}}}]\n"))
    execution = editor.post("/api/v1/executions", {"workflow": "quiet", "wait": 20}, format="json",
                            HTTP_TRACEPARENT=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01").json()
    assert execution["status"] == "succeeded"
    [call] = [request for request in http_server.requests if request["query"].get("key") == key]
    assert "traceparent" not in call["headers"]
    assert TraceStart.objects.count() == 0
    shown = editor.get(f"/api/v1/executions/{execution['id']}/trace").json()
    assert (shown["enabled"], shown["trace_id"]) == (False, execution["id"].replace("-", ""))


def test_the_trace_of_another_tenants_run_is_not_found(embedded: EmbeddedDispatcher, store: Store, editor: APIClient,
                                                       outsider: APIClient) -> None:
    store(doc("mine", "  nodes: [{id: only, type: noop}]\n"))
    execution = editor.post("/api/v1/executions", {"workflow": "mine", "wait": 20}, format="json").json()
    assert outsider.get(f"/api/v1/executions/{execution['id']}/trace").status_code == 404
    assert editor.get("/api/v1/executions/not-an-id/trace").status_code == 404


def test_a_trace_viewer_url_links_the_trace_id(embedded: EmbeddedDispatcher, store: Store, editor: APIClient,
                                               settings: Any) -> None:
    """MBFLOW_TRACE_URL: the trace id filled into the viewer's URL (null when unset)."""
    store(doc("viewed", "  nodes: [{id: only, type: noop}]\n"))
    execution = editor.post("/api/v1/executions", {"workflow": "viewed", "wait": 20}, format="json").json()
    trace_id = execution["id"].replace("-", "")
    assert editor.get(f"/api/v1/executions/{execution['id']}/trace").json()["url"] is None
    settings.MBFLOW_TRACE_URL = "http://jaeger.example:16686/trace/{trace_id}"
    shown = editor.get(f"/api/v1/executions/{execution['id']}/trace").json()
    assert shown["url"] == f"http://jaeger.example:16686/trace/{trace_id}"
    assert shown["traceparent"] == f"00-{trace_id}-{shown['span_id']}-01"

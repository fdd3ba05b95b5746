"""Control of a run: pause and resume, retry a failed execution in place, replay from a node
with an edited input, re-run with a new input."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
from rest_framework.test import APIClient

from executions.models import Execution, ExecutionEvent
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def _events(execution_id: str, node_id: str | None = None) -> list[str]:
    events = ExecutionEvent.objects.filter(execution_id=execution_id).order_by("seq")
    if node_id is not None:
        events = events.filter(node_id=node_id)
    return list(events.values_list("type", flat=True))


def _until(editor: APIClient, execution_id: str, check: Any) -> dict[str, Any]:
    """The execution once ``check(execution)`` holds (polled through the API)."""
    for _ in range(600):
        execution = editor.get(f"/api/v1/executions/{execution_id}").json()
        if check(execution):
            return execution
        threading.Event().wait(0.05)
    raise AssertionError(f"never reached: {execution}")


def test_a_paused_execution_finishes_what_runs_and_starts_nothing_until_resumed(
        dispatcher: str, store: Store, editor: APIClient, http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("pausable", f"""
  nodes:
    - {{id: hold, type: http, config: {{url: "{http_server.url}/gather?key={key}&n=2&timeout=30"}}}}
    - {{id: next, type: transform, config: {{mapping: {{done: true}}}}}}
  edges:
    - {{from: hold, to: next}}
"""))
    started = editor.post("/api/v1/executions", {"workflow": "pausable", "input": {}}, format="json").json()
    execution_id = started["id"]
    _until(editor, execution_id, lambda e: steps(e)["hold"]["status"] == "running")
    paused = editor.post(f"/api/v1/executions/{execution_id}/pause")
    assert paused.status_code == 200, paused.json()
    assert paused.json()["status"] == "paused"
    # Let the held call answer: its outcome is recorded, and nothing after it starts.
    httpx.get(f"{http_server.url}/gather?key={key}&n=2&timeout=30", timeout=30)
    after = _until(editor, execution_id, lambda e: steps(e)["hold"]["status"] == "succeeded")
    assert after["status"] == "paused"
    assert steps(after)["next"]["status"] == "pending"
    assert editor.post(f"/api/v1/executions/{execution_id}/pause").json()["error"]["code"] == "not_running"
    resumed = editor.post(f"/api/v1/executions/{execution_id}/resume")
    assert resumed.status_code == 200
    done = _until(editor, execution_id, lambda e: e["status"] in ("succeeded", "failed"))
    assert done["status"] == "succeeded", done["error"]
    assert steps(done)["next"]["output"] == {"done": True}
    assert {"execution.paused", "execution.resumed"} <= set(_events(execution_id))
    again = editor.post(f"/api/v1/executions/{execution_id}/resume")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_paused"


def test_retry_goes_on_from_the_failed_node_and_reuses_the_others(dispatcher: str, store: Store, run: Run,
                                                                  editor: APIClient,
                                                                  http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("retryable", f"""
  nodes:
    - {{id: first, type: http, config: {{url: "{http_server.url}/echo?key={key}-first"}}}}
    - id: flaky
      type: http
      retry: {{max_attempts: 2, initial_delay: 0.05s}}
      config: {{url: "{http_server.url}/flaky?fail=2&key={key}"}}
    - {{id: last, type: transform, config: {{mapping: {{hit: "{{{{ nodes.flaky.output.body.hit }}}}"}}}}}}
  edges:
    - {{from: first, to: flaky}}
    - {{from: flaky, to: last}}
"""))
    failed = run("retryable")
    assert failed["status"] == "failed"
    assert steps(failed)["flaky"]["attempt"] == 2
    assert steps(failed)["last"]["status"] == "cancelled"
    retried = editor.post(f"/api/v1/executions/{failed['id']}/retry?wait=30")
    assert retried.status_code == 200, retried.json()
    execution = retried.json()
    assert execution["status"] == "succeeded", execution["error"]
    by_node = steps(execution)
    assert by_node["flaky"]["attempt"] == 3  # a new attempt, after the two of the first run
    assert by_node["last"]["output"] == {"hit": 3}
    assert by_node["first"]["attempt"] == 1  # not run again
    assert sum(1 for r in http_server.requests if r["query"].get("key") == f"{key}-first") == 1
    assert "execution.retried" in _events(failed["id"])
    assert editor.post(f"/api/v1/executions/{failed['id']}/retry").json()["error"]["code"] == "not_failed"


def test_replay_from_a_node_with_an_edited_input_reuses_what_came_before(dispatcher: str, store: Store,
                                                                        run: Run, editor: APIClient,
                                                                        http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("replayable", f"""
  nodes:
    - {{id: fetch, type: http, config: {{url: "{http_server.url}/echo?key={key}"}}}}
    - {{id: divide, type: transform, config: {{mapping: {{value: "{{{{ 10 / (input.x - 1) }}}}"}}}}}}
    - {{id: report, type: transform, config: {{mapping: {{value: "{{{{ nodes.divide.output.value }}}}",
                                               fetched: "{{{{ nodes.fetch.output.body.query.key }}}}"}}}}}}
  edges:
    - {{from: fetch, to: divide}}
    - {{from: divide, to: report}}
"""))
    failed = run("replayable", {"x": 1})
    assert failed["status"] == "failed"
    assert steps(failed)["divide"]["error"]["code"] == "expression_error"
    answer = editor.post(f"/api/v1/executions/{failed['id']}/replay",
                         {"from": "divide", "input": {"x": 3}, "wait": 30}, format="json")
    assert answer.status_code == 200, answer.json()
    replay = answer.json()
    assert replay["status"] == "succeeded", replay["error"]
    assert replay["replay_of"] == failed["id"]
    assert replay["input"] == {"x": 3}
    by_node = steps(replay)
    assert by_node["fetch"]["reused_from"] == failed["id"] and by_node["fetch"]["attempt"] == 0
    assert by_node["report"]["output"] == {"value": 5.0, "fetched": key}
    assert sum(1 for r in http_server.requests if r["query"].get("key") == key) == 1  # fetch did not run again
    assert "node.reused" in _events(replay["id"], "fetch")
    bad = editor.post(f"/api/v1/executions/{failed['id']}/replay", {"from": "nope"}, format="json")
    assert bad.status_code == 400 and "from" in bad.json()["error"]["details"]["fields"]


def test_rerun_takes_a_new_input(embedded: Any, store: Store, run: Run, editor: APIClient) -> None:
    store(doc("rerunnable", """
  nodes:
    - {id: echo, type: transform, config: {mapping: {x: "{{ input.x }}"}}}
"""))
    first = run("rerunnable", {"x": 1})
    same = editor.post(f"/api/v1/executions/{first['id']}/rerun", {"wait": 20}, format="json").json()
    edited = editor.post(f"/api/v1/executions/{first['id']}/rerun", {"input": {"x": 2}, "wait": 20},
                         format="json").json()
    assert steps(same)["echo"]["output"] == {"x": 1}
    assert steps(edited)["echo"]["output"] == {"x": 2}


def test_a_workflow_timeout_with_ignore_is_recorded_and_the_run_goes_on(embedded: Any, store: Store, run: Run,
                                                                      http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    store(doc("patient", f"""
  timeout: 0.2s
  timeout_action: ignore
  nodes:
    - {{id: hold, type: http, config: {{url: "{http_server.url}/gather?key={key}&n=2&timeout=30"}}}}
"""))
    started = run("patient", wait=0)
    for _ in range(600):  # the timeout's event is written; the run is still going
        if "execution.timeout_passed" in _events(started["id"]):
            break
        threading.Event().wait(0.05)
    assert Execution.objects.get(pk=started["id"]).status == "running"
    httpx.get(f"{http_server.url}/gather?key={key}&n=2&timeout=30", timeout=30)
    for _ in range(600):
        if Execution.objects.get(pk=started["id"]).status == "succeeded":
            break
        threading.Event().wait(0.05)
    assert Execution.objects.get(pk=started["id"]).status == "succeeded"


def test_an_http_node_keeps_the_urls_own_query_when_it_adds_query(embedded: Any, store: Store, run: Run,
                                                                 http_server: LocalServer) -> None:
    store(doc("both-queries", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/echo?a=1&b=2", query: {{b: 3, c: 4}}}}}}
"""))
    execution = run("both-queries")
    assert steps(execution)["call"]["output"]["body"]["query"] == {"a": "1", "b": "3", "c": "4"}

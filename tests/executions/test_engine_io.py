"""I/O nodes on workers: parallel waves, retries, timeouts, fallbacks, cancel, under both dispatchers."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.test import APIClient

from executions.engine.step import MESSAGE_CONFIG_LIMIT
from tests.executions.conftest import WORKER_THREADS, Run, Store, doc, steps
from tests.executions.servers import LocalServer


def fan_out(url: str, count: int = 10) -> str:
    nodes = "\n".join(
        f"    - {{id: call{i}, type: http, config: {{url: \"{url}/sleep?ms=200&n={i}\"}}}}" for i in range(count)
    )
    edges = "\n".join(f"    - {{from: call{i}, to: join}}" for i in range(count))
    return doc("fan-out", f"""
  nodes:
{nodes}
    - {{id: join, type: merge, config: {{strategy: list}}}}
  edges:
{edges}
  output: "{{{{ nodes.join.output | length }}}}"
""")


def test_ten_slow_http_nodes_run_in_parallel(dispatcher: str, messages: list[Any], store: Store, run: Run,
                                             http_server: LocalServer) -> None:
    store(fan_out(http_server.url))
    run("fan-out")  # warm the worker's connections and the plan cache
    started = time.monotonic()
    execution = run("fan-out")
    elapsed = time.monotonic() - started
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == 10
    assert elapsed < 2.0, f"10 parallel 200 ms calls took {elapsed:.2f}s"
    assert steps(execution)["call3"]["output"]["body"] == {"slept_ms": 200, "n": "3"}
    if dispatcher == "celery":  # each run's ten calls travelled in one message
        assert [[item[0] for item in args[1]] for args, _kwargs in messages] == [
            [f"call{i}" for i in range(10)]] * 2


def test_io_nodes_do_not_hold_a_pooled_connection_while_they_wait(dispatcher: str, store: Store, run: Run,
                                                                 http_server: LocalServer) -> None:
    """The Celery worker has twice as many threads as pooled connections; all its threads'
    requests must still be in flight at once (the server answers each only when all arrived)."""
    count = WORKER_THREADS
    nodes = "\n".join(f"    - {{id: call{i}, type: http, config: {{url: \"{http_server.url}/gather\", "
                      f"query: {{key: \"{{{{ execution.id }}}}\", n: {count}}}}}}}" for i in range(count))
    store(doc("together", f"""
  nodes:
{nodes}
"""))
    execution = run("together")
    assert execution["status"] == "succeeded", execution["error"]
    assert {step["output"]["body"]["together"] for step in execution["steps"]} == {True}


def test_a_node_sent_with_its_config_runs_from_it(dispatcher: str, messages: list[Any], store: Store, run: Run,
                                                  http_server: LocalServer) -> None:
    """A stateless node of a workflow without secrets travels with its rendered config, so the
    worker runs it without re-reading the execution; the result is the same."""
    store(doc("portable", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/echo", query: {{n: "{{{{ input.n }}}}"}}}}}}
  output: "{{{{ nodes.call.output.body.query.n }}}}"
"""))
    execution = run("portable", {"n": 7})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == "7"
    if dispatcher == "celery":
        [(args, kwargs)] = messages
        assert args[1:] == ("call", 1)
        assert kwargs["portable"]["config"]["query"] == {"n": 7}
        assert kwargs["portable"]["type"] == "http"


def test_a_config_too_large_for_a_message_is_read_by_the_worker(dispatcher: str, messages: list[Any], store: Store,
                                                                run: Run, http_server: LocalServer) -> None:
    store(doc("bulky", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/echo", method: POST, json: {{blob: "{{{{ input.blob }}}}"}}}}
  output: "{{{{ nodes.call.output.body.body.blob | length }}}}"
"""))
    execution = run("bulky", {"blob": "x" * (MESSAGE_CONFIG_LIMIT + 1)})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == MESSAGE_CONFIG_LIMIT + 1
    assert [kwargs for _args, kwargs in messages] == ([None] if dispatcher == "celery" else [])


def test_a_retryable_failure_is_retried_on_schedule(dispatcher: str, store: Store, run: Run,
                                                   http_server: LocalServer) -> None:
    key = f"retry-{dispatcher}-{time.monotonic_ns()}"
    store(doc("flaky", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/flaky?fail=2&key={key}"}}
      retry: {{max_attempts: 3, backoff: fixed, initial_delay: 100ms, jitter: false}}
  output: "{{{{ nodes.call.output.body }}}}"
"""))
    execution = run("flaky")
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == {"ok": True, "hit": 3}
    assert steps(execution)["call"]["attempt"] == 3


def test_a_permanent_failure_is_not_retried_and_fallback_output_replaces_it(
        dispatcher: str, store: Store, run: Run, http_server: LocalServer) -> None:
    store(doc("fallback", f"""
  nodes:
    - id: missing
      type: http
      config: {{url: "{http_server.url}/status/404"}}
      retry: {{max_attempts: 3, initial_delay: 10ms}}
      fallback_output: {{found: false}}
  output: "{{{{ nodes.missing.output }}}}"
"""))
    execution = run("fallback")
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"found": False}
    assert steps(execution)["missing"]["attempt"] == 1


def test_exhausted_retries_follow_the_failure_edge(dispatcher: str, store: Store, run: Run,
                                                  http_server: LocalServer) -> None:
    store(doc("exhausted", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/status/503"}}
      retry: {{max_attempts: 2, backoff: fixed, initial_delay: 50ms, jitter: false}}
    - {{id: alert, type: transform, config: {{mapping: {{status: "{{{{ nodes.call.error.details.status }}}}"}}}}}}
  edges:
    - {{from: call, to: alert, on: failure}}
  output: "{{{{ nodes.alert.output }}}}"
"""))
    execution = run("exhausted")
    by_node = steps(execution)
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == {"status": 503}
    assert (by_node["call"]["status"], by_node["call"]["attempt"]) == ("failed", 2)


def test_a_node_timeout_with_ignore_lets_the_flow_continue(dispatcher: str, store: Store, run: Run,
                                                          http_server: LocalServer) -> None:
    store(doc("slow", f"""
  nodes:
    - id: slow
      type: http
      timeout: 200ms
      timeout_action: ignore
      config: {{url: "{http_server.url}/sleep?ms=1500"}}
    - {{id: after, type: transform, config: {{mapping: {{done: true}}}}}}
  edges:
    - {{from: slow, to: after}}
  output: "{{{{ nodes.after.output }}}}"
"""))
    started = time.monotonic()
    execution = run("slow")
    assert execution["status"] == "succeeded", execution["error"]
    assert time.monotonic() - started < 1.4
    assert steps(execution)["slow"]["output"] is None


def test_a_node_timeout_fails_as_timed_out(dispatcher: str, store: Store, run: Run, http_server: LocalServer) -> None:
    store(doc("timeout", f"""
  nodes:
    - {{id: slow, type: http, timeout: 200ms, config: {{url: "{http_server.url}/sleep?ms=1500"}}}}
"""))
    execution = run("timeout")
    assert execution["status"] == "failed"
    assert steps(execution)["slow"]["status"] == "timed_out"
    assert steps(execution)["slow"]["error"]["code"] == "timeout"


def test_cancel_mid_run_cancels_the_open_nodes(dispatcher: str, store: Store, editor: APIClient,
                                              http_server: LocalServer) -> None:
    store(doc("long", f"""
  nodes:
    - {{id: wait, type: http, config: {{url: "{http_server.url}/sleep?ms=800"}}}}
    - {{id: later, type: noop}}
  edges:
    - {{from: wait, to: later}}
"""))
    started = editor.post("/api/v1/workflows/long/execute", {"input": {}}, format="json")
    assert started.status_code == 201
    execution_id = started.json()["id"]
    time.sleep(0.2)
    cancelled = editor.post(f"/api/v1/executions/{execution_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    time.sleep(1.0)  # the worker finishes its call; its late result must be dropped
    final = editor.get(f"/api/v1/executions/{execution_id}").json()
    assert final["status"] == "cancelled"
    assert {s["node_id"]: s["status"] for s in final["steps"]} == {"wait": "cancelled", "later": "cancelled"}
    again = editor.post(f"/api/v1/executions/{execution_id}/cancel")
    assert again.status_code == 409


def test_a_delay_node_is_scheduled_not_slept(dispatcher: str, store: Store, run: Run) -> None:
    store(doc("delayed", """
  nodes:
    - {id: pause, type: delay, config: {duration: 300ms}}
    - {id: after, type: noop}
  edges:
    - {from: pause, to: after}
  output: "{{ nodes.pause.output }}"
"""))
    started = time.monotonic()
    execution = run("delayed")
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"delayed": 0.3}
    assert time.monotonic() - started >= 0.29


def test_sub_workflows_run_as_child_executions(dispatcher: str, store: Store, run: Run, http_server: LocalServer
                                              ) -> None:
    store(doc("child", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/echo?x={{{{ input.x }}}}"}}}}
  output: {{x: "{{{{ nodes.call.output.body.query.x }}}}"}}
"""))
    store(doc("parent", """
  nodes:
    - {id: sub, type: sub_workflow, config: {workflow: child, input: {x: "{{ input.x }}"}}}
    - {id: fire, type: sub_workflow, config: {workflow: child, input: {x: forget}, wait: false}}
  output: "{{ nodes.sub.output }}"
"""))
    execution = run("parent", {"x": "42"})
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["output"] == {"x": "42"}
    assert steps(execution)["fire"]["output"]["execution_id"]


def test_an_onboarding_flow_routes_by_plan_and_merges(dispatcher: str, store: Store, run: Run,
                                                     http_server: LocalServer) -> None:
    store(doc("onboarding", f"""
  input_schema:
    type: object
    required: [email, plan]
    properties: {{email: {{type: string}}, plan: {{type: string}}}}
  nodes:
    - id: create_account
      type: http
      config: {{method: POST, url: "{http_server.url}/echo", json: {{email: "{{{{ input.email }}}}"}}}}
    - id: route
      type: switch
      config:
        value: "{{{{ input.plan }}}}"
        cases: [{{equals: enterprise, output: enterprise}}]
        default: self_serve
    - {{id: assign_manager, type: http, config: {{url: "{http_server.url}/echo?manager=1"}}}}
    - {{id: send_guide, type: http, config: {{url: "{http_server.url}/echo?guide=1"}}}}
    - {{id: welcome, type: merge, config: {{strategy: keyed}}}}
    - id: summary
      type: transform
      config:
        mapping:
          email: "{{{{ nodes.create_account.output.body.body.email }}}}"
          steps: "{{{{ upstream | list | sort }}}}"
  edges:
    - {{from: create_account, to: route}}
    - {{from: route, to: assign_manager, port: enterprise}}
    - {{from: route, to: send_guide, port: self_serve}}
    - {{from: assign_manager, to: welcome}}
    - {{from: send_guide, to: welcome}}
    - {{from: welcome, to: summary}}
  output: "{{{{ nodes.summary.output }}}}"
"""))
    enterprise = run("onboarding", {"email": "ceo@big.co", "plan": "enterprise"})
    assert enterprise["status"] == "succeeded", enterprise["error"]
    assert enterprise["output"] == {"email": "ceo@big.co", "steps": ["assign_manager"]}
    assert steps(enterprise)["send_guide"]["status"] == "skipped"
    small = run("onboarding", {"email": "me@small.co", "plan": "free"})
    assert small["output"] == {"email": "me@small.co", "steps": ["send_guide"]}


def test_the_workflow_timeout_fails_what_is_still_running(dispatcher: str, store: Store, run: Run,
                                                         http_server: LocalServer) -> None:
    store(doc("bounded", f"""
  timeout: 300ms
  nodes:
    - {{id: slow, type: http, config: {{url: "{http_server.url}/sleep?ms=1500"}}}}
"""))
    started = time.monotonic()
    execution = run("bounded")
    assert time.monotonic() - started < 1.4
    assert execution["status"] == "failed"
    assert execution["error"]["code"] == "timeout"
    assert steps(execution)["slow"]["status"] == "cancelled"


def test_a_wait_that_runs_out_answers_201_with_the_running_execution(dispatcher: str, store: Store,
                                                                    editor: APIClient, http_server: LocalServer
                                                                    ) -> None:
    store(doc("slowish", f"""
  nodes:
    - {{id: slow, type: http, config: {{url: "{http_server.url}/sleep?ms=600"}}}}
"""))
    response = editor.post("/api/v1/executions", {"workflow": "slowish", "wait": 0.1}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "running"
    assert steps(response.json())["slow"]["status"] == "running"


def test_outcomes_of_a_wave_are_recorded_together_once_the_last_arrives(
        embedded: object, store: Store, run: Run, http_server: LocalServer, monkeypatch: Any) -> None:
    """GIVEN five parallel calls, WHEN they finish within moments of each other, THEN their
    outcomes are recorded in one step, and the first does not wait longer than the last call."""
    from executions.engine import runner

    monkeypatch.setattr(runner, "LINGER", 2.0)  # long: the wait must end when the last sibling arrives
    batches: list[list[str]] = []
    record = runner._complete_batch

    def recording(execution_id: str, batch: list[Any]) -> None:
        batches.append([node_id for node_id, _attempt, _outcome in batch])
        record(execution_id, batch)

    monkeypatch.setattr(runner, "_complete_batch", recording)
    store(fan_out(http_server.url, count=5).replace("ms=200", "ms=100"))
    started = time.monotonic()
    execution = run("fan-out")
    elapsed = time.monotonic() - started
    assert execution["status"] == "succeeded", execution["error"]
    assert [sorted(batch) for batch in batches] == [[f"call{i}" for i in range(5)]]
    assert elapsed < 1.5, f"the first outcome waited out its linger: {elapsed:.2f}s"

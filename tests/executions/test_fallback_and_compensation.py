"""A fallback node stands in for the node that failed, and the branch goes on; compensation steps
run only when the execution fails, undoing what had succeeded, latest first."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from executions.models import ExecutionEvent
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def _calls(server: LocalServer, marker: str) -> list[str]:
    return [request["query"].get("key", "") for request in server.requests if request["query"].get("run") == marker]


def test_a_fallback_stands_in_and_the_branch_goes_on(dispatcher: str, store: Store, run: Run,
                                                     http_server: LocalServer) -> None:
    store(doc("stand-in", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/status/500"}}
      fallback: backup
    - {{id: backup, type: transform, config: {{mapping: {{source: backup, why: "{{{{ nodes.call.error.code }}}}"}}}}}}
    - {{id: after, type: transform, config: {{mapping: {{got: "{{{{ nodes.call.output.source }}}}"}}}}}}
  edges:
    - {{from: call, to: after}}
"""))
    execution = run("stand-in")
    assert execution["status"] == "succeeded", execution["error"]
    by_node = steps(execution)
    assert by_node["call"]["status"] == "succeeded"
    assert by_node["call"]["output"] == {"source": "backup", "why": "http_status"}
    assert by_node["call"]["error"]["replaced_by"] == "backup"
    assert by_node["call"]["error"]["code"] == "http_status"
    assert by_node["after"]["output"] == {"got": "backup"}
    types = list(ExecutionEvent.objects.filter(execution_id=execution["id"], node_id="call")
                 .values_list("type", flat=True))
    assert types[-2:] == ["node.falling_back", "node.succeeded"]


def test_a_failed_fallback_fails_its_node_and_its_failure_edge_is_taken(dispatcher: str, store: Store, run: Run,
                                                                         http_server: LocalServer) -> None:
    store(doc("both-fail", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/status/500"}}
      fallback: backup
    - {{id: backup, type: http, config: {{url: "{http_server.url}/status/404"}}}}
    - {{id: after, type: noop}}
    - id: handled
      type: transform
      config: {{mapping: {{fallback: "{{{{ nodes.call.error.fallback_error.code }}}}"}}}}
  edges:
    - {{from: call, to: after}}
    - {{from: call, to: handled, on: failure}}
"""))
    execution = run("both-fail")
    assert execution["status"] == "succeeded", execution["error"]
    by_node = steps(execution)
    assert by_node["call"]["status"] == "failed" and by_node["backup"]["status"] == "failed"
    assert by_node["after"]["status"] == "skipped"
    assert by_node["handled"]["output"] == {"fallback": "http_status"}


def test_without_a_failure_edge_a_failed_fallback_fails_the_execution_naming_both(embedded: Any, store: Store,
                                                                                   run: Run,
                                                                                   http_server: LocalServer) -> None:
    store(doc("both-fail-alone", f"""
  nodes:
    - {{id: call, type: http, config: {{url: "{http_server.url}/status/500"}}, fallback: backup}}
    - {{id: backup, type: fail, config: {{message: no backup either}}}}
"""))
    execution = run("both-fail-alone")
    assert execution["status"] == "failed"
    assert execution["error"]["node_id"] == "call"
    assert "backup" in execution["error"]["message"]


SAGA = """
  nodes:
    - {{id: reserve, type: http, config: {{url: "{url}/echo?run={run}&key=reserve"}}}}
    - {{id: hold, type: http, config: {{url: "{url}/echo?run={run}&key=hold"}}}}
    - id: charge
      type: http
      config: {{url: "{url}/{charge}?run={run}&key=charge"}}
    - id: ship
      type: http
      config: {{url: "{url}/echo?run={run}&key=ship"}}
    - id: undo_reserve
      type: http
      config:
        method: POST
        url: "{url}/echo?run={run}&key=undo_reserve"
        json:
          because: "{{{{ nodes.charge.error.message }}}}"
          reserved: "{{{{ nodes.reserve.output.body.query.key }}}}"
    - {{id: undo_hold, type: http, config: {{url: "{url}/echo?run={run}&key=undo_hold"}}}}
    - {{id: on_ship, type: http, config: {{url: "{url}/echo?run={run}&key=on_ship"}}}}
  edges:
    - {{from: reserve, to: hold}}
    - {{from: hold, to: charge}}
    - {{from: charge, to: ship}}
  compensation:
    - {{node: undo_reserve, compensates: reserve}}
    - {{node: undo_hold, compensates: hold}}
    - {{node: on_ship, when_failed: ship}}
"""


def test_compensation_never_runs_when_the_execution_succeeds(dispatcher: str, store: Store, run: Run,
                                                             http_server: LocalServer) -> None:
    store(doc("saga-ok", SAGA.format(url=http_server.url, run=f"ok-{dispatcher}", charge="echo")))
    execution = run("saga-ok")
    assert execution["status"] == "succeeded", execution["error"]
    assert _calls(http_server, f"ok-{dispatcher}") == ["reserve", "hold", "charge", "ship"]
    by_node = steps(execution)
    assert {by_node[n]["status"] for n in ("undo_reserve", "undo_hold", "on_ship")} == {"skipped"}
    assert execution["compensation"] is None


def test_a_failure_undoes_what_succeeded_latest_first(dispatcher: str, store: Store, run: Run,
                                                      http_server: LocalServer) -> None:
    store(doc("saga-fail", SAGA.format(url=http_server.url, run=f"fail-{dispatcher}", charge="status/400")))
    execution = run("saga-fail")
    assert execution["status"] == "failed"
    # Forward steps, then the compensation of hold, then of reserve; ship never ran, so its own
    # compensation (when_failed: ship) is not due.
    assert _calls(http_server, f"fail-{dispatcher}") == ["reserve", "hold", "charge", "undo_hold", "undo_reserve"]
    undo = next(r for r in http_server.requests if r["query"].get("key") == "undo_reserve"
                and r["query"].get("run") == f"fail-{dispatcher}")
    assert undo["body"]["because"].startswith("HTTP 400")
    assert undo["body"]["reserved"] == "reserve"
    assert execution["error"]["node_id"] == "charge"
    assert execution["error"]["compensated"] is True
    assert execution["error"]["compensation"] == {"undo_hold": "succeeded", "undo_reserve": "succeeded"}
    assert execution["compensation"]["status"] == "completed"
    assert execution["compensation"]["nodes"] == ["undo_hold", "undo_reserve"]
    by_node = steps(execution)
    assert by_node["ship"]["status"] == "cancelled"  # never reached: cancelled with the run
    assert by_node["on_ship"]["status"] == "skipped"
    types = list(ExecutionEvent.objects.filter(execution_id=execution["id"], node_id="").values_list("type", flat=True))
    assert types[-2:] == ["execution.compensating", "execution.failed"]


def test_a_failed_compensation_step_does_not_stop_the_others(embedded: Any, store: Store, run: Run,
                                                             http_server: LocalServer) -> None:
    store(doc("saga-partial", f"""
  nodes:
    - {{id: one, type: http, config: {{url: "{http_server.url}/echo?run=partial&key=one"}}}}
    - {{id: two, type: http, config: {{url: "{http_server.url}/echo?run=partial&key=two"}}}}
    - {{id: boom, type: fail, config: {{message: boom}}}}
    - {{id: undo_one, type: http, config: {{url: "{http_server.url}/echo?run=partial&key=undo_one"}}}}
    - {{id: undo_two, type: http, config: {{url: "{http_server.url}/status/500?run=partial&key=undo_two"}}}}
  edges:
    - {{from: one, to: two}}
    - {{from: two, to: boom}}
  compensation:
    - {{node: undo_one, compensates: one}}
    - {{node: undo_two, compensates: two}}
"""))
    execution = run("saga-partial")
    assert execution["status"] == "failed"
    assert _calls(http_server, "partial") == ["one", "two", "undo_two", "undo_one"]
    assert execution["error"]["compensated"] is False
    assert execution["compensation"]["status"] == "failed"


def test_a_cancel_can_compensate_what_succeeded(dispatcher: str, store: Store, editor: Any,
                                                http_server: LocalServer) -> None:
    run_id = f"cancel-{dispatcher}"
    store(doc("saga-cancel", f"""
  nodes:
    - {{id: reserve, type: http, config: {{url: "{http_server.url}/echo?run={run_id}&key=reserve"}}}}
    - {{id: hold, type: http, config: {{url: "{http_server.url}/gather?key={run_id}&n=2&timeout=30"}}}}
    - {{id: undo_reserve, type: http, config: {{url: "{http_server.url}/echo?run={run_id}&key=undo_reserve"}}}}
  edges:
    - {{from: reserve, to: hold}}
  compensation:
    - {{node: undo_reserve, compensates: reserve}}
"""))
    started = editor.post("/api/v1/executions", {"workflow": "saga-cancel", "input": {}}, format="json")
    execution_id = started.json()["id"]
    for _ in range(600):
        if steps(editor.get(f"/api/v1/executions/{execution_id}").json())["hold"]["status"] == "running":
            break
        threading.Event().wait(0.05)
    cancelled = editor.post(f"/api/v1/executions/{execution_id}/cancel", {"compensate": True}, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    httpx.get(f"{http_server.url}/gather?key={run_id}&n=2&timeout=30", timeout=30)  # let the held call go
    for _ in range(600):
        execution = editor.get(f"/api/v1/executions/{execution_id}").json()
        if execution["status"] == "cancelled":
            break
        threading.Event().wait(0.05)
    assert execution["status"] == "cancelled"
    assert execution["compensation"]["status"] == "completed"
    assert execution["error"]["compensated"] is True
    assert _calls(http_server, run_id) == ["reserve", "undo_reserve"]

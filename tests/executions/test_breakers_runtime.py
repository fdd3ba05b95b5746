"""Circuit breakers at run time: after ``failure_threshold`` failures the node fails fast with
``circuit_open`` without calling, follows its fallback, shares its state with every node of
the same key (across workflows and processes), shows in the API and is reset there."""

from __future__ import annotations

import uuid

from rest_framework.test import APIClient

from executions.models import ExecutionEvent
from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer


def _hits(server: LocalServer, key: str) -> int:
    return sum(1 for request in server.requests if request["query"].get("key") == key)


def test_an_open_breaker_fails_fast_without_calling_and_the_fallback_runs(dispatcher: str, store: Store, run: Run,
                                                                          admin_client: APIClient,
                                                                          http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    breaker = f"svc-{key[:8]}"
    store(doc("guarded", f"""
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/status/500?key={key}"}}
      circuit_breaker: {{failure_threshold: 2, recovery_timeout: 1h, key: {breaker}}}
      fallback: degraded
    - {{id: degraded, type: transform, config: {{mapping: {{served: cache, why: "{{{{ nodes.call.error.code }}}}"}}}}}}
    - {{id: after, type: transform, config: {{mapping: {{got: "{{{{ nodes.call.output.served }}}}"}}}}}}
  edges:
    - {{from: call, to: after}}
"""))
    runs = [run("guarded") for _ in range(4)]
    assert [execution["status"] for execution in runs] == ["succeeded"] * 4
    assert _hits(http_server, key) == 2  # the third and fourth never reached the server
    whys = [steps(execution)["call"]["output"]["why"] for execution in runs]
    assert whys == ["http_status", "http_status", "circuit_open", "circuit_open"]
    assert all(steps(execution)["after"]["output"] == {"got": "cache"} for execution in runs)
    tripped = ExecutionEvent.objects.filter(execution_id=runs[1]["id"], node_id="call",
                                            payload__circuit__state="open")
    assert tripped.exists()  # the change of state is in the event of the call that caused it
    listed = {b["key"]: b for b in admin_client.get("/api/v1/circuit-breakers").json()["results"]}
    assert listed[breaker]["state"] == "open"
    assert admin_client.post(f"/api/v1/circuit-breakers/{breaker}/reset").status_code == 200
    run("guarded")
    assert _hits(http_server, key) == 3  # closed again: the call is made


def test_nodes_sharing_a_key_share_the_breaker_across_workflows(dispatcher: str, store: Store, run: Run,
                                                                http_server: LocalServer) -> None:
    key = uuid.uuid4().hex
    breaker = f"shared-{key[:8]}"
    for name in ("payer-a", "payer-b"):
        store(doc(name, f"""
  nodes:
    - id: pay
      type: http
      config: {{url: "{http_server.url}/status/503?key={key}"}}
      circuit_breaker: {{failure_threshold: 1, recovery_timeout: 1h, key: {breaker}}}
"""))
    first = run("payer-a")
    second = run("payer-b")
    assert steps(first)["pay"]["error"]["code"] == "http_status"
    assert steps(second)["pay"]["error"]["code"] == "circuit_open"
    assert second["status"] == "failed"
    assert _hits(http_server, key) == 1

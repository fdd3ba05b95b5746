"""The designer's test runs (POST /executions/adhoc with ``pinned`` and ``step``): pinned nodes
keep their sample output without calling out, one step runs alone on the outputs before it, and
neither is stored with the workflow, so its production runs call out as always."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.executions.conftest import Run, Store, doc, steps
from tests.executions.servers import LocalServer

ADHOC = "/api/v1/executions/adhoc"


def _flow(server: LocalServer) -> str:
    return doc("signup-flow", f"""
  nodes:
    - {{id: http, type: http, config: {{url: "{server.url}/crm-user"}}}}
    - {{id: shape, type: transform, config: {{mapping: {{name: "{{{{ nodes.http.output.body.name | upper }}}}",
        user: "{{{{ input.user }}}}"}}}}}}
    - {{id: notify, type: http, config: {{url: "{server.url}/notify", method: POST,
        body: {{to: "{{{{ upstream.name }}}}"}}}}}}
  edges:
    - {{from: http, to: shape}}
    - {{from: shape, to: notify}}
""")


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.json()
    return response.json()["error"]


def test_a_draft_runs_with_pinned_data_instead_of_calling_out(embedded: object, editor: APIClient, store: Store,
                                                             run: Run, http_server: LocalServer) -> None:
    http_server.answer("GET", "/crm-user", (200, {"name": "live"}))
    http_server.answer("POST", "/notify", (200, {"ok": True}))
    before = http_server.hits["/crm-user"]
    pinned = {"http": {"status": 200, "body": {"name": "ada"}}}
    response = editor.post(ADHOC, {"yaml": _flow(http_server), "input": {"user": 7}, "pinned": pinned, "wait": 20},
                           format="json")
    assert response.status_code == 200, response.json()
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    assert execution["trigger"]["test"] == "draft" and execution["trigger"]["type"] == "adhoc"
    nodes = steps(execution)
    assert nodes["http"]["reused_from"] == "pinned" and nodes["http"]["output"] == pinned["http"]
    assert nodes["shape"]["output"] == {"name": "ADA", "user": 7}
    assert http_server.hits["/crm-user"] == before  # the pinned node made no call
    assert http_server.requests[-1]["body"] == {"to": "ADA"}
    # Nothing pinned is kept: the saved workflow's own run calls the CRM.
    store(_flow(http_server))
    production = run("signup-flow", {"user": 1})
    assert production["status"] == "succeeded"
    assert steps(production)["shape"]["output"]["name"] == "LIVE"
    assert http_server.hits["/crm-user"] == before + 1


def test_one_step_runs_alone_on_the_outputs_before_it(embedded: object, editor: APIClient,
                                                      http_server: LocalServer) -> None:
    http_server.answer("GET", "/crm-user", (200, {"name": "live"}))
    http_server.answer("POST", "/notify", (200, {"ok": True}))
    crm, notify = http_server.hits["/crm-user"], http_server.hits["/notify"]
    response = editor.post(ADHOC, {"yaml": _flow(http_server), "input": {"user": 3}, "step": "shape",
                                   "pinned": {"http": {"body": {"name": "grace"}}, "notify": {"ok": 1}},
                                   "wait": 20}, format="json")
    assert response.status_code == 200, response.json()
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    assert {key: execution["trigger"][key] for key in ("type", "test", "step")} == {
        "type": "adhoc", "test": "step", "step": "shape"}
    nodes = steps(execution)
    assert set(nodes) == {"http", "shape"}  # what comes after the step is not part of it
    assert nodes["shape"]["output"] == {"name": "GRACE", "user": 3}
    assert nodes["http"]["reused_from"] == "pinned"
    assert (http_server.hits["/crm-user"], http_server.hits["/notify"]) == (crm, notify)
    # A step whose node is pinned itself still runs (it is the one tested).
    http_call = editor.post(ADHOC, {"yaml": _flow(http_server), "step": "http", "pinned": {"http": {"x": 1}},
                                    "wait": 20}, format="json").json()
    assert steps(http_call)["http"]["output"]["body"] == {"name": "live"}
    assert http_server.hits["/crm-user"] == crm + 1


def test_bad_test_runs_name_the_field(embedded: object, editor: APIClient, http_server: LocalServer) -> None:
    flow = _flow(http_server)
    missing = _error(editor.post(ADHOC, {"yaml": flow, "step": "notify", "pinned": {"http": {}}}, format="json"))
    assert set(missing["details"]["fields"]) == {"pinned.shape"} and "shape" in missing["message"]
    assert "step" in _error(editor.post(ADHOC, {"yaml": flow, "step": "ghost"}, format="json"))["details"]["fields"]
    assert "pinned.ghost" in _error(editor.post(ADHOC, {"yaml": flow, "pinned": {"ghost": 1}},
                                                format="json"))["details"]["fields"]
    assert "pinned" in _error(editor.post(ADHOC, {"yaml": flow, "pinned": [1]}, format="json"))["details"]["fields"]


def test_pinned_data_stored_with_the_workflow_is_used_by_test_runs_only(embedded: object, editor: APIClient,
                                                                        store: Store, run: Run,
                                                                        http_server: LocalServer) -> None:
    """The designer keeps pinned data on the server (PUT /workflows/{id}/pinned) and sends it with
    its test runs; the workflow's production runs never read it and call out as always."""
    http_server.answer("GET", "/crm-user", (200, {"name": "live"}))
    http_server.answer("POST", "/notify", (200, {"ok": True}))
    workflow = store(_flow(http_server))
    pinned = {"http": {"status": 200, "body": {"name": "pinned"}}}
    saved = editor.put(f"/api/v1/workflows/{workflow['id']}/pinned", {"nodes": pinned}, format="json")
    assert saved.status_code == 200, saved.json()
    before = http_server.hits["/crm-user"]

    production = run("signup-flow", {"user": 1})
    assert production["status"] == "succeeded"
    assert steps(production)["shape"]["output"]["name"] == "LIVE"
    assert steps(production)["http"].get("reused_from") != "pinned"
    assert http_server.hits["/crm-user"] == before + 1

    # The designer's test run sends what it read from the server: the pinned node makes no call.
    kept = editor.get(f"/api/v1/workflows/{workflow['id']}/pinned").json()["nodes"]
    test = editor.post(ADHOC, {"yaml": _flow(http_server), "input": {"user": 2}, "pinned": kept, "wait": 20},
                       format="json").json()
    assert test["status"] == "succeeded" and steps(test)["shape"]["output"]["name"] == "PINNED"
    assert http_server.hits["/crm-user"] == before + 1

"""POST /api/v1/expressions/evaluate: an expression on a run's data or given data, in the
engine's sandbox and budget, secrets masked, executions of the caller's tenant only."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.executions.conftest import Run, Store, doc
from tests.executions.servers import LocalServer

URL = "/api/v1/expressions/evaluate"


def _flow(server: LocalServer) -> str:
    return doc("profile", f"""
  variables: {{greeting: "Hello"}}
  nodes:
    - {{id: http, type: http, config: {{url: "{server.url}/profile"}}}}
    - {{id: shape, type: transform, config: {{mapping: {{name: "{{{{ upstream.body.name }}}}"}}}}}}
  edges:
    - {{from: http, to: shape}}
""")


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.json()
    return response.json()["error"]


def test_an_expression_reads_a_runs_data_and_a_nodes_upstream(embedded: object, store: Store, run: Run,
                                                            editor: APIClient, viewer: APIClient,
                                                            admin_client: APIClient, http_server: LocalServer
                                                            ) -> None:
    http_server.answer("GET", "/profile", (200, {"name": "Ada", "tags": ["x", "y"]}))
    admin_client.post("/api/v1/secrets", {"name": "API_TOKEN", "value": "tok-9f8e7d6c"}, format="json")
    store(_flow(http_server))
    execution = run("profile", {"user": 7})
    assert execution["status"] == "succeeded", execution

    def evaluate(expression: str, **extra: Any) -> dict[str, Any]:
        response = viewer.post(URL, {"expression": expression, "execution": execution["id"], **extra}, format="json")
        assert response.status_code == 200, response.json()
        return response.json()

    assert evaluate("{{ nodes.http.output.body.name }}") == {"value": "Ada", "type": "string"}
    assert evaluate("nodes.http.output.body.tags | length") == {"value": 2, "type": "number"}
    assert evaluate("{{ input.user * 6 }}")["value"] == 42
    assert evaluate("{{ vars.greeting }}, {{ nodes.shape.output.name }}!")["value"] == "Hello, Ada!"
    assert evaluate("{{ upstream.body.name }}", node="shape")["value"] == "Ada"
    assert evaluate("{{ output.name | upper }}", node="shape")["value"] == "ADA"
    assert evaluate("{{ execution.workflow }}")["value"] == "profile"
    # A secret is there by name and reads [secret]; its value never reaches the answer.
    masked = viewer.post(URL, {"expression": "Bearer {{ secrets.API_TOKEN }}", "execution": execution["id"]},
                         format="json")
    assert masked.json()["value"] == "Bearer [secret]"
    assert "tok-9f8e7d6c" not in masked.content.decode()
    # The caller's context lays over the run's data.
    overridden = evaluate("{{ nodes.http.output.body.name }}", context={"nodes": {"http": {"output": {
        "body": {"name": "Grace"}}}}})
    assert overridden["value"] == "Grace"


def test_an_expression_on_given_data_alone(editor: APIClient) -> None:
    response = editor.post(URL, {"expression": "{{ nodes.a.output.items | map(attribute='n') | sum }}",
                                 "context": {"nodes": {"a": {"output": {"items": [{"n": 1}, {"n": 2}]}}}}},
                           format="json")
    assert response.json() == {"value": 3, "type": "number"}
    missing = editor.post(URL, {"expression": "{{ nodes.nothing.output.x }}"}, format="json")
    assert missing.json() == {"value": None, "type": "null"}


def test_bad_input_is_a_400_naming_the_field(editor: APIClient, outsider: APIClient, store: Store, run: Run,
                                             embedded: object, http_server: LocalServer) -> None:
    assert _error(editor.post(URL, {}, format="json"))["details"]["fields"].keys() == {"expression"}
    assert "expression" in _error(editor.post(URL, {"expression": 5}, format="json"))["details"]["fields"]
    syntax = _error(editor.post(URL, {"expression": "{{ nodes. }}"}, format="json"))
    assert syntax["code"] == "expression_error" and "expression" in syntax["details"]["fields"]
    failing = _error(editor.post(URL, {"expression": "{{ 1 / 0 }}"}, format="json"))
    assert failing["code"] == "expression_error"
    assert "context.secrets" in _error(editor.post(URL, {"expression": "{{ 1 }}", "context": {"secrets": {}}},
                                                   format="json"))["details"]["fields"]
    assert "context.other" in _error(editor.post(URL, {"expression": "{{ 1 }}", "context": {"other": 1}},
                                                 format="json"))["details"]["fields"]
    assert "context" in _error(editor.post(URL, {"expression": "{{ 1 }}", "context": [1]},
                                           format="json"))["details"]["fields"]
    assert "node" in _error(editor.post(URL, {"expression": "{{ 1 }}", "node": "a"}, format="json"))["details"][
        "fields"]
    assert "surprise" in _error(editor.post(URL, {"expression": "{{ 1 }}", "surprise": 1}, format="json"))[
        "details"]["fields"]
    # The sandbox: no attribute of Python's insides, and the CPU and size budgets.
    escape = editor.post(URL, {"expression": "{{ ''.__class__.__mro__ }}"}, format="json")
    assert escape.json() == {"value": None, "type": "null"}  # the sandbox hides the attribute
    assert editor.post(URL, {"expression": "{{ range.__globals__ }}"}, format="json").json()["value"] is None
    huge = _error(editor.post(URL, {"expression": "{{ 'a' * 10000000 }}"}, format="json"))
    assert huge["code"] == "expression_limit"
    spin = _error(editor.post(URL, {"expression": "{% for i in range(100000) %}{% for j in range(100000) %}"
                                                  "{% endfor %}{% endfor %}"}, format="json"))
    assert spin["code"] == "expression_limit"  # the CPU budget, or the wall-clock one on a busy machine
    # Another tenant's execution is not found; an unknown node of one's own is named.
    http_server.answer("GET", "/profile", (200, {"name": "Ada"}))
    store(_flow(http_server))
    execution = run("profile")
    assert outsider.post(URL, {"expression": "{{ input }}", "execution": execution["id"]},
                         format="json").status_code == 404
    assert "node" in _error(editor.post(URL, {"expression": "{{ 1 }}", "execution": execution["id"],
                                              "node": "ghost"}, format="json"))["details"]["fields"]
    assert APIClient().post(URL, {"expression": "{{ 1 }}"}, format="json").status_code == 401


def test_editors_read_the_secret_names_for_autocomplete_never_the_values(admin_client: APIClient, editor: APIClient,
                                                                        viewer: APIClient, outsider: APIClient
                                                                        ) -> None:
    for name, value in (("CRM_TOKEN", "tok-crm-123"), ("API_KEY", "key-456")):
        assert admin_client.post("/api/v1/secrets", {"name": name, "value": value}, format="json").status_code == 201
    names = editor.get("/api/v1/expressions/secrets")
    assert names.json() == {"secrets": ["API_KEY", "CRM_TOKEN"]}
    assert "tok-crm-123" not in names.content.decode() and "key-456" not in names.content.decode()
    assert viewer.get("/api/v1/expressions/secrets").status_code == 403
    assert outsider.get("/api/v1/expressions/secrets").json() == {"secrets": []}

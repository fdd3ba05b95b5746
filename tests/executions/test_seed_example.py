"""The Magic Flow seed example (`user-onboarding`), imported through the API, run end to end.

As written, the seed names three steps it never defines (create-guest-account,
notify-validation-error, skip-verification): import makes each a placeholder `fail` node and warns
at each reference (test_seed_as_written.py runs it so). With those steps supplied by the user it
imports as the user meant. Its steps are `type: function` (run by the
user's own workers), which convert to `function` nodes; test_functions.py runs them as they are,
answered by a worker polling the function-task API. Here the run uses the converted native
document (as `POST /workflows/validate` returns it) with each `function` node replaced by an
`http` node that POSTs the step's `data_mapping.input` to
a local server answering like the seed's services (`<executor>/<function>`), and the step's
`data_mapping.output` (`validation_result: $.response.valid`) read from the response body. Every
other part of the conversion (edges from on_success/on_failure, `condition` -> `when`, retries,
timeouts, fallbacks, the `error_handling` fail node and compensation) is run as converted.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from tests.executions.conftest import steps
from tests.workflows.api.documents import magic_flow_user_onboarding
from workflows.models import Workflow

MISSING = ("create-guest-account", "notify-validation-error", "skip-verification")

# What a user adds to the seed's `steps` so that every step it names exists.
SUPPLIED_STEPS = """\
    - name: create-guest-account
      type: function
      executor: account-service
      function: createGuestAccount
      data_mapping:
        input:
          email: "$.input.email"

    - name: notify-validation-error
      type: function
      executor: notification-service
      function: notifyValidationError
      data_mapping:
        input:
          email: "$.input.email"

    - name: skip-verification
      type: function
      executor: verification-service
      function: skipVerification
"""


def seed_with_supplied_steps() -> str:
    text = magic_flow_user_onboarding()
    end_of_steps = text.index("\n  error_handling:")
    return text[:end_of_steps].rstrip() + "\n\n" + SUPPLIED_STEPS + text[end_of_steps:]


class Services:
    """The seed's services over HTTP: POST /<executor>/<function> with the step's input."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.down: set[str] = set()  # paths that answer 503
        self.lock = threading.Lock()
        handler = type("Handler", (_ServiceHandler,), {"services": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, body: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append((path, body))
        if path == "/user-service/validateUserData":
            email = str((body.get("user_data") or {}).get("email", ""))
            valid = "@" in email
            return {"valid": valid, "errors": [] if valid else [f"email {email!r} is not an address"]}
        if path == "/account-service/createUserAccount":
            return {"user_id": "u-" + body["email"].split("@")[0], "status": "created"}
        if path == "/verification-service/verifyUser":
            return {"verified": True}
        if path == "/notification-service/sendWelcomeEmail":
            return {"sent": True, "to": body["email"], "user_id": body["user_id"]}
        return {"ok": True}

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.calls]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _ServiceHandler(BaseHTTPRequestHandler):
    services: Services
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        data = json.dumps(self.services.answer(self.path, body)).encode()
        if self.path in self.services.down:
            data = b'{"error": "service unavailable"}'
        self.send_response(503 if self.path in self.services.down else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    server = Services()
    yield server
    server.close()


_OUTPUT_REF = re.compile(r"nodes\['([\w-]+)'\]\.output\.(\w+)")
_RESPONSE = re.compile(r"\{\{\s*response\.([\w.]+)\s*\}\}")


def function_nodes_as_http(native_yaml: str, url: str) -> tuple[str, list[str]]:
    """The converted document with every `function` node calling `url/<executor>/<function>`."""
    document = yaml.safe_load(native_yaml)
    replaced: list[str] = []
    fields: dict[tuple[str, str], str] = {}  # (node, mapped output field) -> path in the response body
    for node in document["spec"]["nodes"]:
        if node["type"] != "function":
            continue
        config = node["config"]
        for field, expression in config.get("output", {}).items():
            match = _RESPONSE.fullmatch(expression)
            assert match, expression
            fields[(node["id"], field)] = match.group(1)
        node["type"] = "http"
        node["config"] = {"method": "POST", "url": f"{url}/{config['executor']}/{config['function']}",
                          "json": config.get("input", {})}
        replaced.append(node["id"])

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if isinstance(value, str):
            return _OUTPUT_REF.sub(lambda m: f"nodes['{m.group(1)}'].output.body."
                                   f"{fields.get((m.group(1), m.group(2)), m.group(2))}"
                                   if m.group(1) in replaced else m.group(0), value)
        return value

    return yaml.safe_dump(rewrite(document), sort_keys=False, allow_unicode=True), replaced


def import_runnable_seed(editor: APIClient, services: Services) -> dict[str, Any]:
    checked = editor.post("/api/v1/workflows/validate", {"yaml": seed_with_supplied_steps()}, format="json").json()
    assert checked["valid"] is True, checked["errors"]
    assert checked["dialect"] == "magic_flow"
    runnable, replaced = function_nodes_as_http(checked["yaml"], services.url)
    assert set(replaced) == {"validate-user", "create-account", "external-verification", "send-welcome-email",
                             *MISSING, "cleanup-partial-data"}
    response = editor.post("/api/v1/workflows/import", runnable, content_type="application/yaml")
    assert response.status_code == 201, response.json()
    return response.json()


def events_of(editor: APIClient, execution: dict[str, Any]) -> list[dict[str, Any]]:
    page = editor.get(f"/api/v1/executions/{execution['id']}/events?page_size=500").json()
    assert page["count"] == len(page["results"])
    return page["results"]


def test_the_seed_as_written_imports_with_a_warning_at_each_missing_step(editor: APIClient) -> None:
    text = magic_flow_user_onboarding()
    response = editor.post("/api/v1/workflows/import", text, content_type="application/yaml")
    assert response.status_code == 201, response.json()
    warnings = response.json()["warnings"]
    lines = text.splitlines()
    for missing in MISSING:
        found = [w for w in warnings if missing in w["message"]]
        assert found, (missing, warnings)
        assert all(w["line"] and missing in lines[w["line"] - 1] for w in found), (missing, found)
    assert {w["node_id"] for w in warnings} == set(MISSING)
    assert Workflow.objects.get().name == "user-onboarding"


def test_with_the_missing_steps_supplied_it_imports_as_function_nodes(editor: APIClient) -> None:
    response = editor.post("/api/v1/workflows/import", seed_with_supplied_steps(), content_type="application/yaml")
    assert response.status_code == 201, response.json()
    assert response.json()["dialect"] == "magic_flow"
    native = yaml.safe_load(editor.get(f"/api/v1/workflows/{response.json()['id']}/export").content)
    nodes = {n["id"]: n for n in native["spec"]["nodes"]}
    assert {n["type"] for n in nodes.values()} == {"function", "fail"}
    assert nodes["create-account"]["when"] == "{{ nodes['validate-user'].output.validation_result == true }}"
    assert nodes["create-account"]["fallback"] == "create-guest-account"
    assert nodes["external-verification"]["fallback"] == "skip-verification"
    assert nodes["validate-user"]["retry"]["max_attempts"] == 3
    assert {(e["from"], e["to"], e.get("on", "success")) for e in native["spec"]["edges"]} == {
        ("validate-user", "create-account", "success"),
        ("validate-user", "notify-validation-error", "failure"),
        ("create-account", "send-welcome-email", "success"),
        ("create-account", "cleanup-partial-data", "failure"),
        ("external-verification", "send-welcome-email", "always"),
        ("validate-user", "validate-user-error", "success"),
    }
    assert native["spec"]["compensation"] == [{"node": "cleanup-partial-data", "when_failed": "create-account"}]


def test_the_converted_seed_runs_a_valid_user_through(dispatcher: str, editor: APIClient,
                                                      services: Services) -> None:
    workflow = import_runnable_seed(editor, services)
    before = len(services.calls)
    response = editor.post("/api/v1/executions", {
        "workflow": workflow["name"], "wait": 30,
        "input": {"email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}},
    }, format="json")
    assert response.status_code == 200, response.json()
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    by_node = steps(execution)
    status = {node: step["status"] for node, step in by_node.items()}
    assert status == {
        "validate-user": "succeeded", "external-verification": "succeeded", "create-account": "succeeded",
        "send-welcome-email": "succeeded",
        # on_failure targets, the error_handling rule (validation_result == false) and the
        # compensation step: not taken.
        "notify-validation-error": "skipped", "validate-user-error": "skipped", "cleanup-partial-data": "skipped",
        # Fallback steps run only when their step fails.
        "create-guest-account": "skipped", "skip-verification": "skipped",
    }
    assert sorted(services.paths()[before:]) == sorted([
        "/user-service/validateUserData", "/account-service/createUserAccount",
        "/verification-service/verifyUser", "/notification-service/sendWelcomeEmail"])
    # data_mapping: the input reached the services, and step outputs fed the next steps.
    calls = dict(services.calls[before:])
    assert calls["/user-service/validateUserData"] == {
        "user_data": {"email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}}}
    assert calls["/account-service/createUserAccount"] == {
        "email": "ada@example.com", "name": "Ada", "preferences": {"newsletter": True}}
    assert calls["/notification-service/sendWelcomeEmail"] == {
        "user_id": "u-ada", "email": "ada@example.com", "name": "Ada"}
    assert by_node["send-welcome-email"]["output"]["body"] == {"sent": True, "to": "ada@example.com",
                                                                "user_id": "u-ada"}

    events = events_of(editor, execution)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "execution.created" and events[-1]["type"] == "execution.succeeded"
    started = {e["node_id"]: e["seq"] for e in events if e["type"] == "node.started"}
    finished = {e["node_id"]: e["seq"] for e in events if e["type"] == "node.succeeded"}
    assert finished["validate-user"] < started["create-account"] < finished["create-account"]
    assert finished["create-account"] < started["send-welcome-email"]
    assert finished["external-verification"] < started["send-welcome-email"]


def test_the_converted_seed_returns_the_validation_error(dispatcher: str, editor: APIClient,
                                                         services: Services) -> None:
    workflow = import_runnable_seed(editor, services)
    before = len(services.calls)
    response = editor.post("/api/v1/executions", {
        "workflow": workflow["name"], "wait": 30, "input": {"email": "not-an-address", "name": "Bob",
                                                            "preferences": {}},
    }, format="json")
    execution = response.json()
    assert execution["status"] == "failed", execution
    # The seed's error_handling `return_error` rule: its message, and the validation errors as details.
    assert execution["error"]["node_id"] == "validate-user-error"
    assert execution["error"]["error"]["message"] == "User validation failed"
    assert execution["error"]["error"]["details"] == ["email 'not-an-address' is not an address"]
    status = {node: step["status"] for node, step in steps(execution).items()}
    assert status["validate-user"] == "succeeded"
    assert status["validate-user-error"] == "failed"
    assert status["create-account"] == "skipped", status  # its condition (validation_result == true) is false
    assert "/account-service/createUserAccount" not in services.paths()[before:]
    events = events_of(editor, execution)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "execution.failed"


def test_the_converted_seed_falls_back_when_verification_is_down(dispatcher: str, editor: APIClient,
                                                                 services: Services) -> None:
    workflow = import_runnable_seed(editor, services)
    before = len(services.calls)
    services.down.add("/verification-service/verifyUser")
    try:
        response = editor.post("/api/v1/executions", {
            "workflow": workflow["name"], "wait": 30,
            "input": {"email": "cy@example.com", "name": "Cy", "preferences": {}},
        }, format="json")
    finally:
        services.down.clear()
    execution = response.json()
    assert execution["status"] == "succeeded", execution
    status = {node: step["status"] for node, step in steps(execution).items()}
    # The spec-level retry_policy (3 attempts) applies, then fallback_step: skip-verification stands
    # in for it (so it succeeds), and send-welcome-email (on_success and on_failure: `always`) runs.
    assert status["external-verification"] == "succeeded", status
    assert steps(execution)["external-verification"]["error"]["replaced_by"] == "skip-verification"
    assert status["skip-verification"] == "succeeded", status
    assert status["send-welcome-email"] == "succeeded", status
    assert status["create-guest-account"] == "skipped", status
    paths = services.paths()[before:]
    assert paths.count("/verification-service/verifyUser") == 3
    assert "/verification-service/skipVerification" in paths
    events = events_of(editor, execution)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

"""The secret store: admin-only API that never shows values, and values kept out of the log."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.models import ExecutionEvent, NodeRun, Secret
from tests.executions.conftest import Run, Store, doc
from tests.executions.servers import LocalServer


def test_admins_set_list_and_delete_secrets_without_seeing_values(admin_client: APIClient, editor: APIClient,
                                                                   outsider: APIClient) -> None:
    created = admin_client.post("/api/v1/secrets", {"name": "CRM_TOKEN", "value": "s3cr3t-value"}, format="json")
    assert created.status_code == 201
    assert "value" not in created.json()
    listed = admin_client.get("/api/v1/secrets").json()
    assert [s["name"] for s in listed["results"]] == ["CRM_TOKEN"]
    assert "s3cr3t-value" not in json.dumps(listed)
    assert b"s3cr3t-value" not in bytes(Secret.objects.get().ciphertext)
    assert editor.get("/api/v1/secrets").status_code == 403
    assert outsider.get("/api/v1/secrets").json()["count"] == 0
    assert outsider.delete("/api/v1/secrets/CRM_TOKEN").status_code == 404
    assert admin_client.put("/api/v1/secrets/CRM_TOKEN", {"value": "rotated"}, format="json").status_code == 200
    assert admin_client.delete("/api/v1/secrets/CRM_TOKEN").status_code == 204
    assert admin_client.get("/api/v1/secrets").json()["count"] == 0
    bad = admin_client.post("/api/v1/secrets", {"name": "1 bad", "value": ""}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]["fields"]) == {"name", "value"}


def test_secrets_reach_nodes_but_never_the_log(dispatcher: str, messages: list[Any], admin_client: APIClient,
                                               store: Store, run: Run, http_server: LocalServer) -> None:
    admin_client.post("/api/v1/secrets", {"name": "API_TOKEN", "value": "tok-9f8e7d6c"}, format="json")
    store(doc("secretive", f"""
  variables: {{token: "{{{{ secrets.API_TOKEN }}}}"}}
  nodes:
    - id: call
      type: http
      config: {{url: "{http_server.url}/echo", auth: {{type: bearer, token: "{{{{ vars.token }}}}"}}}}
    - {{id: leak, type: transform, config: {{mapping: {{copy: "token is {{{{ secrets.API_TOKEN }}}}"}}}}}}
  output: {{seen: "{{{{ nodes.call.output.body.authorization }}}}", leak: "{{{{ nodes.leak.output.copy }}}}"}}
"""))
    execution = run("secretive")
    assert execution["status"] == "succeeded", execution["error"]
    # The server got the real token...
    assert http_server.requests[-1]["headers"]["authorization"] == "Bearer tok-9f8e7d6c"
    # ...but nothing stored or returned contains it.
    assert execution["output"] == {"seen": "Bearer [secret]", "leak": "token is [secret]"}
    stored = json.dumps([list(NodeRun.objects.values("input", "output", "error")),
                         list(ExecutionEvent.objects.values("payload"))], default=str)
    assert "tok-9f8e7d6c" not in stored
    assert "[secret]" in stored
    # Nor does the broker: a node of a workflow that reads secrets is sent without its config.
    assert len(messages) == (1 if dispatcher == "celery" else 0)
    assert "tok-9f8e7d6c" not in json.dumps(messages)
    assert all(kwargs is None for _args, kwargs in messages)


def test_a_secret_quoted_by_an_error_or_a_log_line_is_masked(embedded: object, admin_client: APIClient,
                                                             store: Store, run: Run, http_server: LocalServer,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """An error message may quote a rendered value (an URL with a key in it), and a log node's
    line is written outside the events: both are masked as the events are."""
    admin_client.post("/api/v1/secrets", {"name": "KEY", "value": "k-5e4d3c2b"}, format="json")
    store(doc("quoting", f"""
  nodes:
    - {{id: note, type: log, config: {{message: "calling with {{{{ secrets.KEY }}}}"}}}}
    - {{id: call, type: http, config: {{url: "{http_server.url}/status/404?key={{{{ secrets.KEY }}}}"}}}}
  edges:
    - {{from: note, to: call}}
"""))
    with caplog.at_level(logging.INFO, logger="executions"):
        execution = run("quoting")
    assert execution["status"] == "failed"
    assert "[secret]" in execution["error"]["message"]
    assert "calling with [secret]" in caplog.text
    stored = json.dumps([execution, list(ExecutionEvent.objects.values("payload"))], default=str)
    assert "k-5e4d3c2b" not in stored + caplog.text

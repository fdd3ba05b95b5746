"""A blocked address tells the person reading the run what happened, not which server setting to
change: that hint is in the error's details.operator_hint, which the API answers to admins only."""

from __future__ import annotations

import json

from rest_framework.test import APIClient

from tests.executions.conftest import Run, Store, doc, steps


def test_the_operator_hint_of_a_blocked_address_reaches_admins_only(embedded: object, store: Store, run: Run,
                                                                     editor: APIClient, viewer: APIClient,
                                                                     admin_client: APIClient) -> None:
    store(doc("blocked", """
  nodes:
    - {id: call, type: http, config: {url: "http://10.255.255.1/internal"}, retry: {max_attempts: 1}}
"""))
    execution = run("blocked")
    assert execution["status"] == "failed"
    for client in (editor, viewer):
        seen = client.get(f"/api/v1/executions/{execution['id']}").json()
        error = steps(seen)["call"]["error"]
        assert error["code"] == "ssrf_blocked"
        assert "10.255.255.1" in error["message"] and "Ask an administrator" in error["message"]
        assert "MBFLOW_HTTP_ALLOW_HOSTS" not in json.dumps(seen)
        assert "operator_hint" not in error.get("details", {})
        events = client.get(f"/api/v1/executions/{execution['id']}/events").json()
        assert "MBFLOW_HTTP_ALLOW_HOSTS" not in json.dumps(events)
    seen = admin_client.get(f"/api/v1/executions/{execution['id']}").json()
    hint = steps(seen)["call"]["error"]["details"]["operator_hint"]
    assert "MBFLOW_HTTP_ALLOW_HOSTS" in hint
    assert "MBFLOW_HTTP_ALLOW_HOSTS" not in steps(seen)["call"]["error"]["message"]

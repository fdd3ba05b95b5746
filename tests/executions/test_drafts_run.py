"""A draft is never run: an execution started while the workflow has a draft (valid or not) runs
the active version."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.executions.conftest import Store
from tests.executions.test_engine_basics import CHAIN


def test_a_run_uses_the_last_valid_version_not_the_draft(embedded: object, store: Store, editor: APIClient) -> None:
    workflow = store(CHAIN)
    draft = CHAIN.replace("spec:", "spec:\n  nodes: [{id: broken, type: nope}]\n  oops:", 1)
    saved = editor.put(f"/api/v1/workflows/{workflow['id']}/draft", {"yaml": draft, "base_version": 1}, format="json")
    assert saved.status_code == 200, saved.json()
    response = editor.post("/api/v1/workflows/chain/execute?wait=5", {"input": {"n": 1}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "succeeded" and response.json()["version"] == 1
    assert editor.get(f"/api/v1/workflows/{workflow['id']}/draft").json()["yaml"] == draft

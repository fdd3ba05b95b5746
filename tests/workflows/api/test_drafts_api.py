"""A workflow's draft through the API: saved whatever its state, replaced, read, discarded; tenant
scoped; never a version."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.workflows.api.documents import hello
from workflows.models import WorkflowDraft

BROKEN = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: hello\nspec:\n  nodes: [{id: a, type: nope}\n"


def created(client: APIClient) -> dict:
    response = client.post("/api/v1/workflows", {"yaml": hello(), "message": "v1"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_invalid_document_is_kept_as_the_draft_and_is_not_a_version(editor: APIClient) -> None:
    workflow = created(editor)
    url = f"/api/v1/workflows/{workflow['id']}/draft"
    assert editor.get(url).status_code == 404
    assert editor.get(url).json()["error"]["code"] == "not_found"

    saved = editor.put(url, {"yaml": BROKEN, "base_version": 1}, format="json")
    assert saved.status_code == 200, saved.json()
    body = saved.json()
    assert body["yaml"] == BROKEN and body["base_version"] == 1 and body["author"] and body["updated_at"]
    assert editor.get(url).json()["yaml"] == BROKEN
    # By name too, with or without the trailing slash.
    assert editor.get("/api/v1/workflows/hello/draft/").json()["yaml"] == BROKEN

    # Replaced by the next save (autosave); the workflow keeps its one version, unchanged.
    editor.put(url, {"yaml": BROKEN + "# more\n"}, format="json")
    assert editor.get(url).json()["yaml"].endswith("# more\n")
    assert editor.get(url).json()["base_version"] is None
    detail = editor.get(f"/api/v1/workflows/{workflow['id']}").json()
    assert detail["version"]["number"] == 1 and detail["yaml"] == hello()
    assert editor.get(f"/api/v1/workflows/{workflow['id']}/versions").json()["count"] == 1

    assert editor.delete(url).status_code == 204
    assert editor.get(url).status_code == 404
    assert editor.delete(url).status_code == 204  # discarding nothing is fine


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "yaml"),
        ({"yaml": 12}, "yaml"),
        ({"yaml": "a: 1", "base_version": 0}, "base_version"),
        ({"yaml": "a: 1", "base_version": "two"}, "base_version"),
    ],
)
def test_a_bad_draft_is_a_400_naming_its_field(editor: APIClient, body: dict, field: str) -> None:
    workflow = created(editor)
    response = editor.put(f"/api/v1/workflows/{workflow['id']}/draft", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"]


def test_a_draft_larger_than_a_document_may_be_is_refused(editor: APIClient) -> None:
    workflow = created(editor)
    response = editor.put(f"/api/v1/workflows/{workflow['id']}/draft", {"yaml": "x" * (5 * 1024 * 1024 + 1)},
                          format="json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert editor.get(f"/api/v1/workflows/{workflow['id']}/draft").status_code == 404


def test_a_draft_is_the_tenants_own_and_a_viewer_only_reads_it(editor: APIClient, viewer: APIClient,
                                                                outsider: APIClient) -> None:
    workflow = created(editor)
    url = f"/api/v1/workflows/{workflow['id']}/draft"
    editor.put(url, {"yaml": BROKEN}, format="json")
    assert viewer.get(url).status_code == 200
    assert viewer.put(url, {"yaml": "x"}, format="json").status_code == 403
    assert viewer.delete(url).status_code == 403
    for method in ("get", "put", "delete"):
        response = getattr(outsider, method)(url, {"yaml": "x"}, format="json")
        assert response.status_code == 404, (method, response.status_code)
    assert editor.get(url).json()["yaml"] == BROKEN


def test_deleting_the_workflow_deletes_its_draft(editor: APIClient) -> None:
    workflow = created(editor)
    editor.put(f"/api/v1/workflows/{workflow['id']}/draft", {"yaml": BROKEN}, format="json")
    assert WorkflowDraft.objects.count() == 1
    assert editor.delete(f"/api/v1/workflows/{workflow['id']}").status_code == 204
    assert WorkflowDraft.objects.count() == 0

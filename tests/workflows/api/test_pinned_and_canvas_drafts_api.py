"""The designer's work kept on the server outside versions: a workflow's pinned sample data
(shared by the tenant's editors, JSON only, bounded, tenant isolated) and the caller's draft of a
new workflow not created yet (per user and tenant)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.workflows.api.documents import hello
from workflows.models import CanvasDraft, PinnedData, Role, Tenant
from workflows.services.drafts import MAX_PINNED_BYTES


def created(client: APIClient) -> dict:
    response = client.post("/api/v1/workflows", {"yaml": hello(), "message": "v1"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_pinned_data_is_kept_with_the_workflow_replaced_and_cleared(editor: APIClient, api_client_for,
                                                                    tenant: Tenant) -> None:
    workflow = created(editor)
    url = f"/api/v1/workflows/{workflow['id']}/pinned"
    empty = editor.get(url)
    assert empty.status_code == 200 and empty.json() == {"nodes": {}, "author": "", "updated_at": None}

    nodes = {"start": {"status": 200, "body": {"name": "Ada", "tags": ["a", 1, None, True]}}, "shape": [1, 2.5]}
    saved = editor.put(url, {"nodes": nodes}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["nodes"] == nodes and saved.json()["author"] and saved.json()["updated_at"]

    # A teammate (another editor of the tenant) sees the same data; by name too.
    teammate = api_client_for(Role.EDITOR, tenant)
    assert teammate.get("/api/v1/workflows/hello/pinned/").json()["nodes"] == nodes

    # Replaced as a whole; none pinned deletes the row.
    editor.put(url, {"nodes": {"shape": {"x": 1}}}, format="json")
    assert editor.get(url).json()["nodes"] == {"shape": {"x": 1}}
    assert editor.put(url, {"nodes": {}}, format="json").json()["nodes"] == {}
    assert PinnedData.objects.count() == 0
    editor.put(url, {"nodes": {"shape": 1}}, format="json")
    assert editor.delete(url).status_code == 204 and PinnedData.objects.count() == 0
    # Saving a version keeps the pinned data (the draft is dropped on save, pinned data is not).
    editor.put(url, {"nodes": {"shape": 1}}, format="json")
    assert editor.put(f"/api/v1/workflows/{workflow['id']}", {"yaml": hello(greeting="Hi"), "message": "v2"},
                      format="json").status_code == 200
    assert editor.get(url).json()["nodes"] == {"shape": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "nodes"),
        ({"nodes": [1, 2]}, "nodes"),
        ({"nodes": "x"}, "nodes"),
        ({"nodes": {"": 1}}, "nodes."),
        ({"nodes": {"n" * 101: 1}}, "nodes." + "n" * 100),
        ({"nodes": {f"n{i}": 1 for i in range(501)}}, "nodes"),
    ],
)
def test_bad_pinned_data_is_a_400_naming_its_field(editor: APIClient, body: dict, field: str) -> None:
    workflow = created(editor)
    response = editor.put(f"/api/v1/workflows/{workflow['id']}/pinned", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"], error


def test_pinned_data_is_json_only_and_bounded(editor: APIClient) -> None:
    workflow = created(editor)
    url = f"/api/v1/workflows/{workflow['id']}/pinned"
    form = editor.put(url, "nodes=1", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415, form.content
    yaml = editor.put(url, "nodes: {a: 1}\n", content_type="application/yaml")
    assert yaml.status_code == 415
    not_json = editor.put(url, '{"nodes": {"a": NaN}}', content_type="application/json")
    assert not_json.status_code == 400
    big = editor.put(url, {"nodes": {"http": "x" * MAX_PINNED_BYTES}}, format="json")
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    assert "nodes" in big.json()["error"]["details"]["fields"]
    assert editor.get(url).json()["nodes"] == {}


def test_pinned_data_is_the_tenants_own_and_a_viewer_only_reads_it(editor: APIClient, viewer: APIClient,
                                                                    outsider: APIClient) -> None:
    workflow = created(editor)
    url = f"/api/v1/workflows/{workflow['id']}/pinned"
    editor.put(url, {"nodes": {"start": {"secret_sample": 1}}}, format="json")
    assert viewer.get(url).json()["nodes"] == {"start": {"secret_sample": 1}}
    assert viewer.put(url, {"nodes": {}}, format="json").status_code == 403
    assert viewer.delete(url).status_code == 403
    for method in ("get", "put", "delete"):
        response = getattr(outsider, method)(url, {"nodes": {"start": 2}}, format="json")
        assert response.status_code == 404, (method, response.status_code)
    # The other tenant's workflow of the same name is its own.
    created(outsider)
    assert outsider.get("/api/v1/workflows/hello/pinned").json()["nodes"] == {}
    assert editor.get(url).json()["nodes"] == {"start": {"secret_sample": 1}}


def test_deleting_the_workflow_deletes_its_pinned_data(editor: APIClient) -> None:
    workflow = created(editor)
    editor.put(f"/api/v1/workflows/{workflow['id']}/pinned", {"nodes": {"start": 1}}, format="json")
    assert editor.delete(f"/api/v1/workflows/{workflow['id']}").status_code == 204
    assert PinnedData.objects.count() == 0


NEW = "/api/v1/drafts/new"


def test_a_new_workflow_is_kept_as_the_callers_draft_until_discarded(editor: APIClient) -> None:
    assert editor.get(NEW).status_code == 404
    half = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: untitled\nspec: [unclosed\n"
    saved = editor.put(NEW, {"yaml": half, "template": "user-onboarding"}, format="json")
    assert saved.status_code == 200, saved.json()
    body = saved.json()
    assert body["yaml"] == half and body["template"] == "user-onboarding" and body["pinned"] == {}
    assert body["updated_at"]
    # A field left out keeps its value: pinned data alone, then the text alone.
    editor.put(NEW, {"pinned": {"http": {"body": {"name": "Ada"}}}}, format="json")
    editor.put(NEW + "/", {"yaml": half + "# more\n"}, format="json")
    again = editor.get(NEW).json()
    assert again["yaml"].endswith("# more\n") and again["template"] == "user-onboarding"
    assert again["pinned"] == {"http": {"body": {"name": "Ada"}}}
    assert CanvasDraft.objects.count() == 1
    # Nothing of it is a workflow.
    assert editor.get("/api/v1/workflows").json()["count"] == 0

    assert editor.delete(NEW).status_code == 204
    assert editor.get(NEW).status_code == 404
    assert editor.delete(NEW).status_code == 204


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"yaml": 3}, "yaml", 400),
        ({"template": 5}, "template", 400),
        ({"template": "t" * 201}, "template", 400),
        ({"pinned": [1]}, "pinned", 400),
        ({"pinned": {"a": "x" * MAX_PINNED_BYTES}}, "pinned", 413),
        ({"yaml": "x" * (5 * 1024 * 1024 + 1)}, "yaml", 413),
    ],
)
def test_a_bad_new_workflow_draft_is_refused_naming_its_field(editor: APIClient, body: dict, field: str,
                                                               code: int) -> None:
    response = editor.put(NEW, body, format="json")
    assert response.status_code == code, response.json()
    error = response.json()["error"]
    if code == 413:
        assert error["code"] == "payload_too_large", error
    else:
        assert field in error["details"].get("fields", {}), error
    assert CanvasDraft.objects.count() == 0


def test_a_new_workflow_draft_is_per_user_and_tenant(editor: APIClient, viewer: APIClient, outsider: APIClient,
                                                     api_client_for, tenant: Tenant) -> None:
    editor.put(NEW, {"yaml": "mine"}, format="json")
    teammate = api_client_for(Role.EDITOR, tenant)
    assert teammate.get(NEW).status_code == 404
    teammate.put(NEW, {"yaml": "theirs"}, format="json")
    assert editor.get(NEW).json()["yaml"] == "mine" and teammate.get(NEW).json()["yaml"] == "theirs"
    assert outsider.get(NEW).status_code == 404
    teammate.delete(NEW)
    assert editor.get(NEW).json()["yaml"] == "mine"
    # Viewers make no workflows, so they keep no new-workflow draft.
    assert viewer.get(NEW).status_code == 403 and viewer.put(NEW, {"yaml": "x"}, format="json").status_code == 403

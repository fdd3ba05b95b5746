"""Every endpoint: 401 without a valid key, 403 for a viewer's write, 404 across tenants."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import make_key
from tests.workflows.api.documents import hello
from workflows.models import ApiKey, Role, Workflow

WF = "hello"
READ_ENDPOINTS = [
    "/api/v1/me",
    "/api/v1/workflows",
    f"/api/v1/workflows/{WF}",
    f"/api/v1/workflows/{WF}/versions",
    f"/api/v1/workflows/{WF}/versions/1",
    f"/api/v1/workflows/{WF}/diff?from=1",
    f"/api/v1/workflows/{WF}/export",
    "/api/v1/node-types",
    "/api/v1/node-types/http",
    "/api/v1/schema/workflow.json",
    "/api/v1/templates",
    "/api/v1/templates/order-processing",
    "/api/v1/keys",
    "/api/v1/members",
]
WRITE_ENDPOINTS = [
    ("post", "/api/v1/workflows"),
    ("put", f"/api/v1/workflows/{WF}"),
    ("patch", f"/api/v1/workflows/{WF}"),
    ("delete", f"/api/v1/workflows/{WF}"),
    ("post", f"/api/v1/workflows/{WF}/duplicate"),
    ("post", f"/api/v1/workflows/{WF}/rollback"),
    ("post", "/api/v1/workflows/import"),
    ("post", "/api/v1/templates"),
    ("post", "/api/v1/keys"),
    ("post", "/api/v1/members"),
]


@pytest.fixture
def stored(editor: APIClient) -> dict:
    response = editor.post("/api/v1/workflows", {"yaml": hello()}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.parametrize("path", READ_ENDPOINTS)
@pytest.mark.parametrize("credentials", ["none", "invalid", "revoked"])
def test_it_answers_401_without_a_valid_key(path: str, credentials: str, stored: dict, tenant) -> None:
    client = APIClient()
    if credentials == "invalid":
        client.credentials(HTTP_AUTHORIZATION="Bearer mbf_not-a-real-key")
    elif credentials == "revoked":
        key, raw = make_key(tenant, Role.OWNER)
        ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
        client.credentials(HTTP_X_API_KEY=raw)
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


@pytest.mark.parametrize(("method", "path"), [*WRITE_ENDPOINTS, ("post", "/api/v1/workflows/validate")])
def test_writes_without_a_key_answer_401(method: str, path: str, stored: dict) -> None:
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
def test_a_viewer_cannot_write(method: str, path: str, stored: dict, viewer: APIClient) -> None:
    before = Workflow.objects.get(name=WF).versions.count()
    response = getattr(viewer, method)(path, {"yaml": hello()}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Workflow.objects.get(name=WF).versions.count() == before


def test_a_viewer_can_read_and_validate(stored: dict, viewer: APIClient) -> None:
    assert viewer.get(f"/api/v1/workflows/{WF}").status_code == 200
    assert viewer.post("/api/v1/workflows/validate", {"yaml": hello()}, format="json").status_code == 200


@pytest.mark.parametrize("path", [p for p in READ_ENDPOINTS if WF in p])
def test_another_tenant_gets_404_for_a_workflow_and_its_versions(path: str, stored: dict, outsider) -> None:
    wid = stored["id"]
    for address in (path, path.replace(f"/{WF}", f"/{wid}")):
        response = outsider.get(address)
        assert response.status_code == 404, address
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("put", "", {"yaml": hello(greeting="Owned")}),
    ("patch", "", {"archived": True}),
    ("delete", "", None),
    ("post", "/rollback", {"version": 1}),
    ("post", "/duplicate", {"name": "stolen"}),
])
def test_another_tenant_cannot_change_a_workflow(method, suffix, body, stored: dict, outsider) -> None:
    response = getattr(outsider, method)(f"/api/v1/workflows/{stored['id']}{suffix}", body, format="json")
    assert response.status_code == 404
    workflow = Workflow.objects.get(pk=stored["id"])
    assert workflow.versions.count() == 1
    assert workflow.archived is False
    assert "Owned" not in workflow.active_version.yaml_text


def test_another_tenant_gets_404_for_a_template_and_a_key(admin_client: APIClient, outsider) -> None:
    template = admin_client.post(
        "/api/v1/templates", {"yaml": hello(name="acme-template")}, format="json").json()
    key = admin_client.post("/api/v1/keys", {"name": "ci", "role": "viewer"}, format="json").json()
    assert outsider.get(f"/api/v1/templates/{template['id']}").status_code == 404
    assert outsider.delete(f"/api/v1/templates/{template['id']}").status_code == 404
    assert outsider.get(f"/api/v1/keys/{key['id']}").status_code == 404
    assert outsider.delete(f"/api/v1/keys/{key['id']}").status_code == 404
    assert ApiKey.objects.get(pk=key["id"]).revoked_at is None
    names = [t["name"] for t in outsider.get("/api/v1/templates?page_size=100").json()["results"]]
    assert "acme-template" not in names


def test_lists_show_only_the_callers_tenant(stored: dict, outsider) -> None:
    outsider.post("/api/v1/workflows", {"yaml": hello(name="globex-flow")}, format="json")
    names = [w["name"] for w in outsider.get("/api/v1/workflows").json()["results"]]
    assert names == ["globex-flow"]


def test_the_same_name_may_exist_in_two_tenants(stored: dict, outsider) -> None:
    response = outsider.post("/api/v1/workflows", {"yaml": hello()}, format="json")
    assert response.status_code == 201
    assert Workflow.objects.filter(name=WF).count() == 2


def test_an_editor_cannot_manage_keys_or_members(editor: APIClient) -> None:
    assert editor.get("/api/v1/keys").status_code == 403
    assert editor.post("/api/v1/keys", {"name": "x"}, format="json").status_code == 403
    assert editor.get("/api/v1/members").status_code == 403


def test_a_key_revoked_through_the_api_or_the_admin_action_stops_working_at_once(
    admin_client: APIClient, tenant
) -> None:
    key, raw = make_key(tenant, Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/workflows").status_code == 200  # now cached for API_KEY_CACHE_SECONDS
    assert admin_client.delete(f"/api/v1/keys/{key.pk}").status_code == 200
    assert client.get("/api/v1/workflows").status_code == 401

    from django.contrib.admin.sites import site

    other, other_raw = make_key(tenant, Role.VIEWER, name="second")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_raw}")
    assert client.get("/api/v1/workflows").status_code == 200
    site._registry[ApiKey].revoke(_admin_request(), ApiKey.objects.filter(pk=other.pk))
    assert client.get("/api/v1/workflows").status_code == 401


def _admin_request():
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_a_key_revoked_by_another_process_works_here_until_the_cache_time_passes(
    tenant, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from workflows import auth

    settings.API_KEY_CACHE_SECONDS = 5
    key, raw = make_key(tenant, Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/workflows").status_code == 200
    # Another process revokes it: a plain UPDATE, no signal reaches this one.
    ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert client.get("/api/v1/workflows").status_code == 200
    now = time.monotonic()
    monkeypatch.setattr(auth, "clock", lambda: now + 5.1)
    assert client.get("/api/v1/workflows").status_code == 401


def test_without_a_cache_time_every_request_reads_the_key(tenant, settings) -> None:
    settings.API_KEY_CACHE_SECONDS = 0
    key, raw = make_key(tenant, Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/workflows").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert client.get("/api/v1/workflows").status_code == 401

"""Node types, templates, keys, members, identity and the service endpoints."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.workflows.api.documents import hello
from workflows.models import ApiKey, Role

BUILT_IN = {"http", "transform", "condition", "switch", "merge", "foreach", "delay", "wait_until", "approval",
            "sub_workflow", "llm", "function", "log", "noop", "webhook_response"}


def test_node_types_list_every_built_in_type_with_its_schema(viewer: APIClient) -> None:
    body = viewer.get("/api/v1/node-types?page_size=100").json()
    by_type = {t["type"]: t for t in body["results"]}
    assert set(by_type) >= BUILT_IN
    http = viewer.get("/api/v1/node-types/http").json()
    assert "url" in http["config_schema"]["properties"]
    assert {"type", "title", "category", "description", "config_schema", "output_ports"} <= set(http)
    assert viewer.get("/api/v1/node-types/teleport").status_code == 404


def test_the_workflow_json_schema_is_served(viewer: APIClient) -> None:
    response = viewer.get("/api/v1/schema/workflow.json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "nodes" in text and "edges" in text


def test_at_least_six_templates_are_shipped_and_each_is_valid(viewer: APIClient) -> None:
    results = viewer.get("/api/v1/templates?page_size=100").json()["results"]
    builtin = [t for t in results if t["builtin"]]
    assert len(builtin) >= 6
    for template in builtin:
        text = viewer.get(f"/api/v1/templates/{template['id']}").json()["yaml"]
        body = viewer.post("/api/v1/workflows/validate", {"yaml": text}, format="json").json()
        assert body["valid"], (template["id"], body["errors"])


def test_a_tenant_template_can_be_created_and_deleted(editor: APIClient) -> None:
    created = editor.post("/api/v1/templates", {"yaml": hello(name="my-template")}, format="json")
    assert created.status_code == 201, created.json()
    template_id = created.json()["id"]
    assert editor.get(f"/api/v1/templates/{template_id}").json()["yaml"] == hello(name="my-template")
    assert editor.delete(f"/api/v1/templates/{template_id}").status_code == 204
    assert editor.get(f"/api/v1/templates/{template_id}").status_code == 404


def test_a_key_secret_is_shown_once_and_works_until_revoked(admin_client: APIClient) -> None:
    created = admin_client.post("/api/v1/keys", {"name": "deploy bot", "role": "viewer"}, format="json")
    assert created.status_code == 201
    raw = created.json()["key"]
    listed = admin_client.get("/api/v1/keys").json()["results"]
    assert all("key" not in k for k in listed)
    assert raw not in str(listed)
    assert raw not in str(list(ApiKey.objects.values()))  # only the hash is stored
    bot = APIClient()
    bot.credentials(HTTP_X_API_KEY=raw)
    assert bot.get("/api/v1/workflows").status_code == 200
    assert admin_client.delete(f"/api/v1/keys/{created.json()['id']}").json()["revoked"] is True
    assert bot.get("/api/v1/workflows").status_code == 401


def test_an_admin_cannot_mint_an_owner_key(admin_client: APIClient) -> None:
    assert admin_client.post("/api/v1/keys", {"name": "x", "role": "owner"}, format="json").status_code == 403


def test_members_can_be_added_rerolled_and_removed(admin_client: APIClient, tenant) -> None:
    UserFactory(username="bob")
    added = admin_client.post("/api/v1/members", {"username": "bob", "role": "viewer"}, format="json")
    assert added.status_code == 201, added.json()
    member_id = added.json()["id"]
    changed = admin_client.patch(f"/api/v1/members/{member_id}", {"role": "editor"}, format="json")
    assert changed.json()["role"] == "editor"
    assert admin_client.delete(f"/api/v1/members/{member_id}").status_code == 204
    assert admin_client.post("/api/v1/members", {"username": "nobody"}, format="json").status_code == 400


def test_a_session_user_sees_its_tenants_and_switches(db) -> None:
    user = UserFactory(username="carol")
    first = MembershipFactory(user=user, tenant=TenantFactory(slug="alpha"), role=Role.VIEWER)
    MembershipFactory(user=user, tenant=TenantFactory(slug="beta"), role=Role.EDITOR)
    client = APIClient()
    assert client.login(username="carol", password="pass-word-123")
    me = client.get("/api/v1/me").json()
    assert me["tenant"]["slug"] == first.tenant.slug
    assert {t["slug"] for t in me["tenants"]} == {"alpha", "beta"}
    switched = client.post("/api/v1/me/tenant", {"tenant": "beta"}, format="json")
    assert switched.json()["role"] == "editor"
    assert client.get("/api/v1/me").json()["tenant"]["slug"] == "beta"
    assert client.post("/api/v1/me/tenant", {"tenant": "gamma"}, format="json").status_code == 404


def test_a_session_write_needs_the_csrf_token(db) -> None:
    user = UserFactory(username="dave")
    MembershipFactory(user=user, role=Role.EDITOR)
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="dave", password="pass-word-123")
    response = client.post("/api/v1/workflows", {"yaml": hello()}, format="json")
    assert response.status_code == 403


def test_health_ready_and_metrics(client, db) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ok" and ready["checks"]["database"] == "ok"
    metrics = client.get("/metrics").content.decode()
    assert "mbflow_http_requests_total" in metrics


def test_openapi_schema_and_swagger_ui(client, db) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/workflows" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_api_keys_from_the_environment_are_seeded_hashed(settings, tenant) -> None:
    from workflows.services.keys import seed_keys_from_settings

    settings.API_KEYS = ["env-key-one-abcdefgh"]
    assert seed_keys_from_settings(tenant) == 1
    assert seed_keys_from_settings(tenant) == 0
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer env-key-one-abcdefgh")
    assert client.get("/api/v1/workflows").status_code == 200

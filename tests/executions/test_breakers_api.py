"""GET /api/v1/circuit-breakers and POST /api/v1/circuit-breakers/{key}/reset: the tenant's
breakers in the store the app wired (Redis under REDIS_URL), never another tenant's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from executions.engine import ports
from executions.engine.breakers import BreakerStore
from tests.conftest import ClientFor
from workflows.models import Role, Tenant
from workflows.spec.models import CircuitBreaker

POLICY = CircuitBreaker(failure_threshold=2, recovery_timeout=90)
URL = "/api/v1/circuit-breakers"


@pytest.fixture
def breakers(tenant: Tenant, other_tenant: Tenant) -> Iterator[BreakerStore]:
    """The wired store; the two tenants' breakers are deleted from Redis afterwards."""
    yield ports.breaker_store()
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        for owner in (tenant, other_tenant):
            keys = list(client.scan_iter(f"{settings.MBFLOW_QUEUE_PREFIX}:breakers:*:{owner.pk}*"))
            if keys:
                client.delete(*keys)


def fail(store: BreakerStore, tenant: Tenant, key: str, times: int) -> None:
    for _ in range(times):
        assert store.admit(tenant.pk, key, POLICY).allowed
        store.record(tenant.pk, key, POLICY, False)


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_the_list_shows_each_breaker_of_the_tenant_with_its_counts_and_times(
        viewer: APIClient, breakers: BreakerStore, tenant: Tenant) -> None:
    fail(breakers, tenant, "orders:charge", 2)
    fail(breakers, tenant, "crm-api", 1)
    breakers.record(tenant.pk, "crm-api", POLICY, True)
    response = viewer.get(URL)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2
    crm, charge = body["results"]
    assert crm == {"key": "crm-api", "state": "closed", "failures": 0, "calls": 2, "window_failures": 1,
                   "half_open_calls": 0, "opened_at": None, "retry_at": None, "updated_at": crm["updated_at"]}
    assert charge["key"] == "orders:charge"
    assert (charge["state"], charge["failures"], charge["calls"], charge["window_failures"]) == ("open", 2, 2, 2)
    assert seconds(charge["retry_at"]) - seconds(charge["opened_at"]) == pytest.approx(90, abs=0.001)
    assert charge["updated_at"] == charge["opened_at"]
    assert charge["opened_at"].endswith("+00:00")


def test_a_tenant_without_breakers_gets_an_empty_list(viewer: APIClient, breakers: BreakerStore) -> None:
    response = viewer.get(URL)
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (0, [])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_an_admin_resets_an_open_breaker_and_calls_go_through_again(
        api_client_for: ClientFor, breakers: BreakerStore, tenant: Tenant, role: str) -> None:
    fail(breakers, tenant, "orders:charge", 2)
    assert not breakers.admit(tenant.pk, "orders:charge", POLICY).allowed
    response = api_client_for(role, tenant).post(f"{URL}/orders:charge/reset")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["key"], body["state"], body["failures"], body["calls"], body["window_failures"]) == (
        "orders:charge", "closed", 0, 0, 0)
    assert (body["opened_at"], body["retry_at"]) == (None, None)
    assert breakers.admit(tenant.pk, "orders:charge", POLICY).allowed
    [listed] = api_client_for(Role.VIEWER, tenant).get(URL).json()["results"]
    assert listed["state"] == "closed"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_only_admins_and_owners_may_reset(
        api_client_for: ClientFor, breakers: BreakerStore, tenant: Tenant, role: str) -> None:
    fail(breakers, tenant, "crm-api", 2)
    response = api_client_for(role, tenant).post(f"{URL}/crm-api/reset")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not breakers.admit(tenant.pk, "crm-api", POLICY).allowed


def test_resetting_an_unknown_key_is_a_404_in_the_error_envelope(
        admin_client: APIClient, breakers: BreakerStore) -> None:
    response = admin_client.post(f"{URL}/never-called/reset")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "never-called" in response.json()["error"]["message"]


def test_a_key_with_characters_no_breaker_key_has_is_a_404(admin_client: APIClient, breakers: BreakerStore) -> None:
    response = admin_client.post(f"{URL}/a%20b/reset")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_tenant_never_sees_nor_resets_another_tenants_breaker(
        outsider: APIClient, viewer: APIClient, breakers: BreakerStore, tenant: Tenant,
        other_tenant: Tenant) -> None:
    fail(breakers, tenant, "shared-name", 2)
    fail(breakers, other_tenant, "theirs", 1)
    assert [b["key"] for b in outsider.get(URL).json()["results"]] == ["theirs"]
    assert [b["key"] for b in viewer.get(URL).json()["results"]] == ["shared-name"]
    response = outsider.post(f"{URL}/shared-name/reset")
    assert response.status_code == 404
    assert viewer.get(URL).json()["results"][0]["state"] == "open"
    assert not breakers.admit(tenant.pk, "shared-name", POLICY).allowed


def test_the_breaker_routes_need_a_caller(client: APIClient, breakers: BreakerStore) -> None:
    assert APIClient().get(URL).status_code == 401
    assert APIClient().post(f"{URL}/x/reset").status_code == 401


def test_the_openapi_schema_describes_both_routes(viewer: APIClient) -> None:
    schema = viewer.get("/api/schema/", {"format": "json"}).json()
    assert "get" in schema["paths"]["/api/v1/circuit-breakers/"]
    reset = schema["paths"]["/api/v1/circuit-breakers/{key}/reset/"]["post"]
    ref = reset["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert component["properties"]["opened_at"] == {"type": "string", "format": "date-time", "nullable": True}
    states = schema["components"]["schemas"][component["properties"]["state"]["$ref"].rsplit("/", 1)[-1]]
    assert states["enum"] == ["closed", "open", "half_open"]

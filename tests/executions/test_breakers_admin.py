"""Django admin: a tenant's circuit breakers, seen from its Tenant page and reset there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from executions.engine import ports
from executions.engine.breakers import BreakerStore
from workflows.models import Tenant
from workflows.spec.models import CircuitBreaker

POLICY = CircuitBreaker(failure_threshold=2, recovery_timeout=60)


@pytest.fixture
def breakers(tenant: Tenant, other_tenant: Tenant) -> Iterator[BreakerStore]:
    """The wired store, holding an open breaker and a closed one of ``tenant`` and one of
    ``other_tenant``; the tenants' breakers are deleted from Redis afterwards."""
    store = ports.breaker_store()
    for _ in range(2):
        store.record(tenant.pk, "orders:charge", POLICY, False)
    store.record(tenant.pk, "crm-api", POLICY, True)
    store.record(other_tenant.pk, "globex-secret-service", POLICY, False)
    yield store
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        for owner in (tenant, other_tenant):
            keys = list(client.scan_iter(f"{settings.MBFLOW_QUEUE_PREFIX}:breakers:*:{owner.pk}*"))
            if keys:
                client.delete(*keys)


@pytest.fixture
def superuser_client(client: Client, db: None) -> Client:
    get_user_model().objects.create_superuser("root", "root@localhost", "pass-word-123")
    client.login(username="root", password="pass-word-123")
    return client


@pytest.fixture
def viewing_staff_client(db: None) -> Client:
    """A staff user who may view tenants but not change them."""
    user = get_user_model().objects.create_user("watcher", "watcher@localhost", "pass-word-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    client = Client()
    client.login(username="watcher", password="pass-word-123")
    return client


def page_url(tenant: Tenant) -> str:
    return f"/admin/workflows/tenant/{tenant.pk}/circuit-breakers/"


def test_the_tenant_page_links_to_its_breakers_with_their_count(
        superuser_client: Client, breakers: BreakerStore, tenant: Tenant) -> None:
    html = superuser_client.get(f"/admin/workflows/tenant/{tenant.pk}/change/").content.decode()
    assert f'<a href="{page_url(tenant)}">2 breaker(s), 1 not closed</a>' in html


def test_the_add_tenant_form_still_works_without_breakers(superuser_client: Client, db: None) -> None:
    assert superuser_client.get("/admin/workflows/tenant/add/").status_code == 200
    response = superuser_client.post("/admin/workflows/tenant/add/", {
        "slug": "initech", "name": "Initech", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Tenant.objects.filter(slug="initech").exists()


def test_the_breakers_page_shows_only_that_tenants_breakers_and_their_state(
        superuser_client: Client, breakers: BreakerStore, tenant: Tenant) -> None:
    page = superuser_client.get(page_url(tenant))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<tr class="breaker-open">' in html and '<th scope="row">orders:charge</th>' in html
    assert '<tr class="breaker-closed">' in html and '<th scope="row">crm-api</th>' in html
    assert "globex-secret-service" not in html
    assert html.count('value="Reset"') == 2


def test_a_superuser_resets_a_breaker_and_the_tenant_history_says_so(
        superuser_client: Client, breakers: BreakerStore, tenant: Tenant) -> None:
    assert not breakers.admit(tenant.pk, "orders:charge", POLICY).allowed
    response = superuser_client.post(page_url(tenant), {"key": "orders:charge"}, follow=True)
    assert response.redirect_chain == [(page_url(tenant), 302)]
    html = response.content.decode()
    assert "Circuit breaker orders:charge is closed, its counts forgotten." in html
    assert '<tr class="breaker-open">' not in html
    assert breakers.admit(tenant.pk, "orders:charge", POLICY).allowed
    entry = LogEntry.objects.get(object_id=str(tenant.pk))
    assert entry.get_change_message() == "Reset circuit breaker orders:charge."


def test_resetting_a_key_the_tenant_has_no_breaker_of_says_so(
        superuser_client: Client, breakers: BreakerStore, tenant: Tenant) -> None:
    response = superuser_client.post(page_url(tenant), {"key": "globex-secret-service"}, follow=True)
    assert "No circuit breaker &#x27;globex-secret-service&#x27;." in response.content.decode()
    assert not LogEntry.objects.exists()


def test_a_staff_user_who_may_only_view_tenants_sees_breakers_but_cannot_reset(
        viewing_staff_client: Client, breakers: BreakerStore, tenant: Tenant) -> None:
    page = viewing_staff_client.get(page_url(tenant))
    assert page.status_code == 200
    assert "orders:charge" in page.content.decode()
    assert 'value="Reset"' not in page.content.decode()
    assert viewing_staff_client.post(page_url(tenant), {"key": "orders:charge"}).status_code == 403
    assert not breakers.admit(tenant.pk, "orders:charge", POLICY).allowed


def test_the_breakers_page_is_for_staff_only(client: Client, breakers: BreakerStore, tenant: Tenant) -> None:
    response = client.get(page_url(tenant))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_unknown_tenant_has_no_breakers_page(superuser_client: Client, db: None) -> None:
    response = superuser_client.get("/admin/workflows/tenant/00000000-0000-0000-0000-000000000000/circuit-breakers/")
    assert response.status_code == 404

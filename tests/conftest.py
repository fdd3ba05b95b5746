"""Fixtures shared by every backend test: tenants, keys, API clients per role."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as FlushCommand
from rest_framework.test import APIClient

from tests.factories import TenantFactory, make_key
from workflows.models import Role, Tenant


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser end-to-end tests (Chromium)")
    if os.environ.get("MBFLOW_REQUIRE_SERVICES") == "1":
        problems = []
        if not settings.IS_POSTGRES:
            problems.append("DATABASE_URL does not point at PostgreSQL")
        elif not _reachable(settings.DATABASE_URL, 5432):
            problems.append("PostgreSQL is not reachable")
        if not settings.REDIS_URL:
            problems.append("REDIS_URL is not set")
        elif not _reachable(settings.REDIS_URL, 6379):
            problems.append("Redis is not reachable")
        if problems:
            raise pytest.UsageError("MBFLOW_REQUIRE_SERVICES=1 but " + "; ".join(problems))


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory(slug="acme", name="Acme")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return TenantFactory(slug="globex", name="Globex")


ClientFor = Callable[..., APIClient]


@pytest.fixture
def api_client_for(db: None) -> ClientFor:
    """An APIClient authenticated with a fresh API key of that role in that tenant."""

    def build(role: str = Role.EDITOR, tenant: Tenant | None = None, header: str = "bearer") -> APIClient:
        chosen = tenant or Tenant.objects.get_or_create(slug="acme", defaults={"name": "Acme"})[0]
        _, raw = make_key(chosen, role)
        client = APIClient()
        if header == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        else:
            client.credentials(HTTP_X_API_KEY=raw)
        client.raw_key = raw  # type: ignore[attr-defined]
        return client

    return build


@pytest.fixture
def editor(api_client_for: ClientFor, tenant: Tenant) -> APIClient:
    return api_client_for(Role.EDITOR, tenant)


@pytest.fixture
def viewer(api_client_for: ClientFor, tenant: Tenant) -> APIClient:
    return api_client_for(Role.VIEWER, tenant)


@pytest.fixture
def admin_client(api_client_for: ClientFor, tenant: Tenant) -> APIClient:
    return api_client_for(Role.ADMIN, tenant)


@pytest.fixture
def outsider(api_client_for: ClientFor, other_tenant: Tenant) -> APIClient:
    return api_client_for(Role.OWNER, other_tenant)


@pytest.fixture(autouse=True)
def _flush_again_after_a_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transactional test ends with a flush (TRUNCATE of every table, each table's lock taken
    in turn). A process beside the tests on their database - a test's server or the Celery
    worker finishing a read for a run that ended - can hold one of those tables while it waits
    for another: PostgreSQL then ends the flush as a deadlock's victim (seen in full runs). The
    flush is tried again, up to three times, for that error alone."""
    handle = FlushCommand.handle

    def handle_again(self: FlushCommand, *args: object, **options: object) -> object:
        for attempt in range(3):
            try:
                return handle(self, *args, **options)
            except CommandError as exc:
                if attempt == 2 or "deadlock detected" not in str(exc.__cause__):
                    raise
        return None

    monkeypatch.setattr(FlushCommand, "handle", handle_again)


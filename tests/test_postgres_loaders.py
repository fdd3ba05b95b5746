"""Timestamps read through psycopg's C loader carry the same values as Django's own loader gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

pytestmark = pytest.mark.django_db

if connection.vendor != "postgresql":
    pytest.skip("PostgreSQL only", allow_module_level=True)


def test_timestamps_are_read_by_the_c_loader_in_django_time_zone() -> None:
    from psycopg.pq import Format

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, '2026-01-01 10:00:00.25+05'::timestamptz, "
                       "'1999-12-31 23:59:59-08:30'::timestamptz", ["2026-12-03T22:15:41.123456Z"])
        values = cursor.fetchone()
        loader = cursor.cursor.adapters.get_loader(1184, Format.TEXT)
    assert not issubclass(loader, BaseTzLoader) and loader.__module__ == "mbflow_site.postgres"
    assert values == (datetime(2026, 12, 3, 22, 15, 41, 123456, tzinfo=UTC),
                      datetime(2026, 1, 1, 5, 0, 0, 250000, tzinfo=UTC),
                      datetime(2000, 1, 1, 8, 29, 59, tzinfo=UTC))
    assert all(value.tzinfo is UTC for value in values)
    # The same instants as written with their own offset.
    assert values[1] == datetime(2026, 1, 1, 10, 0, 0, 250000, tzinfo=timezone(timedelta(hours=5)))


def test_rows_read_through_the_orm_keep_their_timestamps() -> None:
    from workflows.models import Tenant

    tenant = Tenant.objects.create(slug="clock", name="Clock")
    stored = Tenant.objects.values_list("created_at", flat=True).get(pk=tenant.pk)
    assert stored == tenant.created_at and stored.tzinfo is UTC

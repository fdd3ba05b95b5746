"""A prepared query answers what the queryset it was compiled from answers, for any values."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db.models import QuerySet

from mbflow_site.queries import PreparedQuery
from workflows.models import Tenant, Workflow
from workflows.services.documents import check_document
from workflows.services.workflows import do_create_workflow


def doc(name: str) -> dict[str, Any]:
    return check_document({"yaml": f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {{name: {name}}}\n"
                                    "spec:\n  nodes:\n    - {id: a, type: noop}\n"})


def by_name(tenant_id: uuid.UUID, name: str) -> QuerySet[Workflow]:
    return Workflow.objects.filter(tenant_id=tenant_id, name=name).select_related("active_version") \
        .defer("active_version__spec")


def test_it_answers_as_the_queryset_with_related_rows_and_deferred_fields(tenant: Tenant, other_tenant: Tenant
                                                                          ) -> None:
    for owner in (tenant, other_tenant):
        for name in ("alpha", "beta"):
            do_create_workflow(owner, doc(name), message="", author="test")
    prepared = PreparedQuery(by_name, tenant_id=uuid.UUID(int=1), name="\0name")
    for owner in (tenant, other_tenant):
        for name in ("alpha", "beta", "missing"):
            [expected] = list(by_name(owner.pk, name)) or [None]
            [found] = prepared(tenant_id=owner.pk, name=name) or [None]
            if expected is None:
                assert found is None
                continue
            assert found is not None
            assert (found.pk, found.tenant_id, found.name) == (expected.pk, owner.pk, name)
            assert found.active_version is not None and expected.active_version is not None
            assert found.active_version.pk == expected.active_version.pk
            assert found.active_version.yaml_text == expected.active_version.yaml_text
            assert found.active_version.get_deferred_fields() == {"spec"}
            assert found.active_version.spec == expected.active_version.spec  # loads on use, as deferred


def test_it_refuses_a_query_whose_sample_does_not_reach_the_sql_unchanged(tenant: Tenant) -> None:
    prepared = PreparedQuery(lambda tenant_id, name: Workflow.objects.filter(tenant_id=tenant_id, name__contains=name),
                             tenant_id=uuid.UUID(int=1), name="\0name")
    with pytest.raises(ValueError, match="name"):
        prepared(tenant_id=tenant.pk, name="al")

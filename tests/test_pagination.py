"""Pages in DRF's shape; the first page of a short list costs one query, not two."""

from __future__ import annotations

import pytest

from mbflow_site.listing import FirstPageCountingPaginator, Listing
from workflows.models import Tenant, Workflow
from workflows.services.workflows import workflow_listing


@pytest.fixture
def workflows(tenant: Tenant):
    def make(count: int):
        Workflow.objects.bulk_create(Workflow(tenant=tenant, name=f"wf-{i:02d}") for i in range(count))
        return Workflow.objects.filter(tenant=tenant).order_by("name")

    return make


@pytest.mark.parametrize("rows", [0, 3, 5])
def test_a_first_page_that_holds_the_whole_list_is_counted_without_a_query(
    rows: int, workflows, django_assert_num_queries
) -> None:
    queryset = workflows(rows)
    paginator = FirstPageCountingPaginator(queryset, 5)
    with django_assert_num_queries(1):
        page = paginator.page(1)
        assert [w.name for w in page] == [f"wf-{i:02d}" for i in range(rows)]
        assert paginator.count == rows
        assert paginator.num_pages == 1
        assert not page.has_next()


def test_a_longer_list_is_counted_and_its_pages_are_read_as_usual(workflows, django_assert_num_queries) -> None:
    queryset = workflows(12)
    paginator = FirstPageCountingPaginator(queryset, 5)
    with django_assert_num_queries(2):
        page = paginator.page("1")
        assert [w.name for w in page] == [f"wf-{i:02d}" for i in range(5)]
        assert paginator.count == 12
        assert page.has_next()
    last = FirstPageCountingPaginator(queryset, 5).page(3)
    assert [w.name for w in last] == ["wf-10", "wf-11"]


def test_the_api_pages_through_a_list(editor, workflows) -> None:
    workflows(3)
    first = editor.get("/api/v1/workflows?page_size=2").json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = editor.get(first["next"]).json()
    assert second["count"] == 3 and [w["name"] for w in second["results"]] == ["wf-02"] and second["next"] is None
    whole = editor.get("/api/v1/workflows").json()
    assert whole["count"] == 3 and whole["next"] is None and len(whole["results"]) == 3


def test_a_listing_reads_its_first_page_with_its_own_reader_and_builds_the_queryset_only_for_other_pages(
    workflows, django_assert_num_queries
) -> None:
    queryset = workflows(7)
    built: list[int] = []

    def build():
        built.append(1)
        return queryset

    asked: list[int] = []

    def first(n: int):
        asked.append(n)
        return list(queryset[:n])

    with django_assert_num_queries(1):
        page = FirstPageCountingPaginator(Listing(build, first), 10).page(1)
    assert [w.name for w in page] == [f"wf-{i:02d}" for i in range(7)] and asked == [11] and not built
    with django_assert_num_queries(2):  # a count, then the page
        second = FirstPageCountingPaginator(Listing(build, first), 5).page(2)
        assert [w.name for w in second] == ["wf-05", "wf-06"]
    assert built == [1] and asked == [11]


@pytest.mark.parametrize("archived", [False, True])
def test_the_first_page_of_a_tenants_workflows_matches_the_orm_and_holds_only_that_tenant(
    archived: bool, tenant: Tenant, other_tenant: Tenant, django_assert_num_queries
) -> None:
    for owner in (tenant, other_tenant):
        Workflow.objects.bulk_create(
            Workflow(tenant=owner, name=f"wf-{i:02d}", archived=i % 3 == 0, title=owner.slug) for i in range(9)
        )
    expected = list(Workflow.objects.filter(tenant=tenant, archived=archived).order_by("name"))
    for limit in (2, 50):
        with django_assert_num_queries(1):
            rows = workflow_listing(tenant, archived=archived).first(limit)
        assert [(w.pk, w.name, w.title, w.archived) for w in rows] == [
            (w.pk, w.name, w.title, w.archived) for w in expected[:limit]
        ]
    searched = workflow_listing(tenant, archived=archived, search="wf-0")
    assert [w.pk for w in searched.first(50)] == [w.pk for w in expected]

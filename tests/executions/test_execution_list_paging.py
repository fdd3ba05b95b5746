"""The executions list for a long history: paging by position (``?cursor=``), finding a run by
the start of its id, and who started a run over the API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import Execution
from tests.executions.conftest import Store
from tests.executions.test_engine_basics import CHAIN
from workflows.models import Tenant, Workflow


def _history(tenant: Tenant, workflow: Workflow, count: int, *, ties: int = 0) -> list[str]:
    """``count`` finished runs one second apart, newest first; the last ``ties`` share one time."""
    now = timezone.now()
    rows = []
    for index in range(count):
        created = now - timedelta(seconds=min(index, count - ties))
        rows.append(Execution(tenant=tenant, workflow=workflow, version=workflow.versions.get(), status="succeeded",
                              created_at=created, started_at=created, finished_at=created + timedelta(seconds=1)))
    Execution.objects.bulk_create(rows)
    return [str(e.pk) for e in sorted(rows, key=lambda e: (e.created_at, e.pk), reverse=True)]


def _pages(client: APIClient, first: str) -> list[dict[str, Any]]:
    pages, url = [], first
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        url = response.json()["next"]
    return pages


def test_a_cursor_pages_through_every_run_once_newest_first_without_counting(
        db: None, tenant: Tenant, store: Store, editor: APIClient) -> None:
    workflow = Workflow.objects.get(pk=store(CHAIN)["id"])
    expected = _history(tenant, workflow, 23, ties=6)

    pages = _pages(editor, "/api/v1/executions?cursor=&page_size=5")

    assert [len(page["results"]) for page in pages] == [5, 5, 5, 5, 3]
    assert [item["id"] for page in pages for item in page["results"]] == expected
    assert "count" not in pages[0]
    assert pages[0]["previous"] is None and pages[1]["previous"] is not None
    back = editor.get(pages[2]["previous"]).json()
    assert [item["id"] for item in back["results"]] == expected[5:10]


def test_a_cursor_keeps_the_filters(db: None, tenant: Tenant, store: Store, editor: APIClient) -> None:
    workflow = Workflow.objects.get(pk=store(CHAIN)["id"])
    expected = _history(tenant, workflow, 7)
    Execution.objects.filter(pk__in=expected[:3]).update(status="failed")

    pages = _pages(editor, "/api/v1/executions?cursor=&page_size=2&status=failed")

    assert [item["id"] for page in pages for item in page["results"]] == expected[:3]


def test_a_cursor_that_is_not_one_is_refused_naming_it(db: None, editor: APIClient) -> None:
    for cursor in ("not-base64!", "cD1ub3QtYS10aW1l"):  # the second is "p=not-a-time"
        response = editor.get(f"/api/v1/executions?cursor={cursor}")
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["details"]["fields"] == {"cursor": ["Not valid."]}


def test_a_run_is_found_by_the_start_of_its_id(db: None, tenant: Tenant, store: Store, editor: APIClient) -> None:
    workflow = Workflow.objects.get(pk=store(CHAIN)["id"])
    ids = _history(tenant, workflow, 5)
    wanted = ids[3]

    for query in (wanted, wanted[:8], wanted[:13], wanted.upper()[:6]):
        found = [item["id"] for item in editor.get(f"/api/v1/executions?id={query}").json()["results"]]
        assert wanted in found, query
        assert all(item.replace("-", "").startswith(query.replace("-", "").lower()) for item in found), query
    assert editor.get(f"/api/v1/executions?id={uuid.uuid4()}").json()["results"] == []
    refused = editor.get("/api/v1/executions?id=xyz")
    assert refused.status_code == 400
    assert "id" in refused.json()["error"]["details"]["fields"]


def test_a_run_started_over_the_api_says_who_started_it(
        embedded: object, store: Store, editor: APIClient, api_client_for: Any) -> None:
    store(CHAIN)
    by_list = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1}}, format="json").json()
    by_execute = editor.post("/api/v1/workflows/chain/execute", {"input": {"n": 1}}, format="json").json()

    for started in (by_list, by_execute):
        assert started["trigger"]["type"] == "api"
        assert started["trigger"]["by"].startswith("key:")
    listed = editor.get("/api/v1/executions?trigger=api").json()["results"]
    assert {item["id"] for item in listed} == {by_list["id"], by_execute["id"]}


def test_a_status_that_is_none_is_refused_naming_it(db: None, editor: APIClient) -> None:
    assert editor.get("/api/v1/executions?status=failed,running").status_code == 200
    for bad in ("bogus", "failed,bogus", "FAILED", "failed,"):
        answer = editor.get(f"/api/v1/executions?status={bad}")
        assert answer.status_code == 400, bad
        assert "status" in answer.json()["error"]["details"]["fields"], answer.json()

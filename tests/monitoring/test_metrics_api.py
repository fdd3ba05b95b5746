"""GET /workflows/{id or name}/metrics and GET /metrics/summary: exact figures on known rows.

The rows (created between 10:00 and 13:00 UTC on 2026-01-01; durations in seconds):

    orders   10:00 succeeded 1   a ok 0.5s                 b ok 0.25s at attempt 3
             10:20 succeeded 2   a ok 1.5s                 b skipped
             10:40 failed    4   a failed 1.0s, attempt 2  b pending
             11:00 succeeded 3   a reused by a replay      b ok 2.0s through its fallback
             11:30 cancelled 10  a cancelled (ran, no end)
             11:59 running       a running
    billing  11:10 succeeded 50
    ad hoc   12:30 succeeded 0.5
    outside the window: orders 09:59:59.999999 (100 s) and 13:00 (the end is excluded); a paused
    orders run from 08:00 with a node waiting; another tenant's own "orders".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.monitoring.conftest import MakeExecution, at
from workflows.models import Tenant, Workflow

WINDOW = "start=2026-01-01T10:00:00Z&end=2026-01-01T13:00:00Z&granularity=1h"


@pytest.fixture
def orders(tenant: Tenant, other_tenant: Tenant, make_execution: MakeExecution,
           workflow_of: Callable[[Tenant, str], Workflow]) -> Workflow:
    orders, billing = workflow_of(tenant, "orders"), workflow_of(tenant, "billing")
    ok = {"status": "succeeded"}
    make_execution(tenant, orders, at(0), "succeeded", 1, {"a": {**ok, "seconds": 0.5},
                                                           "b": {**ok, "seconds": 0.25, "attempt": 3}})
    make_execution(tenant, orders, at(20), "succeeded", 2, {"a": {**ok, "seconds": 1.5},
                                                            "b": {"status": "skipped", "attempt": 0}})
    make_execution(tenant, orders, at(40), "failed", 4, {"a": {"status": "failed", "seconds": 1.0, "attempt": 2},
                                                         "b": {"status": "pending", "attempt": 0}})
    make_execution(tenant, orders, at(60), "succeeded", 3, {
        "a": {**ok, "attempt": 0, "reused_from": "0f0e0d0c-0000-4000-8000-000000000000"},
        "b": {**ok, "seconds": 2.0, "error": {"message": "down", "replaced_by": "b_fallback"}}})
    make_execution(tenant, orders, at(90), "cancelled", 10, {"a": {"status": "cancelled"}})
    make_execution(tenant, orders, at(119), "running", None, {"a": {"status": "running"}})
    make_execution(tenant, billing, at(70), "succeeded", 50)
    make_execution(tenant, None, at(150), "succeeded", 0.5)
    # Outside the window.
    make_execution(tenant, orders, at(-1 / 60_000_000), "succeeded", 100)
    make_execution(tenant, orders, at(180), "succeeded", 100)
    make_execution(tenant, orders, at(-120), "paused", None, {"approve": {"status": "waiting"}})
    make_execution(other_tenant, workflow_of(other_tenant, "orders"), at(5), "failed", 7)
    return orders


def _get(client: APIClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_workflows_metrics_are_exact(orders: Workflow, viewer: APIClient) -> None:
    body = _get(viewer, f"/api/v1/workflows/orders/metrics?{WINDOW}")
    assert body["workflow"] == {"id": str(orders.pk), "name": "orders"}
    assert body["period"] == {"start": "2026-01-01T10:00:00Z", "end": "2026-01-01T13:00:00Z", "length": "3h",
                              "granularity": "1h"}
    # Ended: 1, 2, 4, 3, 10 -> sorted 1 2 3 4 10.
    assert body["metrics"] == {
        "execution_count": 6, "success_count": 3, "failure_count": 1, "cancelled_count": 1,
        "success_rate": 0.6, "avg_duration": 4.0,
        "p50_duration": 3.0, "p95_duration": 8.8, "p99_duration": 9.76,
    }
    assert body["time_series"] == [
        {"time": "2026-01-01T10:00:00Z", "execution_count": 3, "success_count": 2, "failure_count": 1,
         "cancelled_count": 0, "success_rate": 0.666667, "avg_duration": 2.333333, "p95_duration": 3.8},
        {"time": "2026-01-01T11:00:00Z", "execution_count": 3, "success_count": 1, "failure_count": 0,
         "cancelled_count": 1, "success_rate": 0.5, "avg_duration": 6.5, "p95_duration": 9.65},
        {"time": "2026-01-01T12:00:00Z", "execution_count": 0, "success_count": 0, "failure_count": 0,
         "cancelled_count": 0, "success_rate": None, "avg_duration": None, "p95_duration": None},
    ]
    assert body["step_metrics"] == {
        # Ran in 5 (not the replay that reused it); ended in 3, failing once; 0.5 1.0 1.5 s.
        "a": {"execution_count": 5, "failure_count": 1, "failure_rate": 0.333333, "retry_count": 1,
              "avg_duration": 1.0, "p95_duration": 1.45},
        # Ran in 2 (skipped and pending runs made no attempt); its fallback stood in once.
        "b": {"execution_count": 2, "failure_count": 1, "failure_rate": 0.5, "retry_count": 2,
              "avg_duration": 1.125, "p95_duration": 1.9125},
    }


def test_the_workflow_is_found_by_id_as_by_name(orders: Workflow, viewer: APIClient) -> None:
    by_id = _get(viewer, f"/api/v1/workflows/{orders.pk}/metrics?{WINDOW}")
    assert by_id == _get(viewer, f"/api/v1/workflows/orders/metrics/?{WINDOW}")


def test_the_tenant_summary_is_exact(orders: Workflow, viewer: APIClient) -> None:
    body = _get(viewer, f"/api/v1/metrics/summary?{WINDOW}")
    # Ended: orders 1 2 4 3 10, billing 50, ad hoc 0.5 -> 0.5 1 2 3 4 10 50.
    assert body["metrics"] == {
        "execution_count": 8, "success_count": 5, "failure_count": 1, "cancelled_count": 1,
        "success_rate": 0.714286, "avg_duration": 10.071429,
        "p50_duration": 3.0, "p95_duration": 38.0, "p99_duration": 47.6,
    }
    assert [point["execution_count"] for point in body["time_series"]] == [3, 4, 1]
    assert body["time_series"][1]["p95_duration"] == 46.0  # 3 10 50: 10 + 40 * 0.9
    billing = Workflow.objects.get(name="billing", tenant=orders.tenant)
    assert body["workflows"] == [
        {"workflow": {"id": str(orders.pk), "name": "orders"}, "execution_count": 6, "success_count": 3,
         "failure_count": 1, "cancelled_count": 1, "success_rate": 0.6, "avg_duration": 4.0, "p95_duration": 8.8},
        {"workflow": {"id": str(billing.pk), "name": "billing"}, "execution_count": 1, "success_count": 1,
         "failure_count": 0, "cancelled_count": 0, "success_rate": 1.0, "avg_duration": 50.0, "p95_duration": 50.0},
        {"workflow": None, "execution_count": 1, "success_count": 1, "failure_count": 0, "cancelled_count": 0,
         "success_rate": 1.0, "avg_duration": 0.5, "p95_duration": 0.5},
    ]
    # Now, whenever started: the running 11:59 run, the paused 08:00 one (its node is waiting).
    assert body["active"] == {"pending": 0, "running": 1, "paused": 1, "waiting": 1}


def test_the_nodes_that_fail_most_and_the_slowest(orders: Workflow, viewer: APIClient,
                                                  make_execution: MakeExecution) -> None:
    billing = Workflow.objects.get(name="billing", tenant=orders.tenant)
    make_execution(orders.tenant, billing, at(75), "failed", 9, {"pay": {"status": "failed", "seconds": 9.0},
                                                                  "log": {"status": "succeeded", "seconds": 0.1}})
    make_execution(orders.tenant, billing, at(76), "failed", 9, {"pay": {"status": "timed_out", "seconds": 8.0}})
    body = _get(viewer, f"/api/v1/metrics/nodes?{WINDOW}")
    assert body["period"]["length"] == "3h"
    ref = {"id": str(orders.pk), "name": "orders"}
    pay = {"workflow": {"id": str(billing.pk), "name": "billing"}, "node_id": "pay", "execution_count": 2,
           "failure_count": 2, "failure_rate": 1.0, "retry_count": 0, "avg_duration": 8.5, "p95_duration": 8.95}
    assert body["most_failing"] == [
        pay,
        {"workflow": ref, "node_id": "a", "execution_count": 5, "failure_count": 1, "failure_rate": 0.333333,
         "retry_count": 1, "avg_duration": 1.0, "p95_duration": 1.45},
        {"workflow": ref, "node_id": "b", "execution_count": 2, "failure_count": 1, "failure_rate": 0.5,
         "retry_count": 2, "avg_duration": 1.125, "p95_duration": 1.9125},
    ]
    assert [(node["workflow"]["name"], node["node_id"], node["p95_duration"]) for node in body["slowest"]] == [
        ("billing", "pay", 8.95), ("orders", "b", 1.9125), ("orders", "a", 1.45), ("billing", "log", 0.1)]
    one = _get(viewer, f"/api/v1/metrics/nodes?{WINDOW}&workflow=orders&limit=1")
    assert [node["node_id"] for node in one["most_failing"]] == ["a"]
    assert [node["node_id"] for node in one["slowest"]] == ["b"]
    assert viewer.get(f"/api/v1/metrics/nodes?{WINDOW}&limit=0").status_code == 400
    assert viewer.get(f"/api/v1/metrics/nodes?{WINDOW}&workflow=nothing").status_code == 404


def test_an_empty_window_has_zero_counts_and_no_durations(orders: Workflow, viewer: APIClient) -> None:
    window = "start=2025-06-01T00:00:00Z&end=2025-06-01T02:00:00Z&granularity=30m"
    body = _get(viewer, f"/api/v1/workflows/orders/metrics?{window}")
    empty = {"execution_count": 0, "success_count": 0, "failure_count": 0, "cancelled_count": 0,
             "success_rate": None, "avg_duration": None}
    assert body["metrics"] == {**empty, "p50_duration": None, "p95_duration": None, "p99_duration": None}
    assert [point["time"] for point in body["time_series"]] == [
        "2025-06-01T00:00:00Z", "2025-06-01T00:30:00Z", "2025-06-01T01:00:00Z", "2025-06-01T01:30:00Z"]
    assert all(point == {"time": point["time"], **empty, "p95_duration": None} for point in body["time_series"])
    assert body["step_metrics"] == {}
    summary = _get(viewer, f"/api/v1/metrics/summary?{window}")
    assert summary["metrics"]["execution_count"] == 0
    assert summary["workflows"] == []
    nodes = _get(viewer, f"/api/v1/metrics/nodes?{window}")
    assert (nodes["most_failing"], nodes["slowest"]) == ([], [])


def test_a_window_not_on_bucket_edges_cuts_its_first_and_last_buckets(orders: Workflow, viewer: APIClient) -> None:
    # 10:30 to 11:30: the 10:40 run (failed, 4 s) and the 11:00 run (succeeded, 3 s).
    body = _get(viewer, "/api/v1/workflows/orders/metrics?start=2026-01-01T10:30:00Z&end=2026-01-01T11:30:00Z"
                        "&granularity=1h")
    assert body["metrics"]["execution_count"] == 2
    assert [(point["time"], point["execution_count"]) for point in body["time_series"]] == [
        ("2026-01-01T10:00:00Z", 1), ("2026-01-01T11:00:00Z", 1)]
    assert body["metrics"]["p50_duration"] == 3.5


def test_a_period_reaches_back_from_now_with_a_default_granularity(orders: Workflow, viewer: APIClient) -> None:
    body = _get(viewer, "/api/v1/workflows/orders/metrics?period=24h")
    assert body["period"]["length"] == "24h"
    assert body["period"]["granularity"] == "1h"
    assert len(body["time_series"]) in (24, 25)  # the first and last hours cut unless now is on the hour
    assert body["metrics"]["execution_count"] == 0  # the rows are from 2026-01-01
    week = _get(viewer, "/api/v1/metrics/summary?period=7d")
    assert week["period"]["granularity"] == "6h"


@pytest.mark.parametrize(("query", "field"), [
    ("period=soon", "period"),
    ("period=0h", "period"),
    ("period=401d", "period"),
    ("granularity=1x", "granularity"),
    ("period=24h&granularity=1m", "granularity"),  # 1440 buckets
    ("start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "start"),
    ("start=2026-01-01T00:00:00Z&period=1h", "period"),
    ("start=yesterday", "start"),
])
def test_a_bad_window_is_a_400_naming_the_parameter(orders: Workflow, viewer: APIClient, query: str,
                                                     field: str) -> None:
    for path in ("/api/v1/workflows/orders/metrics", "/api/v1/metrics/summary", "/api/v1/metrics/nodes"):
        response = viewer.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert field in error["details"]["fields"], error


def test_an_unknown_workflow_is_a_404(db: None, viewer: APIClient) -> None:
    response = viewer.get("/api/v1/workflows/nothing/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_tenant_sees_only_its_own(orders: Workflow, outsider: APIClient) -> None:
    # Its own workflow named "orders": one failed run at 10:05.
    mine = _get(outsider, f"/api/v1/workflows/orders/metrics?{WINDOW}")
    assert mine["metrics"]["execution_count"] == 1
    assert mine["metrics"]["failure_count"] == 1
    assert mine["step_metrics"] == {}
    assert outsider.get(f"/api/v1/workflows/{orders.pk}/metrics?{WINDOW}").status_code == 404
    summary = _get(outsider, f"/api/v1/metrics/summary?{WINDOW}")
    assert summary["metrics"]["execution_count"] == 1
    assert [row["workflow"]["name"] for row in summary["workflows"]] == ["orders"]
    assert summary["active"] == {"pending": 0, "running": 0, "paused": 0, "waiting": 0}
    nodes = _get(outsider, f"/api/v1/metrics/nodes?{WINDOW}")
    assert (nodes["most_failing"], nodes["slowest"]) == ([], [])
    assert outsider.get(f"/api/v1/metrics/nodes?{WINDOW}&workflow={orders.pk}").status_code == 404


def test_unauthenticated_calls_are_refused(db: None) -> None:
    assert APIClient().get("/api/v1/metrics/summary").status_code == 401
    assert APIClient().get("/api/v1/workflows/orders/metrics").status_code == 401
    assert APIClient().get("/api/v1/metrics/nodes").status_code == 401

"""Business metrics (``spec.metrics``): each finished run feeds its workflow's counters, gauges and
histograms, read back exactly through the API (window figures, label sets, time series) and
Prometheus (totals), in the runtime's own processes (embedded and a real Celery worker)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from executions.engine.store import event_of
from executions.models import ExecutionEvent
from monitoring.models import MetricObservation, MetricSeries
from monitoring.services import business
from monitoring.services.business import do_record_observations
from tests.executions.conftest import Run, Store, doc
from tests.monitoring.test_prometheus import scrape, value
from workflows.models import Tenant, Workflow

ORDERS = doc("orders", """
  nodes:
    - {id: price, type: transform, config: {mapping: {total: "{{ input.amount * input.qty }}",
                                                      plan: "{{ input.plan }}"}}}
    - {id: check, type: fail, when: "{{ input.amount < 0 }}", config: {message: negative}}
  edges:
    - {from: price, to: check}
  output: {total: "{{ nodes.price.output.total }}", plan: "{{ nodes.price.output.plan }}"}
  metrics:
    - name: orders
      type: counter
      description: Orders placed
      labels: {plan: "{{ input.plan }}", status: "{{ execution.status }}"}
    - name: order_value
      type: counter
      value: $.output.total
      when: "{{ execution.status == 'succeeded' }}"
      labels: {plan: "{{ output.plan }}"}
    - name: last_total
      type: gauge
      value: "{{ output.total }}"
    - name: order_size
      type: histogram
      value: "{{ nodes.price.output.total }}"
      buckets: [10, 100, 1000]
""")


def metrics_of(editor: APIClient, name: str, **params: str) -> dict[str, dict[str, Any]]:
    response = editor.get(f"/api/v1/workflows/{name}/business-metrics", params)
    assert response.status_code == 200, response.json()
    return {metric["name"]: metric for metric in response.json()["metrics"]}


def observed(editor: APIClient, name: str, metric: str, count: int, timeout: float = 20) -> dict[str, dict[str, Any]]:
    """The workflow's metrics once ``metric`` has ``count`` observations (recorded as each run's
    end commits, a moment after the run reads as finished)."""
    deadline = time.monotonic() + timeout
    while True:
        found = metrics_of(editor, name)
        if found[metric]["count"] >= count:
            return found
        assert time.monotonic() < deadline, f"{metric}: {found[metric]['count']} observations, not {count}"
        time.sleep(0.05)


def test_finished_runs_feed_counters_gauges_and_histograms_exactly(
        dispatcher: str, store: Store, run: Run, editor: APIClient, client: Client) -> None:
    """GIVEN a workflow declaring a counter of runs, a counter of values (successes only), a gauge
    and a histogram WHEN three runs succeed and one fails (on each dispatcher) THEN the API and
    Prometheus give exactly what those runs observed."""
    store(ORDERS)
    runs = [({"amount": 2, "qty": 3, "plan": "pro"}, "succeeded"),
            ({"amount": 50, "qty": 1, "plan": "free"}, "succeeded"),
            ({"amount": 100, "qty": 9, "plan": "pro"}, "succeeded"),
            ({"amount": -1, "qty": 1, "plan": "pro"}, "failed")]
    for data, status in runs:
        assert run("orders", data)["status"] == status

    found = observed(editor, "orders", "orders", 4)
    found = observed(editor, "orders", "order_size", 4)
    orders = found["orders"]
    assert (orders["type"], orders["description"]) == ("counter", "Orders placed")
    assert orders["labels"] == ["plan", "status"]
    assert (orders["count"], orders["sum"], orders["value"]) == (4, 4.0, 4.0)
    assert {(tuple(sorted(s["labels"].items())), s["count"]) for s in orders["series"]} == {
        ((("plan", "pro"), ("status", "succeeded")), 2), ((("plan", "free"), ("status", "succeeded")), 1),
        ((("plan", "pro"), ("status", "failed")), 1)}
    value_ = found["order_value"]  # successes only (`when`): 6 + 50 + 900
    assert (value_["count"], value_["sum"], value_["min"], value_["max"]) == (3, 956.0, 6.0, 900.0)
    assert value_["value"] == 956.0
    assert {s["labels"]["plan"]: s["sum"] for s in value_["series"]} == {"pro": 906.0, "free": 50.0}
    # The failed run has no output (the gauge skips it: its value is null), but its `price` node
    # ran: the histogram observes -1 too.
    gauge = found["last_total"]
    assert (gauge["count"], gauge["last"], gauge["value"]) == (3, 900.0, 900.0)
    sizes = found["order_size"]
    assert (sizes["count"], sizes["sum"], sizes["avg"], sizes["value"]) == (4, 955.0, 238.75, 238.75)
    # Interpolated as percentile_cont: over -1, 6, 50, 900.
    assert (sizes["p50"], sizes["p95"]) == (28.0, pytest.approx(50 + (900 - 50) * 0.85))
    assert sum(point["count"] for point in orders["time_series"]) == 4

    samples = scrape(client)
    assert value(samples, "mbflow_business_orders_total", tenant="acme", workflow="orders", plan="pro",
                 status="succeeded") == 2.0
    assert value(samples, "mbflow_business_order_value_total", tenant="acme", workflow="orders", plan="free") == 50.0
    assert value(samples, "mbflow_business_last_total", tenant="acme", workflow="orders") == 900.0
    bucket = {bound: value(samples, "mbflow_business_order_size_bucket", tenant="acme", workflow="orders", le=bound)
              for bound in ("10.0", "100.0", "1000.0", "+Inf")}
    assert bucket == {"10.0": 2.0, "100.0": 3.0, "1000.0": 4.0, "+Inf": 4.0}
    assert value(samples, "mbflow_business_order_size_sum", tenant="acme", workflow="orders") == 955.0


@pytest.mark.usefixtures("embedded")
def test_an_end_published_twice_counts_once(store: Store, run: Run, editor: APIClient) -> None:
    store(ORDERS)
    execution = run("orders", {"amount": 1, "qty": 1, "plan": "pro"})
    observed(editor, "orders", "orders", 1)
    end = ExecutionEvent.objects.get(execution_id=execution["id"], type="execution.succeeded")
    assert do_record_observations(execution["id"], event_of(end)) == 0
    assert MetricObservation.objects.filter(execution_id=execution["id"]).count() == 4
    assert MetricSeries.objects.get(metric="orders").count == 1


@pytest.mark.usefixtures("embedded")
def test_label_sets_beyond_the_bound_count_as_other(store: Store, run: Run, editor: APIClient,
                                                    settings: Any) -> None:
    settings.MBFLOW_BUSINESS_METRIC_SERIES = 2
    store(doc("tagged", """
  nodes: [{id: only, type: noop}]
  metrics:
    - {name: runs, type: counter, labels: {customer: "{{ input.customer }}"}}
"""))
    for customer in ("a", "b", "c", "d", "a"):
        run("tagged", {"customer": customer})
    runs = observed(editor, "tagged", "runs", 5)["runs"]
    assert {s["labels"]["customer"]: s["count"] for s in runs["series"]} == {"a": 2, "b": 1, "other": 2}


@pytest.mark.usefixtures("embedded")
def test_a_value_that_is_not_a_number_skips_the_run(store: Store, run: Run, editor: APIClient,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    store(doc("wordy", """
  nodes: [{id: only, type: noop}]
  metrics:
    - {name: size, type: gauge, value: "{{ input.size }}"}
    - {name: runs, type: counter}
"""))
    run("wordy", {"size": "large"})
    run("wordy", {"size": "12.5"})
    found = observed(editor, "wordy", "runs", 2)
    found = observed(editor, "wordy", "size", 1)
    assert (found["size"]["count"], found["size"]["last"]) == (1, 12.5)
    assert any("'large' is not a number" in message for message in caplog.messages)


def test_bad_metrics_are_refused_naming_where(editor: APIClient) -> None:
    bad = doc("bad-metrics", """
  nodes: [{id: only, type: noop}]
  metrics:
    - {name: runs, type: counter}
    - {name: runs, type: counter}
    - {name: size, type: gauge}
    - {name: Bad-Name, type: counter}
    - {name: spread, type: histogram, value: 1, buckets: [5, 1]}
    - {name: who, type: counter, labels: {workflow: x}}
    - {name: ghost, type: counter, value: "{{ nodes.nowhere.output }}"}
    - {name: text, type: counter, value: "many"}
""")
    answer = editor.post("/api/v1/workflows/validate", {"yaml": bad}, format="json").json()
    problems = {(tuple(error["path"]), error["code"]) for error in answer["errors"]}
    messages = " ".join(error["message"] for error in answer["errors"])
    assert (("spec", "metrics", 1, "name"), "duplicate_metric_name") in problems
    assert ("spec", "metrics", 2) in {path for path, _ in problems} and "a gauge needs `value`" in messages
    assert ("spec", "metrics", 3, "name") in {path for path, _ in problems}
    assert "`buckets` must increase" in messages
    assert "'workflow' is set by MBFlow itself" in messages
    assert (("spec", "metrics", 6, "value"), "unknown_node_reference") in problems
    assert ("spec", "metrics", 7, "value") in {path for path, _ in problems}
    assert editor.post("/api/v1/workflows", {"yaml": bad}, format="json").status_code == 400


@pytest.mark.usefixtures("embedded")
def test_tenants_see_only_their_metrics(store: Store, run: Run, editor: APIClient,
                                        outsider: APIClient) -> None:
    store(ORDERS)
    run("orders", {"amount": 1, "qty": 1, "plan": "pro"})
    observed(editor, "orders", "orders", 1)
    assert outsider.get("/api/v1/workflows/orders/business-metrics").status_code == 404
    assert outsider.get("/api/v1/metrics/business").json()["workflows"] == []
    mine = editor.get("/api/v1/metrics/business", {"period": "1h"}).json()
    assert [entry["workflow"]["name"] for entry in mine["workflows"]] == ["orders"]
    assert editor.get("/api/v1/metrics/business", {"period": "soon"}).json()["error"]["details"]["fields"] == {
        "period": ["'soon' is not a duration such as 15m, 24h or 7d."]}



def test_observations_past_their_days_are_purged_and_the_totals_stay(db: None, tenant: Tenant, settings: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """MBFLOW_BUSINESS_METRIC_DAYS: older observations leave the windows; Prometheus' totals stay."""
    settings.MBFLOW_BUSINESS_METRIC_DAYS = 7
    monkeypatch.setattr(business, "_last_purge", None)
    workflow = Workflow.objects.create(tenant=tenant, name="kept")
    series = MetricSeries.objects.create(tenant=tenant, workflow=workflow, metric="orders", type="counter",
                                         labels="{}", count=3, total=3.0)
    now = timezone.now()
    for days_ago in (1, 6, 8):
        MetricObservation.objects.create(series=series, execution_id=uuid.uuid4(), seq=1, value=1.0,
                                         time=now - timedelta(days=days_ago))
    assert business.purge_observations(now) == 1
    assert sorted((now - o.time).days for o in MetricObservation.objects.all()) == [1, 6]
    series.refresh_from_db()
    assert (series.count, series.total) == (3, 3.0)
    MetricObservation.objects.create(series=series, execution_id=uuid.uuid4(), seq=1, value=1.0,
                                     time=now - timedelta(days=9))
    assert business.purge_observations(now + timedelta(minutes=5)) == 0  # at most every 10 minutes
    assert business.purge_observations(now + timedelta(minutes=10)) == 1

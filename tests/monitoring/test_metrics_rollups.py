"""The metrics API through the hourly and daily rollups: the same figures as from the raw rows
(counts, rates and averages exactly; percentiles within 1%), across rollup/raw boundaries, on
empty periods, and when a run ends after its hour was rolled up.

The rows are those of test_metrics_api (``orders``: 2026-01-01 10:00-13:00 UTC).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from executions.engine.store import open_journal
from executions.models import Execution
from monitoring.aggregates import RELATIVE_ERROR, Histogram, bucket_value, duration_bucket, interpolated
from monitoring.models import ExecutionRollup, RollupDirty, RollupPeriod
from monitoring.models.rollups import DAY, HOUR
from monitoring.services.rollups import backfill, roll_up
from tests.monitoring.conftest import MakeExecution, at
from tests.monitoring.test_metrics_api import WINDOW, _get, orders  # noqa: F401
from workflows.models import Tenant, Workflow

APPROXIMATE = {"p50_duration", "p95_duration", "p99_duration"}
NEXT_DAY = datetime(2026, 1, 2, 5, 0, tzinfo=UTC)


def _close(rolled: Any, raw: Any, path: str = "") -> None:
    """``rolled`` equals ``raw``, but for percentiles, which are within 1% of it."""
    if isinstance(raw, dict):
        assert set(rolled) == set(raw), path
        for key in raw:
            if key in APPROXIMATE and raw[key] is not None:
                assert rolled[key] == pytest.approx(raw[key], rel=0.0101), f"{path}.{key}"
            else:
                _close(rolled[key], raw[key], f"{path}.{key}")
    elif isinstance(raw, list):
        assert len(rolled) == len(raw), path
        for index, (one, other) in enumerate(zip(rolled, raw, strict=True)):
            _close(one, other, f"{path}[{index}]")
    else:
        assert rolled == raw, path


PATHS = [f"/api/v1/workflows/orders/metrics?{WINDOW}", f"/api/v1/metrics/summary?{WINDOW}",
         f"/api/v1/metrics/nodes?{WINDOW}",
         # Partial hours at both edges (read raw), 11:00-12:00 through its rollup.
         "/api/v1/workflows/orders/metrics?start=2026-01-01T10:30:00Z&end=2026-01-01T12:30:00Z&granularity=1h",
         "/api/v1/metrics/summary?start=2026-01-01T10:30:00Z&end=2026-01-01T12:30:00Z&granularity=1h",
         # A whole day through the daily rollup, hours and raw rows at the edges.
         "/api/v1/metrics/summary?start=2025-12-31T22:30:00Z&end=2026-01-02T01:15:00Z&granularity=1d",
         "/api/v1/metrics/nodes?start=2025-12-31T22:30:00Z&end=2026-01-02T01:15:00Z",
         "/api/v1/workflows/orders/metrics?start=2025-12-31T00:00:00Z&end=2026-01-02T02:00:00Z&granularity=1d"]


def test_rollups_answer_as_the_raw_rows_do(orders: Workflow, viewer: APIClient) -> None:  # noqa: F811
    raw = [_get(viewer, path) for path in PATHS]
    hours, days = backfill([orders.tenant_id], now=NEXT_DAY)
    assert hours > 24 and days == 1
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=DAY, start=at(-600)).exists()
    rolled = [_get(viewer, path) for path in PATHS]
    for path, one, other in zip(PATHS, rolled, raw, strict=True):
        _close(one, other, path)
    # Known values through the rollups: the percentiles moved, by less than 1%.
    body = rolled[0]
    assert body["metrics"]["execution_count"] == 6 and body["metrics"]["avg_duration"] == 4.0
    assert body["metrics"]["p50_duration"] != 3.0
    assert body["metrics"]["p50_duration"] == pytest.approx(3.0, rel=0.01)
    # Running again fills nothing more.
    assert backfill([orders.tenant_id], now=NEXT_DAY) == (0, 0)


def test_the_rollups_are_what_is_read(orders: Workflow, viewer: APIClient) -> None:  # noqa: F811
    """An execution changed without events (so unmarked) is not seen in a rolled-up hour: the
    rollup is read. Marked, its hour is read raw at once; the tick rolls it up again."""
    path = f"/api/v1/workflows/orders/metrics?{WINDOW}"
    backfill([orders.tenant_id], now=NEXT_DAY)
    running = Execution.objects.get(workflow=orders, created_at=at(119))
    Execution.objects.filter(pk=running.pk).update(status="succeeded", finished_at=at(119) + timedelta(seconds=5))
    assert _get(viewer, path)["metrics"]["success_count"] == 3
    RollupDirty.objects.create(tenant_id=orders.tenant_id, execution_id=running.pk)
    assert _get(viewer, path)["metrics"]["success_count"] == 4
    assert roll_up(now=NEXT_DAY) == 1
    assert not RollupDirty.objects.exists()
    body = _get(viewer, path)
    assert body["metrics"]["success_count"] == 4 and body["metrics"]["execution_count"] == 6
    assert body["time_series"][1]["success_count"] == 2


def test_a_run_ending_after_its_hour_was_rolled_up(orders: Workflow, viewer: APIClient) -> None:  # noqa: F811
    """A step of the engine that ends a run late marks its hour (and day) stale, in the step's
    transaction (the journal writer port): the answers read it raw until the tick rolls it up
    again."""
    day = "/api/v1/metrics/summary?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&granularity=1d"
    hour = f"/api/v1/workflows/orders/metrics?{WINDOW}"
    backfill([orders.tenant_id], now=NEXT_DAY)
    before = _get(viewer, day)["metrics"]
    assert before["execution_count"] == 11 and before["success_count"] == 7
    running = Execution.objects.get(workflow=orders, created_at=at(119))
    with open_journal(running.pk) as journal:
        journal.append("execution.succeeded", time=at(119) + timedelta(seconds=5))
    assert RollupDirty.objects.filter(execution_id=running.pk).exists()
    assert _get(viewer, day)["metrics"]["success_count"] == 8
    assert _get(viewer, hour)["metrics"]["success_count"] == 4
    tick = NEXT_DAY + timedelta(minutes=1)
    roll_up(now=tick)
    # The hour and its day were rolled up again, and are read again.
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=HOUR, start=at(60), rolled_at=tick).exists()
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=DAY, start=at(-600), rolled_at=tick).exists()
    Execution.objects.filter(pk=running.pk).delete()  # no events: the rollups still count it
    assert _get(viewer, day)["metrics"]["success_count"] == 8
    assert _get(viewer, hour)["metrics"]["success_count"] == 4


def test_empty_periods_rolled_up(orders: Workflow, viewer: APIClient, tenant: Tenant) -> None:  # noqa: F811
    later = NEXT_DAY + timedelta(days=3)
    backfill([orders.tenant_id], now=later)
    assert RollupPeriod.objects.filter(tenant=tenant, size=DAY).count() == 4
    assert not ExecutionRollup.objects.filter(tenant=tenant, start__gte=NEXT_DAY).exists()
    body = _get(viewer, "/api/v1/metrics/summary?start=2026-01-02T00:00:00Z&end=2026-01-04T00:00:00Z&granularity=1d")
    assert body["metrics"] == {"execution_count": 0, "success_count": 0, "failure_count": 0, "cancelled_count": 0,
                               "success_rate": None, "avg_duration": None, "p50_duration": None,
                               "p95_duration": None, "p99_duration": None}
    assert [point["execution_count"] for point in body["time_series"]] == [0, 0]
    assert body["workflows"] == []
    nodes = _get(viewer, "/api/v1/metrics/nodes?start=2026-01-02T00:00:00Z&end=2026-01-04T00:00:00Z")
    assert nodes["most_failing"] == [] and nodes["slowest"] == []


def test_the_tick_rolls_up_marked_hours_and_the_days_that_ended(tenant: Tenant, make_execution: MakeExecution,
                                                                 workflow_of: Any) -> None:
    flow = workflow_of(tenant, "flow")
    execution = make_execution(tenant, flow, at(30), "succeeded", 2)
    RollupDirty.objects.create(tenant_id=tenant.pk, execution_id=execution.pk)
    assert roll_up(now=at(45)) == 1
    row = ExecutionRollup.objects.get(tenant=tenant, size=HOUR)
    assert (row.start, row.execution_count, row.success_count, row.duration_count, row.duration_sum) == (
        at(0), 1, 1, 1, 2.0)
    assert not RollupPeriod.objects.filter(size=DAY, start=at(-600)).exists()  # the day has not ended
    RollupDirty.objects.create(tenant_id=tenant.pk, execution_id=execution.pk)
    roll_up(now=NEXT_DAY)  # the day ended: its other hours are rolled up, then the day
    assert RollupPeriod.objects.filter(tenant=tenant, size=HOUR, start__gte=at(-600), start__lt=NEXT_DAY).count() == 24
    assert ExecutionRollup.objects.get(tenant=tenant, size=DAY, start=at(-600)).execution_count == 1


def test_the_backfill_command(orders: Workflow) -> None:  # noqa: F811
    call_command("mbflow_rollup_metrics", "--tenant", str(orders.tenant_id))
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=DAY, start=at(-600)).exists()
    assert ExecutionRollup.objects.filter(tenant=orders.tenant, size=HOUR, start=at(60)).exists()


def test_packed_histograms_add_up_and_interpolate_as_percentile_cont() -> None:
    """Histograms merged from packed rows of different bucket ranges (zero durations too) give
    the percentile_cont of the bucket values they count, as the expanded list of them does."""
    rng = random.Random(5)
    parts = [[0.0] * rng.randint(0, 2) + [rng.lognormvariate(0.7, 1.5) for _ in range(rng.randint(0, 60))]
             for _ in range(40)]
    merged = Histogram()
    for durations in parts:
        counted: dict[int, int] = {}
        for seconds in durations:
            bucket = duration_bucket(seconds)
            counted[bucket] = counted.get(bucket, 0) + 1
        packed = Histogram.of(counted).pack()
        assert Histogram.of(counted).buckets() == counted
        merged.add_packed(packed)
    values = sorted(bucket_value(duration_bucket(seconds)) for durations in parts for seconds in durations)
    assert merged.total() == len(values)
    for fraction in (0.0, 0.5, 0.95, 0.99, 1.0):
        assert merged.percentile(fraction) == pytest.approx(interpolated(values, fraction), rel=1e-12)
    exact = sorted(seconds for durations in parts for seconds in durations)
    assert merged.percentile(0.95) == pytest.approx(interpolated(exact, 0.95), rel=RELATIVE_ERROR)
    assert Histogram().percentile(0.5) is None

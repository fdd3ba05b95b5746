"""Executions retention deletes stay counted in the metrics of the period they ran in: the
pruner rolls their hours up first if need be and keeps their figures, so a window of whole hours
answers the same after pruning (exactly), an hour rolled up again later still counts them, and
a window's edge inside an hour whose runs were pruned counts that hour whole or not at all (it
holds the hour's first moment or not), as a downsampled series does.

The rows are those of test_metrics_api (``orders``: 2026-01-01 10:00-13:00 UTC).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from executions.models import Execution
from executions.services import retention
from monitoring.models import ExecutionRollup, RollupDirty, RollupPeriod
from monitoring.models.rollups import DAY, HOUR, PRUNED
from monitoring.services.rollups import backfill, roll_up
from tests.monitoring.conftest import at
from tests.monitoring.test_metrics_api import WINDOW, _get, orders  # noqa: F401
from tests.monitoring.test_metrics_rollups import NEXT_DAY, _close
from workflows.models import Workflow

WHOLE_HOURS = [f"/api/v1/workflows/orders/metrics?{WINDOW}", f"/api/v1/metrics/summary?{WINDOW}",
               f"/api/v1/metrics/nodes?{WINDOW}",
               "/api/v1/metrics/summary?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&granularity=1d",
               "/api/v1/metrics/nodes?start=2025-12-31T00:00:00Z&end=2026-01-03T00:00:00Z",
               "/api/v1/workflows/orders/metrics?start=2025-12-31T00:00:00Z&end=2026-01-02T02:00:00Z&granularity=1d"]


@pytest.fixture
def keep_an_hour(settings: Any) -> None:
    """Ended runs are kept an hour (the tenant default)."""
    settings.MBFLOW_RETENTION_SUCCEEDED = "1h"
    settings.MBFLOW_RETENTION_FAILED = "1h"


def _prune() -> int:
    return retention.prune(NEXT_DAY + timedelta(days=2), pause=0).executions


def test_pruned_runs_stay_counted(orders: Workflow, viewer: APIClient, keep_an_hour: None) -> None:  # noqa: F811
    backfill([orders.tenant_id], now=NEXT_DAY)
    before = [_get(viewer, path) for path in WHOLE_HOURS]
    assert _prune() == 10  # every ended run of both tenants; the running and paused ones stay
    assert set(Execution.objects.values_list("status", flat=True)) == {"running", "paused"}
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=PRUNED).count() == 5  # 09, 10, 11, 12, 13 h
    after = [_get(viewer, path) for path in WHOLE_HOURS]
    assert after == before
    assert after[0]["metrics"]["execution_count"] == 6 and after[0]["metrics"]["success_count"] == 3
    assert after[0]["step_metrics"]["a"]["execution_count"] == 5
    # The running run's hour changes: read raw (the running run) with its pruned runs' figures...
    running = Execution.objects.get(workflow=orders, status="running")
    RollupDirty.objects.create(tenant_id=orders.tenant_id, execution_id=running.pk)
    assert [_get(viewer, path) for path in WHOLE_HOURS[:3]] == before[:3]
    # ... until the tick rolls it up again: from what remains and those figures.
    assert roll_up(now=NEXT_DAY + timedelta(days=2)) == 1
    assert [_get(viewer, path) for path in WHOLE_HOURS] == before


def test_an_edge_inside_a_pruned_hour_counts_it_whole_or_not_at_all(orders: Workflow, viewer: APIClient,  # noqa: F811
                                                                    keep_an_hour: None) -> None:
    edges = "start=2026-01-01T10:30:00Z&end=2026-01-01T12:30:00Z&granularity=1h"
    backfill([orders.tenant_id], now=NEXT_DAY)
    body = _get(viewer, f"/api/v1/metrics/summary?{edges}")
    # Before: exactly 10:30 to 12:30 (10:40 failed, 11:00, 11:10, 11:30, 11:59; not 12:30).
    assert [body["metrics"][key] for key in ("execution_count", "success_count", "failure_count")] == [5, 2, 1]
    _prune()
    # After: 10:00-11:00 lost runs, so the window starts at 11:00; 12:00-13:00 did, so it counts
    # whole (the ad hoc run at 12:30 too): as 11:00 to 13:00.
    body = _get(viewer, f"/api/v1/metrics/summary?{edges}")
    assert [body["metrics"][key] for key in ("execution_count", "success_count", "failure_count")] == [5, 3, 0]
    assert [point["execution_count"] for point in body["time_series"]] == [0, 4, 1]
    whole = _get(viewer, "/api/v1/metrics/summary?start=2026-01-01T11:00:00Z&end=2026-01-01T13:00:00Z"
                         "&granularity=1h")
    assert body["metrics"] == whole["metrics"] and body["workflows"] == whole["workflows"]
    assert body["time_series"][1:] == whole["time_series"]
    nodes = _get(viewer, f"/api/v1/metrics/nodes?{edges}")
    assert nodes["most_failing"] == _get(viewer, "/api/v1/metrics/nodes?start=2026-01-01T11:00:00Z"
                                                 "&end=2026-01-01T13:00:00Z")["most_failing"]
    # A window inside such an hour holds none of it: 11:30 to 11:45 (the cancelled run's) counts nothing.
    quarter = _get(viewer, "/api/v1/metrics/summary?start=2026-01-01T11:30:00Z&end=2026-01-01T11:45:00Z")
    assert quarter["metrics"]["execution_count"] == 0


def test_runs_pruned_before_their_hour_was_rolled_up_are_counted(orders: Workflow, viewer: APIClient,  # noqa: F811
                                                                 keep_an_hour: None) -> None:
    raw = [_get(viewer, path) for path in WHOLE_HOURS]
    assert not RollupPeriod.objects.exists()
    _prune()  # the pruner rolls their hours (and finished days) up first
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=HOUR, start=at(60)).exists()
    assert RollupPeriod.objects.filter(tenant=orders.tenant, size=DAY, start=at(-600)).exists()
    assert ExecutionRollup.objects.filter(tenant=orders.tenant, size=PRUNED, start=at(0)).get().execution_count == 3
    backfill([orders.tenant_id], now=NEXT_DAY)  # the other hours, as after an upgrade
    for path, one, other in zip(WHOLE_HOURS, [_get(viewer, path) for path in WHOLE_HOURS], raw, strict=True):
        _close(one, other, path)


def test_a_run_that_changed_since_its_hour_was_rolled_up_is_kept_as_it_ended(orders: Workflow,  # noqa: F811
                                                                            viewer: APIClient,
                                                                            keep_an_hour: None) -> None:
    """The running run ends (its events mark it) and is pruned before the tick: its hour is rolled
    up again first, so it is counted as it ended, not as the rollup saw it running."""
    backfill([orders.tenant_id], now=NEXT_DAY)
    running = Execution.objects.get(workflow=orders, status="running")
    Execution.objects.filter(pk=running.pk).update(status="succeeded", finished_at=at(119) + timedelta(seconds=5))
    RollupDirty.objects.create(tenant_id=orders.tenant_id, execution_id=running.pk)
    day = "/api/v1/metrics/summary?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z&granularity=1d"
    before = [_get(viewer, path) for path in (*WHOLE_HOURS, day)]  # the marked hour and day read raw
    assert before[0]["metrics"]["success_count"] == 4
    assert _prune() == 11
    assert not RollupDirty.objects.exists()
    assert [_get(viewer, path) for path in (*WHOLE_HOURS, day)] == before

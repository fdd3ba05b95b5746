"""The figures an alert rule's condition reads, from the execution rows and the business metric
observations (the queries use the indexes by tenant or workflow and creation time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet

from executions.models import Execution, ExecutionStatus
from monitoring.models import MetricObservation, MetricSeries
from monitoring.services.business import natural, window_figures
from monitoring.services.metrics import ACTIVE, PERCENTILES, execution_figures
from workflows.models import Tenant, Workflow

# `execution failed` looks at executions created this long before its window (a run that fails
# after a day is older than any window worth alerting on).
FAILED_LOOKBACK = timedelta(days=1)
SHOWN_EXECUTIONS = 20


def _executions(tenant: Tenant, workflow: Workflow | None) -> QuerySet[Execution]:
    executions = Execution.objects.filter(tenant=tenant)
    return executions.filter(workflow=workflow) if workflow is not None else executions


def execution_window(tenant: Tenant, workflow: Workflow | None, start: datetime, end: datetime) -> dict[str, Any]:
    """The metrics API's figures of the executions created in [start, end), with
    ``failure_rate`` (failures over those that ended) and ``running`` (not ended now)."""
    executions = _executions(tenant, workflow).filter(created_at__gte=start, created_at__lt=end).order_by()
    figures = execution_figures(executions, PERCENTILES)
    ended = figures["success_count"] + figures["failure_count"] + figures["cancelled_count"]
    figures["failure_rate"] = round(figures["failure_count"] / ended, 6) if ended else None
    figures["running"] = _executions(tenant, workflow).filter(status__in=ACTIVE).count()
    return figures


def failed_within(tenant: Tenant, workflow: Workflow | None, start: datetime) -> list[dict[str, Any]]:
    """The executions that failed since ``start`` (latest first)."""
    return list(_executions(tenant, workflow)
                .filter(status=ExecutionStatus.FAILED, created_at__gte=start - FAILED_LOOKBACK, finished_at__gte=start)
                .order_by("-finished_at").values("id", "workflow__name", "finished_at", "error"))


def not_ended_since(tenant: Tenant, workflow: Workflow | None, before: datetime) -> list[dict[str, Any]]:
    """The executions created before ``before`` that have not ended (oldest first)."""
    return list(_executions(tenant, workflow).filter(status__in=ACTIVE, created_at__lt=before)
                .order_by("created_at").values("id", "workflow__name", "created_at", "status"))


def metric_window(tenant: Tenant, workflow: Workflow | None, names: tuple[str, ...], start: datetime,
                  end: datetime) -> dict[str, dict[str, Any]]:
    """Each business metric's figures over [start, end), of the workflow or of all the tenant's."""
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        series = MetricSeries.objects.filter(tenant=tenant, metric=name)
        if workflow is not None:
            series = series.filter(workflow=workflow)
        kinds = list(series.values("type").annotate(n=Count("pk")).order_by("-n").values_list("type", flat=True))
        observations = MetricObservation.objects.filter(series__in=series, time__gte=start, time__lt=end)
        figures = window_figures(observations)
        figures["value"] = natural(kinds[0] if kinds else "gauge", figures)
        found[name] = figures
    return found


"""Business metrics: the figures a workflow declares under ``spec.metrics``, fed by its runs.

When an execution ends (the engine's listener port, ``monitoring.apps``), each metric its
version declares is evaluated over it in the expression sandbox: ``when`` (does this run count),
``value`` (a counter's increment, 1 by default; a gauge's value; a histogram's observation) and
each label. The observation is kept (``MetricObservation``: the windows of the API, the
dashboard and the alert rules read these) and added to the totals of its label set
(``MetricSeries``: what Prometheus reads). The same execution's end recorded twice (its events
published again) counts once; an execution retried that ends again counts again.

Label sets are bounded: a metric of a workflow has at most ``MBFLOW_BUSINESS_METRIC_SERIES`` of
them, the first seen; the runs of later ones count under every label ``other``. A metric whose
expression fails for a run, or whose value is not a number, skips that run (logged).

Names the expressions read: ``output`` and ``input`` (the execution's), ``execution`` (``id``,
``workflow``, ``version``, ``status``, ``started_at``, ``finished_at``, ``duration`` in seconds,
``error``, ``trigger``, ``metadata``), ``nodes.<id>`` (``output``, ``status``, ``error``,
``attempt``, ``duration``). No secrets.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Max, Min, QuerySet, Sum
from django.utils import timezone

from executions.engine.plan import plan_for_version
from executions.engine.projection import Event
from executions.models import Execution, NodeRun
from monitoring.aggregates import BucketNumber, Percentile
from monitoring.models import MetricObservation, MetricSeries
from monitoring.periods import Window, iso
from workflows.models import Tenant, Workflow, WorkflowVersion
from workflows.public import get_workflow, spec_for
from workflows.spec.expressions import ExpressionError, evaluate
from workflows.spec.models import MetricSpec

logger = logging.getLogger(__name__)

ENDINGS = frozenset({"execution.succeeded", "execution.failed", "execution.cancelled"})
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
OTHER = "other"
MAX_LABEL_LENGTH = 100
PURGE_EVERY = timedelta(minutes=10)


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def bounds_of(metric: MetricSpec) -> list[float]:
    if metric.type != "histogram":
        return []
    return [float(bound) for bound in (metric.buckets or DEFAULT_BUCKETS)]


# --- Recording -----------------------------------------------------------------------------------


def on_execution_events(tenant_id: Any, execution_id: Any, events: Sequence[Event], version_id: int | None) -> None:
    """The engine's listener: an execution that ended feeds its workflow's metrics. A version
    that declares none (most) costs no query: its spec is the one the engine ran."""
    ends = [event for event in events if event.type in ENDINGS]
    if not ends or version_id is None or not plan_for_version(version_id).spec.spec.metrics:
        return
    for event in ends:
        do_record_observations(execution_id, event)


def declared_metrics(version_id: int, checksum: str) -> list[MetricSpec]:
    return list(spec_for(WorkflowVersion(pk=version_id, checksum=checksum)).spec.metrics)


def do_record_observations(execution_id: Any, end: Event) -> int:
    """Records what the execution that ``end`` ended observed; how many observations."""
    pinned = Execution.objects.filter(pk=execution_id).values("version_id", "version__checksum").first()
    if pinned is None or pinned["version_id"] is None:
        return 0  # gone, or an ad hoc run: no workflow keeps metrics for it
    declared = declared_metrics(pinned["version_id"], pinned["version__checksum"])
    if not declared:
        return 0
    execution = Execution.objects.select_related("workflow", "version").get(pk=execution_id)
    context = _context(execution, list(NodeRun.objects.filter(execution_id=execution_id)))
    recorded = 0
    for metric in declared:
        try:
            observed = observe(metric, context)
        except (ExpressionError, ValueError) as exc:
            logger.warning("Metric %s of workflow %s skipped execution %s: %s", metric.name,
                           execution.workflow.name if execution.workflow else "?", execution_id, exc)
            continue
        if observed is not None and _record(execution, metric, *observed, end):
            recorded += 1
    return recorded


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _context(execution: Execution, runs: list[NodeRun]) -> dict[str, Any]:
    return {
        "input": execution.input,
        "output": execution.output,
        "execution": {
            "id": str(execution.pk), "workflow": execution.workflow.name if execution.workflow else None,
            "version": execution.version.number if execution.version else None, "status": execution.status,
            "started_at": iso(execution.started_at) if execution.started_at else None,
            "finished_at": iso(execution.finished_at) if execution.finished_at else None,
            "duration": _seconds(execution.started_at, execution.finished_at), "error": execution.error,
            "trigger": execution.trigger, "metadata": execution.metadata,
        },
        "nodes": {run.node_id: {"output": run.output, "status": run.status, "error": run.error,
                                "attempt": run.attempt, "duration": _seconds(run.started_at, run.finished_at)}
                  for run in runs},
    }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"the value {value[:50]!r} is not a number") from None
    else:
        raise ValueError(f"the value is {type(value).__name__}, not a number")
    if not math.isfinite(number):
        raise ValueError("the value is not a finite number")
    return number


def observe(metric: MetricSpec, context: dict[str, Any]) -> tuple[dict[str, str], float] | None:
    """(labels, value) one finished execution gives ``metric``; None when it does not count
    (``when`` is false, or ``value`` is null)."""
    if metric.when is not None:
        counts = metric.when if isinstance(metric.when, bool) else evaluate(metric.when, context)
        if not counts:
            return None
    if metric.value is None:
        value: float | None = 1.0
    elif isinstance(metric.value, str):
        value = _number(evaluate(metric.value, context))
    else:
        value = float(metric.value)
    if value is None:
        return None
    labels = {}
    for name, text in metric.labels.items():
        shown = evaluate(text, context) if "{{" in text or text.startswith("$.") else text
        labels[name] = ("" if shown is None else str(shown))[:MAX_LABEL_LENGTH]
    return labels, value


def _record(execution: Execution, metric: MetricSpec, labels: dict[str, str], value: float, end: Event) -> bool:
    with transaction.atomic():
        series = _locked_series(execution, metric, labels)
        try:
            with transaction.atomic():
                MetricObservation.objects.create(series=series, execution_id=execution.pk, seq=end.seq, value=value,
                                                 time=end.time)
        except IntegrityError:
            return False  # this end was recorded already
        _add(series, metric, value, end.time)
    return True


def _locked_series(execution: Execution, metric: MetricSpec, labels: dict[str, str]) -> MetricSeries:
    """The series of these labels, locked for this transaction (made if new, while there is room)."""
    mine = MetricSeries.objects.select_for_update().filter(workflow_id=execution.workflow_id, metric=metric.name)
    key = labels_key(labels)
    series = mine.filter(labels=key).first()
    if series is not None:
        return series
    if MetricSeries.objects.filter(workflow_id=execution.workflow_id, metric=metric.name).count() >= (
            settings.MBFLOW_BUSINESS_METRIC_SERIES):
        key = labels_key(dict.fromkeys(labels, OTHER))
        series = mine.filter(labels=key).first()
        if series is not None:
            return series
    try:
        with transaction.atomic():
            MetricSeries.objects.create(tenant_id=execution.tenant_id, workflow_id=execution.workflow_id,
                                        metric=metric.name, type=metric.type, labels=key, bounds=bounds_of(metric),
                                        buckets=[0] * (len(bounds_of(metric)) + 1) if metric.type == "histogram"
                                        else [])
    except IntegrityError:
        pass  # another process made it at the same moment
    return mine.get(labels=key)


def _add(series: MetricSeries, metric: MetricSpec, value: float, at: datetime) -> None:
    bounds = bounds_of(metric)
    if series.type != metric.type or series.bounds != bounds:
        # A new version changed the metric: its totals start again (Prometheus sees a reset).
        series.type, series.bounds, series.count, series.total = metric.type, bounds, 0, 0.0
        series.buckets = [0] * (len(bounds) + 1) if metric.type == "histogram" else []
    series.count += 1
    series.total += value
    if series.last_at is None or at >= series.last_at:
        series.last, series.last_at = value, at
    if metric.type == "histogram":
        index = next((i for i, bound in enumerate(bounds) if value <= bound), len(bounds))
        series.buckets[index] += 1
    series.save(update_fields=["type", "bounds", "count", "total", "last", "last_at", "buckets"])


_last_purge: datetime | None = None


def purge_observations(now: datetime | None = None) -> int:
    """Deletes observations older than ``MBFLOW_BUSINESS_METRIC_DAYS`` (at most every 10 minutes;
    the totals stay)."""
    global _last_purge
    now = now or timezone.now()
    if _last_purge is not None and now - _last_purge < PURGE_EVERY:
        return 0
    _last_purge = now
    deleted, _ = MetricObservation.objects.filter(
        time__lt=now - timedelta(days=settings.MBFLOW_BUSINESS_METRIC_DAYS)).delete()
    return deleted


# --- Reading -------------------------------------------------------------------------------------

AGGREGATES = ("count", "sum", "avg", "min", "max", "last", "p50", "p95", "p99")


def _figures() -> dict[str, Any]:
    return {"count": Count("pk"), "sum": Sum("value"), "avg": Avg("value"), "min": Min("value"),
            "max": Max("value"), "p50": Percentile("value", 0.5), "p95": Percentile("value", 0.95),
            "p99": Percentile("value", 0.99)}


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in row.items()}


def natural(metric_type: str, figures: dict[str, Any]) -> float | None:
    """The one figure a metric stands for over a window: a counter's sum, a gauge's last value,
    a histogram's average."""
    key = {"counter": "sum", "gauge": "last"}.get(metric_type, "avg")
    return figures.get(key) if figures.get("count") else (0.0 if metric_type == "counter" else None)


def _last_values(observations: QuerySet[MetricObservation], by: str | None = None) -> dict[Any, float]:
    """The latest value (per ``by``) of the observations."""
    ordered = observations.order_by(*([by] if by else []), "-time", "-pk")
    if by is None:
        last = ordered.values_list("value", flat=True).first()
        return {None: last} if last is not None else {}
    found: dict[Any, float] = {}
    for key, value in ordered.values_list(by, "value"):
        found.setdefault(key, value)
    return found


def window_figures(observations: QuerySet[MetricObservation]) -> dict[str, Any]:
    """count, sum, avg, min, max, last, p50, p95, p99 of the observations."""
    figures = observations.order_by().aggregate(**_figures())
    figures["last"] = _last_values(observations).get(None)
    return _rounded(figures)


def metric_figures(workflow: Workflow, metric: MetricSpec, window: Window) -> dict[str, Any]:
    """One metric of a workflow over a window: its figures, each label set's, and a time series."""
    observations = MetricObservation.objects.filter(series__workflow=workflow, series__metric=metric.name,
                                                    time__gte=window.start, time__lt=window.end)
    totals = window_figures(observations)
    by_series = {row["series_id"]: row for row in observations.order_by().values("series_id").annotate(**_figures())}
    lasts = _last_values(observations, "series_id")
    labels = dict(MetricSeries.objects.filter(pk__in=by_series).values_list("pk", "labels"))
    series = sorted(({"labels": json.loads(labels[pk]), **_rounded({**row, "last": lasts.get(pk)})}
                     for pk, row in by_series.items()),
                    key=lambda entry: (-entry["count"], labels_key(entry["labels"])))
    for entry in series:
        entry.pop("series_id", None)
        entry["value"] = natural(metric.type, entry)
    rows = {row["bucket"]: row for row in observations.annotate(bucket=BucketNumber("time", window.granularity))
            .values("bucket").annotate(count=Count("pk"), sum=Sum("value"), avg=Avg("value")).order_by("bucket")}
    bucket_lasts = _last_values(observations.annotate(bucket=BucketNumber("time", window.granularity)), "bucket")
    first = window.bucket_number(window.start)
    time_series = []
    for index, moment in enumerate(window.buckets()):
        row = rows.get(first + index)
        point = _rounded({"count": row["count"], "sum": row["sum"], "avg": row["avg"],
                          "last": bucket_lasts.get(first + index)}) if row else {
            "count": 0, "sum": None, "avg": None, "last": None}
        time_series.append({"time": iso(moment), **point, "value": natural(metric.type, point)})
    return {"name": metric.name, "type": metric.type, "description": metric.description,
            "labels": sorted(metric.labels), "value": natural(metric.type, totals), **totals,
            "series": series, "time_series": time_series}


def workflow_business_metrics(tenant: Tenant, ref: str, window: Window, period: str | None = None) -> dict[str, Any]:
    """``GET /workflows/{ref}/business-metrics``: each metric its active version declares."""
    workflow = get_workflow(tenant, ref, documents=False)
    return {"workflow": {"id": str(workflow.pk), "name": workflow.name}, "period": window.describe(period),
            "metrics": [metric_figures(workflow, metric, window) for metric in _declared_now(workflow)]}


def tenant_business_metrics(tenant: Tenant, window: Window, period: str | None = None) -> dict[str, Any]:
    """``GET /metrics/business``: every workflow's metrics (those whose active version declares some)."""
    entries = []
    for workflow in Workflow.objects.filter(tenant=tenant).select_related("active_version").order_by("name"):
        declared = _declared_now(workflow)
        if declared:
            entries.append({"workflow": {"id": str(workflow.pk), "name": workflow.name},
                            "metrics": [metric_figures(workflow, metric, window) for metric in declared]})
    return {"period": window.describe(period), "workflows": entries}


def _declared_now(workflow: Workflow) -> list[MetricSpec]:
    version = workflow.active_version
    return declared_metrics(version.pk, version.checksum) if version is not None else []


def series_totals() -> list[dict[str, Any]]:
    """Every label set's totals, for Prometheus: tenant, workflow, metric, type, labels, count,
    total, last, bounds, buckets."""
    rows = MetricSeries.objects.order_by("metric", "type", "pk").values(
        "metric", "type", "labels", "count", "total", "last", "bounds", "buckets", "tenant__slug", "workflow__name")
    return [{"tenant": row.pop("tenant__slug"), "workflow": row.pop("workflow__name"), **row,
             "labels": json.loads(row["labels"])} for row in rows]

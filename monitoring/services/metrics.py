"""Execution metrics of a workflow or a whole tenant over a window, computed in SQL from the
execution and node-run rows (no copy of them is kept).

What counts, in one place:
- An execution belongs to the window, and to a bucket, by the time it was created.
- ``execution_count`` is every execution (running ones too); ``success_count``,
  ``failure_count`` and ``cancelled_count`` those that ended so; ``success_rate`` is successes
  over those that ended (null when none did).
- A duration is ``finished_at - started_at`` in seconds, of executions that ended; averages and
  percentiles are over those (null when none did). Percentiles interpolate between the two
  nearest values (PostgreSQL's ``percentile_cont``).
- A node counts when it ran (an attempt was made; not skipped, not reused by a replay):
  ``execution_count`` of a step is the executions in which it ran, ``failure_rate`` the share
  of those that ended in which it failed or timed out, or succeeded only through its fallback,
  ``retry_count`` its attempts after the first, and its durations are those of its last
  attempt.

Long windows read hourly and daily rollups (``monitoring.services.rollups``) for the whole hours
and days they cover that are rolled up and unchanged since, and the raw rows for the rest (the
partial hours at the edges, hours changed since the last tick, executions created in them still
running). Counts, rates and averages stay exact; percentiles read through a rollup are within 1%
(``aggregates.RELATIVE_ERROR``). A window with no rolled-up hour in it reads only raw rows, and
its percentiles are exact. Executions retention deleted stay counted (``rollups.keep_pruned``):
an hour that lost some is read whole, from its rollup, by the windows holding its start
(``rollups.cover``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Count, F, Q, QuerySet, Sum

from executions.models import Execution, ExecutionStatus, NodeRun, NodeStatus
from monitoring.aggregates import BucketNumber, Percentile, Seconds
from monitoring.models import ExecutionRollup, NodeRollup
from monitoring.periods import Window, iso
from monitoring.services import rollups
from monitoring.services.rollups import Figures, cover
from workflows.models import Tenant, Workflow
from workflows.public import get_workflow

ENDED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
ACTIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.PAUSED)
NODE_ENDED = (NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.TIMED_OUT)
PERCENTILES = {"p50_duration": 0.5, "p95_duration": 0.95, "p99_duration": 0.99}
TOP_NODES = 10

_ENDED = Q(status__in=ENDED, started_at__isnull=False, finished_at__isnull=False)
_DURATION = Seconds("finished_at", "started_at")
_NODE_RAN = Q(status__in=NODE_ENDED, started_at__isnull=False, finished_at__isnull=False)
# Failed, timed out, or succeeded only because its fallback stood in (which keeps the error).
_NODE_FAILED = Q(status__in=(NodeStatus.FAILED, NodeStatus.TIMED_OUT)) | Q(status=NodeStatus.SUCCEEDED,
                                                                            error__isnull=False)


def _execution_figures(percentiles: dict[str, float]) -> dict[str, Any]:
    return {
        "execution_count": Count("pk"),
        "success_count": Count("pk", filter=Q(status=ExecutionStatus.SUCCEEDED)),
        "failure_count": Count("pk", filter=Q(status=ExecutionStatus.FAILED)),
        "cancelled_count": Count("pk", filter=Q(status=ExecutionStatus.CANCELLED)),
        "avg_duration": Avg(_DURATION, filter=_ENDED),
        **{name: Percentile(_DURATION, fraction, filter=_ENDED) for name, fraction in percentiles.items()},
    }


def _node_figures() -> dict[str, Any]:
    return {
        "execution_count": Count("pk"),
        "ended_count": Count("pk", filter=Q(status__in=NODE_ENDED)),
        "failure_count": Count("pk", filter=Q(status__in=NODE_ENDED) & _NODE_FAILED),
        "retry_count": Sum(F("attempt") - 1),
        "avg_duration": Avg(_DURATION, filter=_NODE_RAN),
        "p95_duration": Percentile(_DURATION, 0.95, filter=_NODE_RAN),
    }


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _shape(row: dict[str, Any], durations: tuple[str, ...]) -> dict[str, Any]:
    ended = row["success_count"] + row["failure_count"] + row["cancelled_count"]
    shaped = {key: row[key] for key in ("execution_count", "success_count", "failure_count", "cancelled_count")}
    shaped["success_rate"] = _ratio(row["success_count"], ended)
    shaped.update({name: _seconds(row[name]) for name in durations})
    return shaped


def _shape_node(row: dict[str, Any]) -> dict[str, Any]:
    return {"execution_count": row["execution_count"], "failure_count": row["failure_count"],
            "failure_rate": _ratio(row["failure_count"], row["ended_count"]), "retry_count": row["retry_count"] or 0,
            "avg_duration": _seconds(row["avg_duration"]), "p95_duration": _seconds(row["p95_duration"])}


def _of(tenant: Tenant, workflow: Workflow | None = None) -> QuerySet[Execution]:
    executions = Execution.objects.filter(tenant=tenant)
    if workflow is not None:
        executions = executions.filter(workflow=workflow)
    return executions.order_by()


def _in_window(tenant: Tenant, window: Window, workflow: Workflow | None = None) -> QuerySet[Execution]:
    return _of(tenant, workflow).filter(created_at__gte=window.start, created_at__lt=window.end)


def execution_figures(executions: QuerySet[Execution], percentiles: dict[str, float]) -> dict[str, Any]:
    """The figures of ``executions`` as this API answers them (counts, success rate, durations)."""
    return _shape(executions.aggregate(**_execution_figures(percentiles)), ("avg_duration", *percentiles))


def _totals(executions: QuerySet[Execution]) -> dict[str, Any]:
    return execution_figures(executions, PERCENTILES)


def _time_series(executions: QuerySet[Execution], window: Window) -> list[dict[str, Any]]:
    figures = _execution_figures({"p95_duration": 0.95})
    rows = (executions.annotate(bucket=BucketNumber("created_at", window.granularity)).values("bucket")
            .annotate(**figures).order_by("bucket"))
    found = {row["bucket"]: row for row in rows}
    first = window.bucket_number(window.start)
    series = []
    for index, moment in enumerate(window.buckets()):
        row = found.get(first + index)
        point = _shape(row, ("avg_duration", "p95_duration")) if row else _empty(("avg_duration", "p95_duration"))
        series.append({"time": iso(moment), **point})
    return series


def _empty(durations: tuple[str, ...]) -> dict[str, Any]:
    return {"execution_count": 0, "success_count": 0, "failure_count": 0, "cancelled_count": 0,
            "success_rate": None, **dict.fromkeys(durations)}


def _node_runs(executions: QuerySet[Execution]) -> QuerySet[NodeRun]:
    # attempt > 0: the node ran (a skipped node, or one a replay reused, made no attempt).
    return NodeRun.objects.filter(execution__in=executions, attempt__gt=0, reused_from__isnull=True).order_by()


@contextmanager
def _reading() -> Iterator[None]:
    """The reads of one answer, from one snapshot (its totals and its time series agree).

    On PostgreSQL, two planner settings for them: no JIT compilation (it costs more than these
    queries), and the cost of a random page read of SSDs and cached data (1.1, not the default
    4 of spinning disks), without which the planner reads every node run of every execution to
    find those of a day's executions, instead of looking them up by execution. On SQLite the
    reads go one by one: its transactions here start with the write lock (``IMMEDIATE``), which
    would hold every engine write back while a long window is read.
    """
    if connection.vendor != "postgresql":
        yield
        return
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL random_page_cost = 1.1")
        yield


def workflow_metrics(tenant: Tenant, ref: str, window: Window, period: str | None = None) -> dict[str, Any]:
    """``GET /workflows/{ref}/metrics``: the workflow's figures, time series and steps."""
    workflow = get_workflow(tenant, ref, documents=False)
    executions = _in_window(tenant, window, workflow)
    with _reading():
        found = _rolled_figures(tenant, window, workflow)
        if found is not None:
            series = _merged(found, lambda key: key[1])
            totals, time_series = _merged(series, lambda key: 0).get(0, Figures()), _rolled_series(series, window)
            metrics = _shape_figures(totals, PERCENTILES)
        else:
            metrics, time_series = _totals(executions), _time_series(executions, window)
        nodes = _rolled_nodes(tenant, window, workflow)
        if nodes is not None:
            steps = {node_id: _shape_node_figures(figures) for (_, node_id), figures in sorted(nodes.items())}
        else:
            steps = {row["node_id"]: _shape_node(row) for row in _node_runs(executions).values("node_id")
                     .annotate(**_node_figures()).order_by("node_id")}
        return {
            "workflow": {"id": str(workflow.pk), "name": workflow.name},
            "period": window.describe(period),
            "metrics": metrics,
            "time_series": time_series,
            "step_metrics": steps,
        }


# --- Through the rollups -------------------------------------------------------------------------


def _rolled_figures(tenant: Tenant, window: Window, workflow: Workflow | None) -> dict[Any, Figures] | None:
    """The figures by (workflow id, time series bucket) of the window's executions: rolled-up
    hours and days from their rollups, the rest raw; None when no rollup is of use."""
    rolled = cover(tenant.pk, window)
    if rolled is None:
        return None
    raw = _of(tenant, workflow).filter(rolled.raw())
    found = rollups.execution_figures(raw, window.granularity)
    rows = ExecutionRollup.objects.filter(rolled.rollups(), tenant=tenant)
    if workflow is not None:
        rows = rows.filter(workflow=workflow)
    fields = ("workflow_id", "start", "execution_count", "success_count", "failure_count", "cancelled_count",
              "duration_count", "duration_sum", "durations")
    for row in rows.values(*fields):
        _add(found, (row["workflow_id"], window.bucket_number(row["start"])), row)
    return found


def _rolled_nodes(tenant: Tenant, window: Window, workflow: Workflow | None) -> dict[Any, Figures] | None:
    """The figures by (workflow id, node id) of the node runs of the window's executions."""
    rolled = cover(tenant.pk, window, series=False)
    if rolled is None:
        return None
    raw = rollups.ran(_of(tenant, workflow).filter(rolled.raw()))
    found = rollups.node_figures(raw, None)
    rows = NodeRollup.objects.filter(rolled.rollups(), tenant=tenant)
    if workflow is not None:
        rows = rows.filter(workflow=workflow)
    fields = ("workflow_id", "node_id", "execution_count", "ended_count", "failure_count", "retry_count",
              "duration_count", "duration_sum", "durations")
    for row in rows.values(*fields):
        _add(found, (row["workflow_id"], row["node_id"]), row)
    return found


def _add(found: dict[Any, Figures], key: Any, row: dict[str, Any]) -> None:
    figures = found.get(key)
    if figures is None:
        figures = found[key] = Figures()
    figures.add(row)


def _merged(found: dict[Any, Figures], key_of: Any) -> dict[Any, Figures]:
    merged: dict[Any, Figures] = {}
    for key, figures in found.items():
        into = merged.get(key_of(key))
        if into is None:
            into = merged[key_of(key)] = Figures()
        into.add(figures)
    return merged


def _shape_figures(figures: Figures, percentiles: dict[str, float]) -> dict[str, Any]:
    ended = figures.success_count + figures.failure_count + figures.cancelled_count
    return {"execution_count": figures.execution_count, "success_count": figures.success_count,
            "failure_count": figures.failure_count, "cancelled_count": figures.cancelled_count,
            "success_rate": _ratio(figures.success_count, ended), "avg_duration": _seconds(figures.avg_duration),
            **{name: _seconds(figures.percentile(fraction)) for name, fraction in percentiles.items()}}


def _shape_node_figures(figures: Figures) -> dict[str, Any]:
    return {"execution_count": figures.execution_count, "failure_count": figures.failure_count,
            "failure_rate": _ratio(figures.failure_count, figures.ended_count), "retry_count": figures.retry_count,
            "avg_duration": _seconds(figures.avg_duration), "p95_duration": _seconds(figures.percentile(0.95))}


def _rolled_series(series: dict[Any, Figures], window: Window) -> list[dict[str, Any]]:
    first = window.bucket_number(window.start)
    points = []
    for index, moment in enumerate(window.buckets()):
        figures = series.get(first + index)
        point = (_shape_figures(figures, {"p95_duration": 0.95}) if figures
                 else _empty(("avg_duration", "p95_duration")))
        points.append({"time": iso(moment), **point})
    return points


def tenant_summary(tenant: Tenant, window: Window, period: str | None = None) -> dict[str, Any]:
    """``GET /metrics/summary``: the tenant's figures and time series, each workflow's figures,
    and what is active now."""
    executions = _in_window(tenant, window)
    with _reading():
        return _summary(tenant, window, period, executions)


def _summary(tenant: Tenant, window: Window, period: str | None, executions: QuerySet[Execution]) -> dict[str, Any]:
    found = _rolled_figures(tenant, window, None)
    if found is not None:
        return _rolled_summary(tenant, window, period, found)
    by_workflow = list(executions.values("workflow_id").annotate(**_execution_figures({"p95_duration": 0.95})))
    names = dict(Workflow.objects.filter(pk__in=[row["workflow_id"] for row in by_workflow if row["workflow_id"]])
                 .values_list("pk", "name"))
    # The busiest first; then by name, ad hoc executions last.
    by_workflow.sort(key=lambda row: (-row["execution_count"], row["workflow_id"] is None,
                                      names.get(row["workflow_id"], "")))
    return {
        "period": window.describe(period),
        "metrics": _totals(executions),
        "time_series": _time_series(executions, window),
        "workflows": [{"workflow": _workflow_ref(row["workflow_id"], names),
                       **_shape(row, ("avg_duration", "p95_duration"))} for row in by_workflow],
        "active": active_counts(tenant),
    }


def _rolled_summary(tenant: Tenant, window: Window, period: str | None, found: dict[Any, Figures]) -> dict[str, Any]:
    by_workflow = _merged(found, lambda key: key[0])
    names = dict(Workflow.objects.filter(pk__in=[key for key in by_workflow if key]).values_list("pk", "name"))
    order = sorted(by_workflow, key=lambda key: (-by_workflow[key].execution_count, key is None, names.get(key, "")))
    return {
        "period": window.describe(period),
        "metrics": _shape_figures(_merged(by_workflow, lambda key: 0).get(0, Figures()), PERCENTILES),
        "time_series": _rolled_series(_merged(found, lambda key: key[1]), window),
        "workflows": [{"workflow": _workflow_ref(key, names),
                       **_shape_figures(by_workflow[key], {"p95_duration": 0.95})} for key in order],
        "active": active_counts(tenant),
    }


def _workflow_ref(workflow_id: Any, names: dict[Any, str]) -> dict[str, str] | None:
    # Ad hoc executions have no workflow; a workflow deleted since took its executions along.
    return {"id": str(workflow_id), "name": names.get(workflow_id, "")} if workflow_id else None


def node_rankings(tenant: Tenant, window: Window, period: str | None = None, workflow_ref: str | None = None,
                  limit: int = TOP_NODES) -> dict[str, Any]:
    """``GET /metrics/nodes``: the nodes (of a workflow, or of all) that failed most, and the
    slowest by p95 duration. It reads every node run of the window: apart from the summary,
    which reads only the executions."""
    workflow = get_workflow(tenant, workflow_ref, documents=False) if workflow_ref else None
    executions = _in_window(tenant, window, workflow)
    with _reading():
        nodes = _rolled_nodes(tenant, window, workflow)
        if nodes is not None:
            rows = [{"execution__workflow_id": workflow_id, "node_id": node_id, **_shape_node_figures(figures)}
                    for (workflow_id, node_id), figures in nodes.items()]
        else:
            rows = [{"execution__workflow_id": row["execution__workflow_id"], "node_id": row["node_id"],
                     **_shape_node(row)} for row in _node_runs(executions).values("execution__workflow_id", "node_id")
                    .annotate(**_node_figures())]
    names = dict(Workflow.objects.filter(pk__in={row["execution__workflow_id"] for row in rows} - {None})
                 .values_list("pk", "name"))

    def entry(row: dict[str, Any]) -> dict[str, Any]:
        return {"workflow": _workflow_ref(row["execution__workflow_id"], names), "node_id": row["node_id"],
                **{key: value for key, value in row.items() if key not in ("execution__workflow_id", "node_id")}}

    def name(row: dict[str, Any]) -> tuple[str, str]:
        return names.get(row["execution__workflow_id"], ""), row["node_id"]

    failing = sorted((row for row in rows if row["failure_count"]), key=lambda row: (-row["failure_count"], name(row)))
    slowest = sorted((row for row in rows if row["p95_duration"] is not None),
                     key=lambda row: (-row["p95_duration"], name(row)))
    return {"period": window.describe(period), "most_failing": [entry(row) for row in failing[:limit]],
            "slowest": [entry(row) for row in slowest[:limit]]}


def active_counts(tenant: Tenant) -> dict[str, int]:
    """Executions not ended, now, whenever they started: by status, and ``waiting`` (those with
    a node waiting for a signal or its turn)."""
    counts = dict(Execution.objects.filter(tenant=tenant, status__in=ACTIVE).order_by().values_list("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
    waiting = (NodeRun.objects.filter(status=NodeStatus.WAITING, execution__tenant=tenant)
               .values("execution_id").distinct().count())
    return {**{status: counts.get(status, 0) for status in ACTIVE}, "waiting": waiting}
